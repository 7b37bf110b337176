//! The chores thread: the runtime work that may block on libc's own locks:
//! creating Ms (`pthread_create` allocates), re-reading the loaded objects
//! for the preemption text map (`dl_iterate_phdr` takes the loader lock and
//! allocates), printing `schedtrace` (formats with allocation), and the
//! goroutine dumps that signal handlers and sysmon ask for (`diag`).
//!
//! Neither sysmon nor any thread holding a P may do these. A goroutine
//! preempted inside `malloc` keeps malloc's lock until a P comes back to
//! its thread; if sysmon, or the threads holding the Ps, then waited for
//! that lock, nobody could give it one and the process would hang (seen
//! with glibc's malloc-check). The chores thread holds no P and nobody
//! waits for it: if it blocks, Ms it was asked for come late, no more.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use super::p::P;
use super::{SCHED, lock, newm, pidleput};
use crate::futex::Note;
use crate::{preempt, trace};

static NOTE: Note = Note::new();
/// Spare Ms sysmon wants parked (see `sysmon::keep_spares`).
static SPARES_WANTED: AtomicU32 = AtomicU32::new(0);
static TEXTMAP_WANTED: AtomicBool = AtomicBool::new(false);
/// Uptime (ns) of a schedtrace line to print, or -1.
static SCHEDTRACE_AT: AtomicI64 = AtomicI64::new(-1);
static DIAG_WANTED: AtomicBool = AtomicBool::new(false);

pub fn start() {
    if !super::m::spawn_thread(chores_main, ptr::null_mut()) {
        crate::fatal("cannot create the runtime's chores thread");
    }
}

/// Runs `p` on a new M (there was no idle one). `spinning` is passed on.
pub fn start_m(p: &'static P, spinning: bool) {
    {
        let mut lk = lock();
        p.start_spinning.store(spinning, Ordering::Relaxed);
        p.link.store(lk.pstart, Ordering::Relaxed);
        lk.pstart = Some(p);
    }
    NOTE.wakeup();
}

pub fn want_spares(n: u32) {
    SPARES_WANTED.store(n, Ordering::Relaxed);
    NOTE.wakeup();
}

pub fn want_textmap() {
    TEXTMAP_WANTED.store(true, Ordering::Relaxed);
    NOTE.wakeup();
}

pub fn want_schedtrace(uptime_ns: i64) {
    SCHEDTRACE_AT.store(uptime_ns, Ordering::Relaxed);
    NOTE.wakeup();
}

/// `diag` has a request (a dump, a deadlock report) for us. Async-signal-safe.
pub fn want_diag() {
    DIAG_WANTED.store(true, Ordering::Release);
    NOTE.wakeup();
}

extern "C" fn chores_main(_: *mut libc::c_void) -> *mut libc::c_void {
    loop {
        NOTE.sleep();
        loop {
            let p = {
                let mut lk = lock();
                let p = lk.pstart;
                if let Some(p) = p {
                    lk.pstart = p.link.load(Ordering::Relaxed);
                }
                p
            };
            let Some(p) = p else { break };
            let spinning = p.start_spinning.load(Ordering::Relaxed);
            if !newm(Some(p), spinning) {
                pidleput(&mut lock(), p);
                if spinning {
                    SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        // One spare per request: sysmon asks again next round if needed.
        if SCHED.nmidle.load(Ordering::Relaxed) < SPARES_WANTED.load(Ordering::Relaxed) {
            newm(None, false);
        }
        if TEXTMAP_WANTED.swap(false, Ordering::Relaxed) {
            preempt::refresh_textmap();
        }
        let at = SCHEDTRACE_AT.swap(-1, Ordering::Relaxed);
        if at >= 0 {
            trace::schedtrace(at, crate::sched::cfg().scheddetail);
        }
        // Acquire: the request's details, stored before the flag.
        if DIAG_WANTED.swap(false, Ordering::Acquire) {
            crate::diag::serve();
        }
    }
}
