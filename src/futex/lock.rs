//! `Locked<T>`: data guarded by the runtime's internal lock, a three-state
//! futex mutex (Drepper's "Futexes are tricky", mutex 2) that spins
//! briefly before sleeping.
//!
//! It blocks the OS thread, so it guards only short runtime critical
//! sections. Every holder on a worker thread is inside the runtime
//! (`ustate == RUNTIME`), which the preemption handler refuses to stop; the
//! handler may therefore take runtime locks itself without ever waiting for
//! its own thread. Async-signal-safe in that sense.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::futex;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

struct RtLock {
    state: AtomicU32,
}

impl RtLock {
    pub const fn new() -> RtLock {
        RtLock { state: AtomicU32::new(UNLOCKED) }
    }

    #[inline]
    pub fn lock(&self) {
        // Acquire: the critical section sees everything the last holder wrote.
        if self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    /// Spins in four rounds of 30 pauses before sleeping, as Go's lock does:
    /// a waiter that looked at the lock word after every pause kept pulling
    /// the holder's cache line away from it, so a contended channel's
    /// holder took longer over each critical section and the lock changed
    /// hands between CPUs on almost every operation. Looking rarely lets
    /// the holder's CPU run several operations in a row on a line it keeps:
    /// W3 4×4 (4 producers, 4 consumers, 2 Ps) went from ~75-90 to ~25 ns
    /// per message.
    #[cold]
    fn lock_slow(&self) {
        for _ in 0..4 {
            for _ in 0..30 {
                core::hint::spin_loop();
            }
            if self.state.load(Ordering::Relaxed) == UNLOCKED
                && self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                return;
            }
        }
        // Mark contended so the holder's unlock wakes us.
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            futex::wait(&self.state, CONTENDED, None);
        }
    }

    /// # Safety
    /// The caller must hold the lock (possibly taken on another context:
    /// parks hand the unlock to whoever runs next).
    #[inline]
    pub unsafe fn unlock(&self) {
        // Release: publishes the critical section to the next holder.
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            futex::wake(&self.state, 1);
        }
    }
}

/// Data guarded by an [`RtLock`]: the one way the runtime guards data with
/// a lock (the scheduler's queues and idle lists, channel state, timer
/// heaps, semaphore buckets, free G lists). `lock` returns a guard; a
/// lock that must outlive its guard (a park hands the unlock to whoever
/// runs next, a select holds several channels' locks) is kept with
/// [`LockedGuard::leak`] and released with [`Locked::unlock`].
///
/// `repr(C)` with the lock first: a channel keeps its lock in its first
/// words (see `Chan`).
#[repr(C)]
pub struct Locked<T> {
    lock: RtLock,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by `lock`.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    pub const fn new(v: T) -> Locked<T> {
        Locked { lock: RtLock::new(), data: UnsafeCell::new(v) }
    }

    #[inline]
    pub fn lock(&self) -> LockedGuard<'_, T> {
        self.lock.lock();
        LockedGuard { owner: self }
    }

    /// Releases a lock whose guard was leaked.
    ///
    /// # Safety
    /// The lock is held and its guard was leaked (on this context or
    /// another: a park hands the unlock to whoever runs next); no reference
    /// to the data obtained under it is used after this.
    #[inline]
    pub unsafe fn unlock(&self) {
        // SAFETY: held, per the caller.
        unsafe { self.lock.unlock() }
    }

    /// The data, for a holder of the lock whose guard was leaked.
    ///
    /// # Safety
    /// The lock is held with its guard leaked, and the caller makes no
    /// other reference to the data while this one lives.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub unsafe fn data(&self) -> &mut T {
        // SAFETY: per the caller, the lock is held and this is the only
        // reference.
        unsafe { &mut *self.data.get() }
    }
}

/// The lock of a [`Locked`], held: its data is reachable through the guard,
/// and dropping the guard releases the lock.
pub struct LockedGuard<'a, T> {
    owner: &'a Locked<T>,
}

impl<T> LockedGuard<'_, T> {
    /// Keeps the lock held after the guard is gone; whoever releases it
    /// calls [`Locked::unlock`].
    #[inline]
    pub fn leak(self) {
        core::mem::forget(self);
    }
}

impl<T> core::ops::Deref for LockedGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> core::ops::DerefMut for LockedGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and `&mut self` that
        // no other reference through it lives.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for LockedGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard proves the lock is held.
        unsafe { self.owner.lock.unlock() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contended_increments_are_never_lost() {
        static COUNT: Locked<u64> = Locked::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..20_000 {
                        *COUNT.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*COUNT.lock(), 80_000);
    }

    #[test]
    fn a_leaked_guard_keeps_the_lock_until_unlock() {
        let l = Locked::new(1);
        l.lock().leak();
        assert_eq!(l.lock.state.load(Ordering::Relaxed), LOCKED);
        // SAFETY: held with its guard leaked; no other reference.
        unsafe {
            *l.data() += 1;
            l.unlock();
        }
        assert_eq!(*l.lock(), 2);
    }
}
