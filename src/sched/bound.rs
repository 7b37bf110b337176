//! Goroutines bound to an M. Some goroutines may run only on one M: one
//! locked with `gort_lock_os_thread`, and one whose registers are held by a
//! stopped M (the preemption handler parks its thread with the goroutine's
//! state in the signal frame; an M back from a blocking C call with no P
//! waits the same way). They sit in run queues like any other, marked with
//! `bound_m`; a scheduler that picks one hands its P to that M and parks
//! itself instead (`schedule::next_g`), and the M resumes its goroutine
//! where it stopped (`resume_bound`).

use core::sync::atomic::Ordering;

use super::g::{G, G_PREEMPTED, G_RUNNING};
use super::idle::{acquirep, hand_p, midleget, park_m, pidleget, pidleput, releasep, stop_p};
use super::m::M;
use super::p::P;
use super::runq::{globrunq_get, globrunq_put, others_queued};
use super::{SCHED, SchedGuard, lock, sysmon};
use crate::arch;
use crate::trace;

/// The P of `m`, running `g`, was taken (LOST) or given away (BLOCKING):
/// get one back, from the idle list or, failing that, by queueing `g` bound
/// to `m` and parking the thread until a scheduler hands it a P.
pub(super) fn regain_p(m: &'static M, g: &'static G) {
    m.p.store(None, Ordering::Relaxed);
    let mut lk = lock();
    if !SCHED.stw_active.load(Ordering::Relaxed)
        && let Some(p) = pidleget(&mut lk)
    {
        drop(lk);
        acquirep(m, p);
        trace::go_start(p, g);
        return;
    }
    // Where the goroutine waits (in the runtime call it came back through),
    // for a dump taken meanwhile.
    m.held.set(arch::here(), false);
    g.status.store(G_PREEMPTED, Ordering::Relaxed);
    g.bound_m.store(Some(m), Ordering::Relaxed);
    globrunq_put(&mut lk, g);
    drop(lk);
    park_m(m);
    resume_bound(m, g);
}

/// A bound goroutine's M got a P back: the goroutine runs again.
pub fn resume_bound(m: &'static M, g: &'static G) {
    g.status.store(G_RUNNING, Ordering::Relaxed);
    if !m.lockedg.is(g, Ordering::Relaxed) {
        g.bound_m.store(None, Ordering::Relaxed);
    }
    let p = m.p().unwrap();
    p.tick();
    trace::go_start(p, g);
}

/// If the global queue's head is a goroutine bound to a waiting M (locked
/// to it, or stopped on it), takes it off the queue and returns that M, to
/// be handed `p`.
fn pop_bound_head(lk: &mut SchedGuard, p: &P) -> Option<&'static M> {
    let bm = lk.runq.peek()?.bound_m.load(Ordering::Relaxed)?;
    globrunq_get(lk, p, false);
    Some(bm)
}

/// With no idle M to run a P: takes the first goroutine in the global queue
/// whose own M waits for a P, and returns that M. Out of FIFO order, but it
/// needs no new thread, and making one may have to wait for malloc's lock,
/// held perhaps by a goroutine further down this very queue.
pub(super) fn pop_any_bound(lk: &mut SchedGuard) -> Option<&'static M> {
    let g = lk.runq.take_first(|g| !g.bound_m.is_none(Ordering::Relaxed))?;
    SCHED.runq_len.fetch_sub(1, Ordering::Relaxed);
    g.bound_m.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Preemption hand-off (called from the SIGURG handler).

/// Where a preempted M's P goes.
enum HandTo {
    /// The M held no P (it was running user code after losing it). An idle
    /// P, if any, goes to a spare M so the queued goroutine is seen.
    Nobody(Option<(&'static M, &'static P)>),
    /// A stop-the-world is collecting Ps.
    Stopper(&'static P),
    /// The M of the bound goroutine at the head of the global queue, which
    /// then simply resumes it.
    BoundM(&'static M, &'static P),
    /// A parked spare M, which schedules normally.
    Spare(&'static M, &'static P),
}

/// Runs in the preemption handler on `m`'s thread, after the handler
/// claimed `m.ustate`: queues `g`, the goroutine it interrupted, bound to
/// `m`, hands `p`
/// on, and parks the thread until some scheduler hands it a P back, then
/// returns true with that P held. Returns false, changing nothing, when
/// there is nobody to hand `p` to (no spare M: the thread cap, or sysmon has
/// not made one yet) or nothing else to run.
///
/// Async-signal-safe: takes only the scheduler lock (never held by this
/// thread, which was in user code) and never creates threads.
pub fn stop_preempted(m: &'static M, g: &'static G, p: Option<&'static P>) -> bool {
    let mut lk = lock();
    let to = match p {
        None => {
            let idle = if SCHED.stw_active.load(Ordering::Relaxed) { None } else { pidleget(&mut lk) };
            match idle.map(|p| (midleget(&mut lk), p)) {
                Some((Some(spare), p)) => HandTo::Nobody(Some((spare, p))),
                Some((None, p)) => {
                    pidleput(&mut lk, p);
                    HandTo::Nobody(None)
                }
                None => HandTo::Nobody(None),
            }
        }
        Some(p) if SCHED.stw_active.load(Ordering::Relaxed) => HandTo::Stopper(p),
        Some(p) => {
            let st = &mut *lk;
            let local_first = st.wakeq.len > 0 || !p.runq.is_empty();
            match if local_first { None } else { pop_bound_head(&mut lk, p) } {
                Some(bm) => HandTo::BoundM(bm, p),
                None if local_first || lk.runq.len > 0 || others_queued(p) => match midleget(&mut lk) {
                    Some(spare) => HandTo::Spare(spare, p),
                    None if let Some(bm) = pop_any_bound(&mut lk) => HandTo::BoundM(bm, p),
                    None => {
                        drop(lk);
                        sysmon::wake(); // it makes spares; we cannot
                        return false;
                    }
                },
                _ => return false,
            }
        }
    };
    trace::preempt_async(m, p, g);
    // Our own goroutine, stopped in the handler.
    g.status.store(G_PREEMPTED, Ordering::Relaxed);
    g.bound_m.store(Some(m), Ordering::Relaxed);
    globrunq_put(&mut lk, g);
    if p.is_some() {
        releasep(m);
    }
    if let HandTo::Stopper(p) = to {
        stop_p(&mut lk, p);
    }
    drop(lk);
    // This thread is about to wait: let the next one run on its CPU.
    match to {
        HandTo::BoundM(next, p) => {
            next.steer_here();
            hand_p(next, p);
        }
        HandTo::Spare(spare, p) | HandTo::Nobody(Some((spare, p))) => {
            spare.spinning.store(false, Ordering::Relaxed);
            spare.steer_here();
            hand_p(spare, p);
        }
        // An idle P but no spare M: sysmon will start one (it may create threads).
        HandTo::Nobody(None) if SCHED.npidle.load(Ordering::Relaxed) > 0 => sysmon::wake(),
        HandTo::Nobody(None) | HandTo::Stopper(_) => {}
    }
    park_m(m);
    resume_bound(m, g);
    true
}
