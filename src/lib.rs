//! gort: goroutines, channels, select and asynchronous preemption for C,
//! C++ and Python programs.
//!
//! The public contract is the C API in `ffi` (header `include/gort.h`).
//! Start reading at `sched` (the G/M/P scheduler), then `preempt` (how a
//! goroutine in a call-free loop is stopped without disturbing libc), then
//! `chan`. docs/design.md explains the whole.
//!
//! Unsafe code lives in small modules (`arch`, `stack`, `sync::futex`,
//! `preempt::signal`, the scheduler's switch paths), each block with a
//! `// SAFETY:` line.

#![allow(non_camel_case_types)]

mod arch;
mod chan;
mod clock;
mod config;
pub mod ffi;
mod fmtbuf;
mod mapvec;
mod preempt;
mod sched;
mod stack;
mod sync;
mod trace;
mod world;

/// An unrecoverable runtime error: say so on stderr (with write(2): this may
/// run anywhere, including a signal handler) and abort.
pub(crate) fn fatal(msg: &str) -> ! {
    for part in ["gort: fatal error: ", msg, "\n"] {
        // SAFETY: writing a valid buffer to fd 2.
        unsafe { libc::write(2, part.as_ptr() as *const libc::c_void, part.len()) };
    }
    std::process::abort()
}
