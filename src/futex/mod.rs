//! Synchronisation below the scheduler: everything here blocks the OS
//! thread, on a futex, and knows nothing of goroutines.
//!
//! - `wait` and `wake` (this file): thin wrappers over the Linux futex
//!   system call (private futexes only).
//! - `lock`: `Locked<T>`, data guarded by the runtime's internal lock: how
//!   the global run queues and idle lists, channel state, timer heaps,
//!   semaphore buckets and free G lists are protected.
//! - `note`: one-shot wake-ups for OS threads; an M parks on its note.
//!
//! The scheduler is built on these; the synchronisation the C API offers
//! (`gort_mutex`, `gort_waitgroup`), which parks goroutines, sits above the
//! scheduler in `sync`. Everything here is async-signal-safe: the
//! preemption handler parks its thread on a note and may take runtime
//! locks.

mod lock;
mod note;

pub use self::lock::{Locked, LockedGuard};
pub use self::note::Note;

use core::sync::atomic::AtomicU32;

/// Blocks while `*word == expected`, until woken, or until the monotonic
/// `deadline` (ns) when one is given. Returns false on timeout. Spurious
/// returns happen (EINTR, EAGAIN); callers loop on their own condition.
pub fn wait(word: &AtomicU32, expected: u32, deadline: Option<i64>) -> bool {
    let ts = deadline.map(crate::clock::timespec_at);
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word is a valid aligned u32 for the call's duration; the
    // timeout pointer is null or points to `ts` above. FUTEX_WAIT_BITSET takes
    // an absolute CLOCK_MONOTONIC deadline.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            expected,
            tsp,
            core::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    !(r == -1 && errno() == libc::ETIMEDOUT)
}

/// Wakes up to `n` threads blocked in [`wait`] on `word`.
pub fn wake(word: *const AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it is harmless even
    // if the word's owner has since returned (a spurious wake-up at worst).
    unsafe {
        libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, n);
    }
}

fn errno() -> i32 {
    // SAFETY: __errno_location always returns the calling thread's errno.
    unsafe { *libc::__errno_location() }
}
