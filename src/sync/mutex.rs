//! `gort_mutex`: Go's `sync.Mutex` algorithm over the address-keyed
//! semaphore. Two words: `state` and `sema`; zero is unlocked.
//!
//! `state` packs a locked bit, a "woken" bit (a waiter is awake and about to
//! retry, so unlock need not wake another), a "starving" bit and the waiter
//! count. Normally a woken waiter competes with newcomers, which favours
//! throughput; a waiter that waited more than 1 ms switches the mutex to
//! starvation mode, where unlock hands ownership directly to the first
//! waiter, bounding tail latency.
//!
//! Parks goroutines (their worker runs others) and blocks plain threads; the
//! two may contend for the same mutex.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use super::sema;
use crate::clock;
use crate::sched::{self, g::WaitReason};

const LOCKED: i32 = 1;
const WOKEN: i32 = 2;
const STARVING: i32 = 4;
const WAITER_SHIFT: u32 = 3;
const STARVATION_NS: i64 = 1_000_000;

#[repr(C)]
pub struct Mutex {
    state: AtomicI32,
    sema: AtomicU32,
}

impl Mutex {
    pub const fn new() -> Mutex {
        Mutex { state: AtomicI32::new(0), sema: AtomicU32::new(0) }
    }

    #[inline]
    pub fn lock(&self) {
        // Acquire: the critical section sees the previous holder's writes.
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    pub fn try_lock(&self) -> bool {
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            if old & (LOCKED | STARVING) != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(o) => old = o,
            }
        }
    }

    #[cold]
    fn lock_slow(&self) {
        let _rt = sched::enter();
        let mut wait_start = 0i64;
        let mut starving = false;
        let mut awoke = false;
        let mut spins = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin while the holder runs (not in starvation mode: there the
            // lock goes to the first waiter).
            if old & (LOCKED | STARVING) == LOCKED && can_spin(spins) {
                // Tell unlock not to wake a waiter while we are awake.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self.state.compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed).is_ok()
                {
                    awoke = true;
                }
                for _ in 0..30 {
                    core::hint::spin_loop();
                }
                spins += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            if old & STARVING == 0 {
                new |= LOCKED; // don't grab a starving mutex: it is handed over
            }
            if old & (LOCKED | STARVING) != 0 {
                new += 1 << WAITER_SHIFT;
            }
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                new &= !WOKEN;
            }
            if self.state.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                if old & (LOCKED | STARVING) == 0 {
                    return; // locked it
                }
                let queue_front = wait_start != 0;
                if wait_start == 0 {
                    wait_start = clock::now();
                }
                sema::acquire(&self.sema, queue_front, WaitReason::Mutex);
                starving = starving || clock::now() - wait_start > STARVATION_NS;
                old = self.state.load(Ordering::Relaxed);
                if old & STARVING != 0 {
                    // Ownership was handed to us; the state has no LOCKED bit
                    // and still counts us as a waiter.
                    let mut delta = LOCKED - (1 << WAITER_SHIFT);
                    if !starving || old >> WAITER_SHIFT == 1 {
                        delta -= STARVING; // last waiter, or we waited briefly
                    }
                    self.state.fetch_add(delta, Ordering::Acquire);
                    return;
                }
                awoke = true;
                spins = 0;
            } else {
                old = self.state.load(Ordering::Relaxed);
            }
        }
    }

    /// Returns false (changing nothing) if the mutex is not locked.
    pub fn unlock(&self) -> bool {
        let mut old = self.state.load(Ordering::Relaxed);
        let new = loop {
            if old & LOCKED == 0 {
                return false;
            }
            // Release: publishes the critical section.
            match self.state.compare_exchange_weak(old, old - LOCKED, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break old - LOCKED,
                Err(o) => old = o,
            }
        };
        if new != 0 {
            self.unlock_slow(new);
        }
        true
    }

    #[cold]
    fn unlock_slow(&self, new: i32) {
        if new & STARVING != 0 {
            // Hand ownership to the first waiter directly.
            sema::release(&self.sema, 1, true);
            return;
        }
        let mut old = new;
        loop {
            // Nobody to wake, or someone is already awake / got the lock.
            if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                return;
            }
            let new = (old - (1 << WAITER_SHIFT)) | WOKEN;
            match self.state.compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    sema::release(&self.sema, 1, false);
                    return;
                }
                Err(o) => old = o,
            }
        }
    }
}

/// Spinning pays off only with more than one P and for a few rounds.
fn can_spin(spins: u32) -> bool {
    spins < 4 && sched::nprocs() > 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::UnsafeCell;

    /// Plain threads block on the mutex (no runtime needed).
    #[test]
    fn threads_exclude_each_other() {
        struct Shared(Mutex, UnsafeCell<u64>);
        // SAFETY: the counter is touched only with the mutex held.
        unsafe impl Sync for Shared {}
        static S: Shared = Shared(Mutex::new(), UnsafeCell::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..5_000 {
                        S.0.lock();
                        // SAFETY: the mutex is held.
                        unsafe { *S.1.get() += 1 };
                        assert!(S.0.unlock());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // SAFETY: every thread is done.
        assert_eq!(unsafe { *S.1.get() }, 20_000);
    }

    #[test]
    fn try_lock_and_unlock_report_the_state() {
        let m = Mutex::new();
        assert!(!m.unlock(), "unlocked twice");
        assert!(m.try_lock());
        assert!(!m.try_lock());
        assert!(m.unlock());
        assert!(m.try_lock());
    }
}
