//! The blocked side of every wait: a `Parker` is either the current
//! goroutine (parked, its M free to run others) or the current plain thread
//! (blocked on a futex word). Channels, select and the semaphore queue
//! `Parker`s without caring which kind they hold, so goroutines and threads
//! meet on the same objects.
//!
//! Also `sleep`, the simplest timed wait, and the count of plain threads
//! blocked for good, which deadlock detection needs (`diag::deadlock`).

use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::g::{G, WaitReason};
use super::timer::Timer;
use super::{m, park, ready};
use crate::clock;
use crate::futex;

/// Plain threads blocked in a wait without a timeout, and how many times
/// one has left such a wait. A thread that waits with a timeout will wake
/// by itself, and counts as running.
static PLAIN_BLOCKED: AtomicU32 = AtomicU32::new(0);
static PLAIN_WAKES: AtomicU64 = AtomicU64::new(0);

/// Plain threads blocked in a gort call without a timeout.
pub fn plain_threads_blocked() -> u32 {
    PLAIN_BLOCKED.load(Ordering::SeqCst)
}

/// How many times a plain thread has left a wait without a timeout.
pub fn plain_wakes() -> u64 {
    PLAIN_WAKES.load(Ordering::SeqCst)
}

pub struct Parker {
    /// The goroutine, or None for a plain thread.
    g: Option<&'static G>,
    /// Thread waiters: 0 while blocked, 1 once unparked.
    word: AtomicU32,
}

impl Parker {
    /// The caller: a goroutine when called on one (inside the runtime),
    /// otherwise a plain thread.
    pub fn current() -> Parker {
        Parker { g: super::current_g(), word: AtomicU32::new(0) }
    }

    pub fn is_goroutine(&self) -> bool {
        self.g.is_some()
    }

    /// The goroutine this parker parks (None for a thread): what `unpark`
    /// readies, for wakers that must let go of the parker first.
    pub fn goroutine(&self) -> Option<&'static G> {
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
        if let Some(g) = self.g {
            park(g, reason, Some((unlock, arg)));
            return true;
        }
        if deadline.is_none() {
            PLAIN_BLOCKED.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: per the caller.
        unsafe { unlock(arg) };
        // Acquire: see what the waker wrote before unparking.
        let mut woken = true;
        while self.word.load(Ordering::Acquire) == 0 {
            if !futex::wait(&self.word, 0, deadline) && self.word.load(Ordering::Acquire) == 0 {
                woken = false;
                break;
            }
        }
        if deadline.is_none() {
            PLAIN_WAKES.fetch_add(1, Ordering::SeqCst);
            PLAIN_BLOCKED.fetch_sub(1, Ordering::SeqCst);
        }
        woken
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
        if let Some(g) = self.g {
            ready(g);
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
    let Some(rt) = super::enter() else {
        let ts = clock::timespec_at(deadline);
        // SAFETY: ts is valid; TIMER_ABSTIME makes restarts after EINTR exact.
        while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, ptr::null_mut()) } != 0 {}
        return;
    };

    #[repr(C)]
    struct Sleeper {
        timer: Timer,
        g: &'static G,
        deadline: i64,
    }
    /// # Safety
    /// `t` is the timer of a live Sleeper, firing (see `FireFn`).
    unsafe fn fire(t: *const Timer) {
        // SAFETY: the timer is the first field of a live Sleeper, which
        // we leave before waking its goroutine.
        unsafe {
            let g = (*t.cast::<Sleeper>()).g;
            Timer::fire_done(t);
            ready(g);
        }
    }
    /// # Safety
    /// `arg` is the Sleeper of the goroutine that parked, called by the
    /// park's tail on its M (see `Tail::Park`).
    unsafe fn arm(arg: *mut ()) {
        // SAFETY: arg is the parked goroutine's Sleeper; we run on its M.
        // Once the timer is in the heap it may fire and the sleeper return:
        // nothing of it is touched after `add`.
        unsafe {
            let s = arg.cast::<Sleeper>();
            let deadline = (*s).deadline;
            let p = m::current().unwrap().p().unwrap();
            p.timers.add(s.cast::<Timer>(), deadline);
            super::sysmon::timer_added(deadline);
        }
    }

    let (_, g) = rt.current();
    let mut s = Sleeper { timer: Timer::new(fire), g, deadline };
    // Only the timer readies us, and it fires once `deadline` has passed
    // (by the clock of whoever ran the heap): so we are done when `stop`
    // finds it fired, without reading the clock again.
    loop {
        park(g, WaitReason::Sleep, Some((arm, ptr::from_mut(&mut s).cast())));
        if !s.timer.stop() {
            break;
        }
    }
}
