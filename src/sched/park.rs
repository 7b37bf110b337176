//! The blocked side of every wait: a `Parker` is either the current
//! goroutine (parked, its M free to run others) or the current plain thread
//! (blocked on a futex word). Channels, select and the semaphore queue
//! `Parker`s without caring which kind they hold, so goroutines and threads
//! meet on the same objects.
//!
//! Also `sleep`, the simplest timed wait.

use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

use super::g::{G, WaitReason};
use super::timer::Timer;
use super::{m, park, ready};
use crate::clock;
use crate::futex;

pub struct Parker {
    /// The goroutine, or null for a plain thread.
    g: *mut G,
    /// Thread waiters: 0 while blocked, 1 once unparked.
    word: AtomicU32,
}

impl Parker {
    /// The caller: a goroutine when called on one (inside the runtime),
    /// otherwise a plain thread.
    pub fn current() -> Parker {
        let g = super::current_g().map_or(ptr::null_mut(), |g| g as *const G as *mut G);
        Parker { g, word: AtomicU32::new(0) }
    }

    pub fn is_goroutine(&self) -> bool {
        !self.g.is_null()
    }

    /// The goroutine this parker parks (null for a thread): what `unpark`
    /// readies, for wakers that must let go of the parker first.
    pub fn goroutine(&self) -> *mut G {
        self.g
    }

    /// Blocks until [`unpark`](Self::unpark). `unlock(arg)` runs as soon as
    /// the waiter can safely be woken: for a goroutine after its context is
    /// saved, for a thread right away. Returns false only for a thread whose
    /// `deadline` passed first; the caller must then settle the race with
    /// its waker (see [`wait_unparked`](Self::wait_unparked)).
    ///
    /// # Safety
    /// `unlock(arg)` must be valid to call once; the caller must keep the
    /// Parker alive until it is unparked or, for threads, until it gave up.
    #[inline]
    pub unsafe fn park(
        &self,
        reason: WaitReason,
        unlock: unsafe fn(*mut ()),
        arg: *mut (),
        deadline: Option<i64>,
    ) -> bool {
        if self.is_goroutine() {
            park(reason, Some((unlock, arg)));
            return true;
        }
        // SAFETY: per the caller.
        unsafe { unlock(arg) };
        // Acquire: see what the waker wrote before unparking.
        while self.word.load(Ordering::Acquire) == 0 {
            if !futex::wait(&self.word, 0, deadline) && self.word.load(Ordering::Acquire) == 0 {
                return false;
            }
        }
        true
    }

    /// For a thread that timed out but found itself already dequeued by a
    /// waker: waits for that waker's `unpark`, which is imminent.
    pub fn wait_unparked(&self) {
        while self.word.load(Ordering::Acquire) == 0 {
            futex::wait(&self.word, 0, None);
        }
    }

    /// Wakes the waiter. After this call the Parker may be gone.
    pub fn unpark(&self) {
        if self.is_goroutine() {
            ready(self.g);
        } else {
            let word = &self.word as *const AtomicU32;
            // Release: the waiter sees everything we wrote for it.
            self.word.store(1, Ordering::Release);
            // The address is only a key from here on (see futex::wake).
            futex::wake(word, 1);
        }
    }
}

/// `gort_sleep`: never returns before `ns` have passed.
pub fn sleep(ns: i64) {
    if ns <= 0 {
        return;
    }
    let deadline = clock::deadline_after(ns);
    let Some(_rt) = super::enter() else {
        let ts = clock::timespec_at(deadline);
        // SAFETY: ts is valid; TIMER_ABSTIME makes restarts after EINTR exact.
        while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, ptr::null_mut()) } != 0 {}
        return;
    };

    #[repr(C)]
    struct Sleeper {
        timer: Timer,
        g: *mut G,
        deadline: i64,
    }
    unsafe fn fire(t: *mut Timer) {
        // SAFETY: the timer is the first field of a live Sleeper, which
        // we leave before waking its goroutine.
        unsafe {
            let g = (*(t as *mut Sleeper)).g;
            Timer::fire_done(t);
            ready(g);
        }
    }
    unsafe fn arm(arg: *mut ()) {
        // SAFETY: arg is the parked goroutine's Sleeper; we run on its M.
        // Once the timer is in the heap it may fire and the sleeper return:
        // nothing of it is touched after `add`.
        unsafe {
            let s = arg as *mut Sleeper;
            let deadline = (*s).deadline;
            let p = m::current().unwrap().p().unwrap();
            p.timers.add(&mut (*s).timer, deadline);
            super::sysmon::timer_added(deadline);
        }
    }

    let g = super::current_g().unwrap() as *const G as *mut G;
    let mut s = Sleeper { timer: Timer::new(fire), g, deadline };
    // Only the timer readies us, and it fires once `deadline` has passed
    // (by the clock of whoever ran the heap): so we are done when `stop`
    // finds it fired, without reading the clock again.
    loop {
        park(WaitReason::Sleep, Some((arm, &mut s as *mut Sleeper as *mut ())));
        if !s.timer.stop() {
            break;
        }
    }
}
