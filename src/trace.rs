//! Execution traces (`GORTTRACE=path`) and `schedtrace` lines.
//!
//! Placeholder hooks: the scheduler calls these at every goroutine start,
//! stop, preemption and hand-off; they cost one branch when tracing is off.
//! The trace writer itself lands with the observability work (issue 5).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched::g::G;
use crate::sched::m::M;
use crate::sched::p::P;

static ENABLED: AtomicBool = AtomicBool::new(false);

pub fn init() {
    ENABLED.store(false, Ordering::Relaxed);
}

#[inline]
fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[inline]
pub fn go_create(_g: *mut G) {
    if enabled() {}
}

#[inline]
pub fn go_start(_p: &P, _g: *mut G) {
    if enabled() {}
}

#[inline]
pub fn go_stop(_p: &P, _g: *mut G) {
    if enabled() {}
}

#[inline]
pub fn go_end(_m: &M, _g: *mut G) {
    if enabled() {}
}

#[inline]
pub fn unpark(_g: *mut G) {
    if enabled() {}
}

#[inline]
pub fn preempt(_m: &M, _g: *mut G, _async: bool) {
    if enabled() {}
}

#[inline]
pub fn retake(_p: &P, _m: &M) {
    if enabled() {}
}

/// A stop-the-world began (`took_ns` < 0) or reached a stopped world.
#[inline]
pub fn stw(_took_ns: i64) {
    if enabled() {}
}

/// The running goroutine entered (`begin`) or left a marked blocking call.
#[inline]
pub fn blocking(_g: *mut G, _begin: bool) {
    if enabled() {}
}

/// One `schedtrace` line in Go's format, on stderr:
/// `SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [4 3]`
pub fn schedtrace(uptime_ns: i64, _detail: bool) {
    use core::fmt::Write as _;
    use crate::sched::{SCHED, allp, nprocs};
    let mut line = String::with_capacity(128);
    let _ = write!(
        line,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
        uptime_ns / 1_000_000,
        nprocs(),
        SCHED.npidle.load(Ordering::Relaxed),
        SCHED.nthreads.load(Ordering::Relaxed),
        SCHED.nmspinning.load(Ordering::Relaxed),
        SCHED.nmidle.load(Ordering::Relaxed),
        SCHED.runq_len.load(Ordering::Relaxed) + SCHED.wakeq_len.load(Ordering::Relaxed),
    );
    for id in 0..nprocs() {
        let p = allp(id);
        let _ = write!(line, "{}{}", if id > 0 { " " } else { "" }, p.runq.len() + p.runq.has_next() as u32);
    }
    line.push_str("]\n");
    // One write(2) per line keeps lines whole between threads.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}
