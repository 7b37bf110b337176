//! Introspection and stopping the world.

use core::ffi::{c_char, c_int};
use core::sync::atomic::Ordering;

use super::{EBUG, call};
use crate::sched::{self, SCHED};

/// Runtime counters; see `gort_read_stats`.
#[repr(C)]
pub struct gort_stats {
    /// Live goroutines now.
    pub goroutines: u64,
    /// Goroutines spawned since start.
    pub spawned: u64,
    pub maxprocs: u32,
    /// OS threads the runtime owns (workers, spares, sysmon excluded).
    pub threads: u32,
    /// Goroutines stopped by a preemption signal.
    pub preempt_async: u64,
    /// Goroutines stopped at a runtime call after a preemption request.
    pub preempt_coop: u64,
    /// Preemption signals that asked a goroutine to stop.
    pub preempt_signals: u64,
    /// Signals that found no safe point (libc, runtime, nopreempt...).
    pub preempt_unsafe: u64,
    /// Ps taken from threads blocked in C calls (marked or detected).
    pub handoffs: u64,
    pub stw_count: u64,
    /// Nanoseconds the last stop took to reach a stopped world.
    pub stw_last_ns: u64,
    pub stw_max_ns: u64,
}

/// Fills `*out`. EINVAL if `out` is NULL.
///
/// # Safety
/// `out` is NULL or points to writable memory for a `gort_stats`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gort_read_stats(out: *mut gort_stats) -> c_int {
    call(EBUG, || {
        if out.is_null() {
            return libc::EINVAL;
        }
        let s = &SCHED.stats;
        let stats = gort_stats {
            goroutines: sched::num_goroutines(),
            spawned: sched::total_spawned(),
            maxprocs: sched::nprocs(),
            threads: SCHED.nthreads.load(Ordering::Relaxed),
            preempt_async: s.preempt_async.load(Ordering::Relaxed),
            preempt_coop: s.preempt_coop.load(Ordering::Relaxed),
            preempt_signals: s.preempt_signals.load(Ordering::Relaxed),
            preempt_unsafe: s.preempt_unsafe.load(Ordering::Relaxed),
            handoffs: s.handoffs.load(Ordering::Relaxed),
            stw_count: s.stw_count.load(Ordering::Relaxed),
            stw_last_ns: s.stw_last_ns.load(Ordering::Relaxed),
            stw_max_ns: s.stw_max_ns.load(Ordering::Relaxed),
        };
        // SAFETY: non-null, writable per the caller.
        unsafe { out.write(stats) };
        0
    })
}

/// "gort X.Y.Z".
#[unsafe(no_mangle)]
pub extern "C" fn gort_version() -> *const c_char {
    concat!("gort ", env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Returns once no goroutine other than the caller runs user code. Only one
/// stop at a time: others wait. The caller must start the world again and
/// must not block on other goroutines meanwhile. Returns 0, or EDEADLK
/// (and changes nothing) if the caller already holds the world stopped.
#[unsafe(no_mangle)]
pub extern "C" fn gort_stop_the_world() -> c_int {
    call(EBUG, crate::world::stop)
}

/// Restarts the world. EPERM if the caller did not stop it.
#[unsafe(no_mangle)]
pub extern "C" fn gort_start_the_world() -> c_int {
    call(EBUG, crate::world::start)
}

/// Writes every goroutine to `fd` in Go's traceback shape: id, state (the
/// wait reason of a parked goroutine, with how long it has waited once that
/// is a minute or more) and name, then its stack, innermost frame first, as
/// function and file:line where debug information exists, then the function
/// that spawned it:
///
/// ```text
/// goroutine 7 [chan receive, 3 minutes]: (name "parser")
/// gort_chan_recv(...)
/// worker_loop(...) at src/worker.c:41
/// created by main at src/main.c:12
/// ```
///
/// The world is stopped while the stacks are read (microseconds per
/// goroutine), not while they are symbolized and written. Returns 0, EBADF
/// (`fd` is not open), EDEADLK (the caller holds the world stopped), or the
/// error write(2) reported.
#[unsafe(no_mangle)]
pub extern "C" fn gort_dump(fd: c_int) -> c_int {
    call(EBUG, || crate::diag::dump(fd))
}
