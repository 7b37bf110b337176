//! The C API, and the only code that speaks C: argument checks, error
//! codes, errno preservation and panic containment. No runtime logic lives
//! here; each function forwards to the module that owns the behaviour.
//!
//! `include/gort.h` is generated from this module by cbindgen (see
//! `tests/header.rs`); the doc comments here become the header's comments.

pub mod chan;
pub mod goroutine;
pub mod introspect;
pub mod sync;

use core::panic::AssertUnwindSafe;

/// Runs one C API call: starts the runtime on first use, keeps the caller's
/// `errno` intact (the runtime's system calls must not leak into it, and a
/// goroutine that moved threads gets its own value back on the new thread),
/// and turns a Rust panic (a runtime bug) into `on_panic` instead of
/// unwinding into C. In the child of a fork the runtime is unusable, and
/// the call returns `on_panic` too.
#[inline]
pub(crate) fn call<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    if crate::sched::forked() {
        return on_panic;
    }
    let saved = errno();
    crate::sched::ensure_started();
    let r = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic);
    set_errno(saved);
    r
}

/// The error returned when a runtime bug panicked, or in a fork child.
pub(crate) const EBUG: i32 = libc::ENOTRECOVERABLE;

/// The calling thread's errno; on a worker thread without a libc call (its
/// address is cached in the M).
#[inline]
fn errno_ptr() -> *mut i32 {
    match crate::sched::m::current() {
        // SAFETY: m is this thread's M, which owns its errno location.
        Some(m) => unsafe { m.errno_loc.get() },
        // SAFETY: always valid for the calling thread.
        None => unsafe { libc::__errno_location() },
    }
}

#[inline]
fn errno() -> i32 {
    // SAFETY: the calling thread's errno.
    unsafe { *errno_ptr() }
}

#[inline]
fn set_errno(v: i32) {
    // SAFETY: as above.
    unsafe { *errno_ptr() = v };
}
