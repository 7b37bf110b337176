//! gort: goroutines, channels, select and asynchronous preemption for C,
//! C++ and Python programs.
//!
//! The public contract is the C API in `ffi` (header `include/gort.h`,
//! generated from its doc comments). docs/design.md explains the whole;
//! each module opens with the detailed version of its part. Reading order:
//!
//! - `sched`: the G/M/P scheduler (its module comment maps its files);
//! - `preempt`: how a goroutine in a call-free loop is stopped without
//!   disturbing libc;
//! - `chan`: channels and select; `sync`: the mutex and wait group, which
//!   park goroutines (above the scheduler);
//! - `world`: stopping the world; `trace`: execution traces and
//!   `schedtrace`; `diag`: goroutine dumps, deadlock reports, fatal-error
//!   tracebacks and the descriptor `tools/gort-gdb.py` reads;
//! - below the scheduler: `futex` (the locks and notes that block a
//!   thread), `stack` (goroutine stacks, their guards, overflow reports),
//!   `arch` (the context switch), `signal` (handler plumbing), `cell`
//!   (`AtomicRef`, `OwnedCell`), `mapvec`, `clock`, `config`, `fmtbuf`.
//!
//! Unsafe code lives in small modules (`arch`, `stack`, `futex`, `signal`,
//! `preempt::sigurg`, `cell`, the scheduler's switch paths, `diag::unwind`); every unsafe
//! block carries a `// SAFETY:` line (the build denies one without) and
//! every unsafe fn a `# Safety` section.

#![allow(non_camel_case_types)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod arch;
mod cell;
mod chan;
mod clock;
mod config;
mod diag;
pub mod ffi;
mod fmtbuf;
mod futex;
mod mapvec;
mod preempt;
mod sched;
mod signal;
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

/// A cheap per-thread xorshift (steal order, select's choice among ready
/// cases); on a worker its state lives in the M, elsewhere in a
/// thread-local.
#[inline]
pub fn fastrand() -> u32 {
    fn step(state: u32) -> u32 {
        let mut x = if state == 0 { (clock::now() as u32) | 1 } else { state };
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
    #[cold]
    fn on_thread() -> u32 {
        thread_local! {
            static STATE: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
        }
        STATE.with(|s| {
            let x = step(s.get());
            s.set(x);
            x
        })
    }
    let Some(m) = sched::m::current() else { return on_thread() };
    // SAFETY: m is this thread's M, which owns its state.
    unsafe {
        let x = step(m.rand.get());
        m.rand.set(x);
        x
    }
}

/// A uniform-enough random number in `0..n` (Lemire's multiply-shift: no
/// division on the select path).
#[inline]
pub fn fastrand_n(n: u32) -> u32 {
    ((fastrand() as u64 * n as u64) >> 32) as u32
}

#[cfg(test)]
mod tests {
    #[test]
    fn fastrand_n_stays_below_n_and_reaches_every_value() {
        let mut seen = [false; 7];
        for _ in 0..10_000 {
            let x = super::fastrand_n(7) as usize;
            seen[x] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(super::fastrand_n(1), 0);
    }
}
