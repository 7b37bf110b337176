//! Entering and leaving the runtime. Every runtime call from a goroutine
//! starts with `enter()`: one plain store of `M::ustate` to RUNTIME (see
//! `m` for the protocol that lets sysmon take the P of a thread blocked in
//! C), and, if the P was taken meanwhile, getting one back (`regain_p`).
//! Dropping the returned token returns to user code (`leave`), honouring on
//! the way a pending preemption request or stop-the-world
//! (`preempt_here`), handing the P away inside `gort_blocking_begin/end`,
//! and waking a spinning M for a hand-off its readier did not run
//! (`pending_handoff`). Plain threads get `None` and take their own paths
//! (futex waits instead of parking).

use core::marker::PhantomData;
use core::sync::atomic::Ordering;

use super::bound::regain_p;
use super::g::G;
use super::idle::{handoffp, releasep, wakep};
use super::m::{self, M, Tail, U_BLOCKING, U_RUNTIME, U_USER, user_state, ustate_kind};
use super::p::{HANDOFF_LEFT, HANDOFF_NONE, HANDOFF_READIED, P};
use super::schedule::switch_away;
use super::{SCHED, Stats};
use crate::trace;

/// A runtime call in progress on a goroutine; dropping it returns to user
/// code (see `leave`). Not `Send`: it belongs to the calling goroutine.
pub struct InRuntime {
    nested: bool,
    _not_send: PhantomData<*mut ()>,
}

impl InRuntime {
    /// The M running the call now (the goroutine may have moved since
    /// `enter`), and the goroutine making it.
    #[inline(always)]
    pub fn current(&self) -> (&'static M, &'static G) {
        // SAFETY: `enter` makes an InRuntime only on a goroutine, and the
        // token never leaves it (not Send): the caller is that goroutine,
        // so the thread is an M and the goroutine is its `curg`.
        unsafe {
            let m = m::current().unwrap_unchecked();
            (m, m.curg.load(Ordering::Relaxed).unwrap_unchecked())
        }
    }
}

/// Starts a runtime call. Returns None on a plain thread (or on a worker's
/// scheduler context, where only a program's signal handler could call
/// in: it is treated as a plain thread). On a goroutine, makes sure its M
/// holds a P (waiting for one if it was taken while the goroutine ran C
/// code). A pending preemption request or stop is honoured
/// on the way out (`leave`): the call's work is done first, which costs the
/// stopper nothing (a call that blocks reaches the scheduler anyway) and
/// spares every call a second check.
#[inline]
pub fn enter() -> Option<InRuntime> {
    let m = m::current()?;
    let prev = m.claim_runtime();
    match ustate_kind(prev) {
        U_USER => {}
        U_RUNTIME if m.curg.is_none(Ordering::Relaxed) => return None,
        U_RUNTIME => return Some(InRuntime { nested: true, _not_send: PhantomData }),
        // SAFETY: LOST or BLOCKING: a goroutine left the runtime (only
        // `leave` sets USER and BLOCKING; LOST replaces USER), and the
        // caller is that goroutine, still running on `m`.
        _ => regain_p(m, unsafe { m.curg.load(Ordering::Relaxed).unwrap_unchecked() }),
    }
    Some(InRuntime { nested: false, _not_send: PhantomData })
}

/// A preemption request or a stop-the-world waits for this goroutine. The
/// goroutine that stopped the world keeps running through it.
#[inline]
fn should_yield(g: &G) -> bool {
    (g.preempt.load(Ordering::Relaxed) || SCHED.stw_active.load(Ordering::Relaxed)) && !crate::world::is_stopper(g)
}

impl Drop for InRuntime {
    fn drop(&mut self) {
        if !self.nested {
            let (m, g) = self.current();
            leave(m, g);
        }
    }
}

/// Back to user code from a runtime call of `g`, the goroutine running on
/// `m`.
pub(super) fn leave(m: &'static M, g: &'static G) {
    if g.blocking.load(Ordering::Relaxed) > 0 {
        // Inside gort_blocking_begin/end: give the P away for the C call
        // (and no preemption: the goroutine is about to block anyway).
        let p = releasep(m);
        Stats::bump(&SCHED.stats.handoffs);
        m.set_ustate(U_BLOCKING);
        handoffp(p);
        return;
    }
    let m = if should_yield(g) {
        preempt_here(m, g);
        m::current().unwrap() // possibly another M now
    } else {
        m
    };
    let p = m.p().unwrap();
    // SAFETY: m, this thread's M, holds p.
    if unsafe { p.handoff.get() } != HANDOFF_NONE {
        // SAFETY: as above.
        unsafe { pending_handoff(p) };
    }
    m.set_ustate(user_state(p));
}

/// Back to user code with a goroutine readied by a hand-off still waiting
/// in `next` (see `ready`): the first time, let it wait; the second time,
/// the readier is evidently not about to block, so wake a spinning M.
///
/// # Safety
/// The calling thread's M holds `p`.
#[cold]
unsafe fn pending_handoff(p: &P) {
    // SAFETY: the holder of p owns `handoff` (caller).
    unsafe {
        if p.handoff.get() == HANDOFF_READIED {
            p.handoff.set(HANDOFF_LEFT);
            return;
        }
        p.handoff.set(HANDOFF_NONE);
    }
    if p.runq.has_next() {
        wakep();
    }
}

/// Cooperative preemption of `g`, the goroutine running on `m`, at a
/// runtime call: requeue on the global queue.
fn preempt_here(m: &'static M, g: &'static G) {
    g.preempt.store(false, Ordering::Relaxed);
    Stats::bump(&SCHED.stats.preempt_coop);
    trace::preempt(m, g, false);
    switch_away(m, g, Tail::RequeueGlobal(g));
}
