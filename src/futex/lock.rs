//! The runtime's internal lock: a three-state futex mutex (Drepper's
//! "Futexes are tricky", mutex 2) that spins briefly before sleeping.
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

pub struct RtLock {
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

/// Data guarded by an [`RtLock`].
pub struct Locked<T> {
    lock: RtLock,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by `lock`.
unsafe impl<T: Send> Sync for Locked<T> {}
unsafe impl<T: Send> Send for Locked<T> {}

impl<T> Locked<T> {
    pub const fn new(v: T) -> Locked<T> {
        Locked { lock: RtLock::new(), data: UnsafeCell::new(v) }
    }

    pub fn lock(&self) -> LockedGuard<'_, T> {
        self.lock.lock();
        LockedGuard { owner: self }
    }
}

pub struct LockedGuard<'a, T> {
    owner: &'a Locked<T>,
}

impl<T> core::ops::Deref for LockedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> core::ops::DerefMut for LockedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for LockedGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard proves the lock is held.
        unsafe { self.owner.lock.unlock() }
    }
}
