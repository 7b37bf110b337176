//! Idle Ps and Ms. An M with nothing to do gives its P back to the idle
//! list and parks on its note; an idle P goes back to work when someone
//! hands it, with `hand_p`, to a parked M (`startm`: a spare from the idle
//! list, or a new thread made by the chores thread) and wakes it. A P
//! released by an M that will not run goroutines for a while (a blocking C
//! call, a retake by sysmon) is kept busy if there is work, stopped for a
//! stop-the-world, or made idle (`handoffp`).
//!
//! Spinning. An M that finds no work may "spin": look for goroutines to
//! steal for a while before it parks (`schedule::steal_work`). At most
//! half the busy Ps' worth of Ms spin at once; readying a goroutine starts
//! a spinner only if a P is idle and nobody spins yet (`wakep`); the last
//! spinner to find work starts another; and the last one to give up
//! re-checks every queue before it parks (`schedule::find_runnable`), so
//! work is not stranded while a P is idle (Go's "delicate dance").
//!
//! Why `npidle` and `nmspinning` are SeqCst. Queueing work races with the
//! last spinner giving up, and each side writes one thing, then reads what
//! the other writes:
//!
//! - a submitter (1) queues a goroutine, then (2) reads `npidle` and
//!   `nmspinning` (`wakep`): nobody spins, so it starts a spinner;
//! - the last spinner (1) decrements `nmspinning`, then (2) reads every
//!   queue: work is there, so it takes a P back and keeps it.
//!
//! Dekker's pattern: if neither side's read could pass its own write (a
//! StoreLoad barrier on both sides), at least one of them sees the other,
//! and the work gets an M. The spinner's barrier is its SeqCst
//! read-modify-write of `nmspinning` (a locked instruction: a full barrier
//! on x86-64; a port to a weaker memory model must keep one there); the
//! counters' SeqCst operations also put every change of them in one
//! order. A submitter gets its barrier from the scheduler lock when it
//! queues on the global or wake queue (the spinner re-reads those under
//! the same lock), and from the swap of the `next` slot (another locked
//! instruction) when a goroutine displaces another there. A goroutine stored into an empty `next` slot
//! (a plain store: the hand-off path, see `runq::RunQueue::put`) has no
//! barrier before `wakep`'s reads, so a spinner giving up at that instant
//! may miss it while the submitter still sees the spinner and wakes
//! nobody. (Go's `runqput` does a CAS there.) Nothing is lost: the
//! goroutine is queued on a running P, which runs it when its current
//! goroutine blocks or yields. What may be lost is parallelism, until
//! sysmon's next look: `sysmon::watch_queues` wakes a spinner whenever a P
//! is idle while a run queue holds work. The same holds for an M that goes
//! idle without having spun (it does not re-check other Ps' queues), and
//! for the `npidle` increment of `pidleput` against `wakep`'s read of it.

use core::ptr;
use core::sync::atomic::Ordering;

use super::bound::pop_any_bound;
use super::m::{self, M};
use super::p::{P, P_IDLE, P_RUNNING, P_STOPPED};
use super::schedule::m_loop;
use super::{SCHED, SchedGuard, cfg, chores, lock, sysmon};
use crate::preempt;

#[inline]
pub fn acquirep(m: &'static M, p: &'static P) {
    m.p.store(Some(p), Ordering::Relaxed);
    p.m.store(Some(m), Ordering::Relaxed);
    p.status.store(P_RUNNING, Ordering::Relaxed);
}

#[inline]
pub fn releasep(m: &M) -> &'static P {
    let p = m.p().expect("releasep without a P");
    m.p.store(None, Ordering::Relaxed);
    p.m.store(None, Ordering::Relaxed);
    p
}

#[inline]
pub fn pidleput(lk: &mut SchedGuard, p: &'static P) {
    p.status.store(P_IDLE, Ordering::Relaxed);
    p.link.store(lk.pidle, Ordering::Relaxed);
    lk.pidle = Some(p);
    SCHED.npidle.fetch_add(1, Ordering::SeqCst);
}

#[inline]
pub fn pidleget(lk: &mut SchedGuard) -> Option<&'static P> {
    let p = lk.pidle?;
    lk.pidle = p.link.load(Ordering::Relaxed);
    SCHED.npidle.fetch_sub(1, Ordering::SeqCst);
    Some(p)
}

/// Takes a parked M off the idle list (a "spare"), if there is one.
#[inline]
pub fn midleget(lk: &mut SchedGuard) -> Option<&'static M> {
    let m = lk.midle?;
    lk.midle = m.schedlink.load(Ordering::Relaxed);
    SCHED.nmidle.fetch_sub(1, Ordering::Relaxed);
    Some(m)
}

/// Parks the current M until a P is handed to it, then takes it.
pub fn park_m(m: &'static M) {
    loop {
        m.park.sleep();
        m.unsteer();
        // Acquire (via the note): the hand-over's writes are visible.
        if let Some(p) = m.nextp.swap(None, Ordering::Acquire) {
            acquirep(m, p);
            return;
        }
        // A stop-the-world took the P back before we woke (`take_handed`);
        // it hands it to us again when the world starts.
    }
}

/// Gives `p` to the parked (or about to park) M `m` and wakes it.
pub fn hand_p(m: &'static M, p: &'static P) {
    p.handed_to.store(Some(m), Ordering::Relaxed);
    m.nextp.store(Some(p), Ordering::Release);
    m.park.wakeup();
}

/// Takes `p` back from the M it was handed to (still in `handed_to`) if
/// that M has not picked it up yet; the M then waits for `p` to be handed
/// to it again. For a stop-the-world, which would otherwise wait for the M
/// to wake up (tens of microseconds) only to have it stop at once.
pub fn take_handed(p: &'static P) -> bool {
    let Some(m) = p.handed_to.load(Ordering::Relaxed) else { return false };
    m.nextp.compare_exchange(Some(p), None, Ordering::Acquire, Ordering::Relaxed).is_ok()
}

/// Puts the current M on the idle list and parks it until it is handed a P.
pub(super) fn stopm(m: &'static M) {
    {
        let mut lk = lock();
        m.schedlink.store(lk.midle, Ordering::Relaxed);
        lk.midle = Some(m);
        SCHED.nmidle.fetch_add(1, Ordering::Relaxed);
    }
    park_m(m);
}

/// Runs `p` (an idle P, or the next idle one) on an idle or new M.
pub fn startm(p: Option<&'static P>, spinning: bool) {
    let mut lk = lock();
    if SCHED.stw_active.load(Ordering::Relaxed) {
        // A stop-the-world wants every P: this one stops instead.
        if let Some(p) = p {
            stop_p(&mut lk, p);
        }
        drop(lk);
        if spinning {
            SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    }
    let Some(p) = p.or_else(|| pidleget(&mut lk)) else {
        drop(lk);
        if spinning {
            SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    };
    let m = midleget(&mut lk);
    if m.is_none()
        && !spinning
        && let Some(bm) = pop_any_bound(&mut lk)
    {
        // No idle M, but the goroutine first in line is waiting on its own
        // thread: that thread can take the P without anyone making a new
        // one (which might have to wait for malloc's lock, see chores.rs).
        drop(lk);
        sysmon::poke();
        hand_p(bm, p);
        return;
    }
    drop(lk);
    sysmon::poke();
    match m {
        Some(m) => {
            m.spinning.store(spinning, Ordering::Relaxed);
            hand_p(m, p);
        }
        // Creating a thread may block on malloc's lock: not here, where the
        // caller may hold a P (see chores.rs).
        None => chores::start_m(p, spinning),
    }
}

/// A P was released by an M that will not run goroutines for a while
/// (blocking C call, retaken by sysmon, locked M waiting): keep it busy if
/// there is work, stop it for a stop-the-world, or make it idle.
pub fn handoffp(p: &'static P) {
    if (!p.runq.is_empty() || SCHED.runq_len.load(Ordering::Relaxed) > 0 || SCHED.wakeq_len.load(Ordering::Relaxed) > 0)
        && !SCHED.stw_active.load(Ordering::Relaxed)
    {
        startm(Some(p), false);
        return;
    }
    let mut lk = lock();
    if SCHED.stw_active.load(Ordering::Relaxed) {
        stop_p(&mut lk, p);
        return;
    }
    if lk.runq.len > 0 || lk.wakeq.len > 0 {
        drop(lk);
        startm(Some(p), false);
        return;
    }
    pidleput(&mut lk, p);
    drop(lk);
    if p.timers.next_when() != i64::MAX {
        sysmon::wake();
    }
}

/// Hands `p` to the stop-the-world in progress (`stw_active`, checked
/// under the same lock by the caller). The stopper's own P is not waited
/// for, so it does not count.
pub fn stop_p(_held: &mut SchedGuard, p: &'static P) {
    p.status.store(P_STOPPED, Ordering::Relaxed);
    if crate::world::is_stopper_p(p) {
        return;
    }
    SCHED.stopwait.fetch_sub(1, Ordering::Release);
}

/// Starts an M spinning for work if a P is idle and nobody spins yet.
/// Called after queueing work: its reads are the submitter's half of the
/// pairing described in the module comment.
#[inline]
pub fn wakep() {
    if SCHED.npidle.load(Ordering::SeqCst) == 0 {
        return;
    }
    if SCHED.nmspinning.load(Ordering::Relaxed) != 0
        || SCHED.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed).is_err()
    {
        return;
    }
    startm(None, true);
}

pub(super) fn reset_spinning(m: &M) {
    m.spinning.store(false, Ordering::Relaxed);
    // The last spinner to find work starts another, which keeps looking.
    if SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst) == 1 {
        wakep();
    }
}

/// Creates an M (OS thread). With `p`, it starts running `p`; without, it
/// parks as a spare. Returns false at the thread cap or when the system
/// refuses a thread. Only the chores thread calls this.
pub fn newm(p: Option<&'static P>, spinning: bool) -> bool {
    let n = SCHED.nthreads.fetch_add(1, Ordering::Relaxed);
    if n >= cfg().max_threads {
        SCHED.nthreads.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    let m: &'static M = Box::leak(Box::new(M::new(n)));
    m.spinning.store(spinning, Ordering::Relaxed);
    m.nextp.store(p, Ordering::Relaxed);
    if !m::spawn_thread(m_thread_main, ptr::from_ref(m).cast_mut().cast()) {
        SCHED.nthreads.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    // Publish only once the thread exists: sysmon walks allm.
    SCHED.allm.push(m, |m| &m.alllink);
    true
}

extern "C" fn m_thread_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: newm passes a leaked M.
    let m: &'static M = unsafe { &*(arg as *const M) };
    m::set_current(m);
    m.init_thread();
    preempt::thread_init(m);
    // A P handed over by newm's caller, or none for a spare.
    match m.nextp.swap(None, Ordering::Acquire) {
        Some(p) => acquirep(m, p),
        None => stopm(m),
    }
    m_loop(m)
}
