//! Stopping the world, and resizing the set of Ps inside a stopped world.
//!
//! `stop` raises `stw_active`, then collects every P: idle Ps directly; Ps
//! whose thread is blocked in the kernel by taking them (the same CAS sysmon
//! uses, no signal); running Ps by asking their goroutine to stop (the
//! cooperative flag, and an on-demand SIGURG to threads seen running). Ms in
//! the runtime notice `stw_active` at their next scheduling point or on their
//! way back to user code. A P handed to an M that has not woken up yet (the
//! previous start hands out every P) is taken back on the spot and handed
//! to the same M when the world starts. Each stopped P decrements
//! `stopwait`; the stopper waits for zero, yielding its CPU meanwhile. The
//! caller keeps running, on its own P if it is a goroutine. Only one stop at
//! a time: a second stopper waits on `WORLD`; the holder asking again gets
//! EDEADLK.
//!
//! A goroutine inside `gort_blocking_begin/end` holds no P and keeps running
//! its C call; it cannot get a P back until the world starts.

use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::cell::AtomicRef;
use crate::sched::m::{self, M, U_LOST, user_state, ustate_kind};
use crate::sched::p::{P, P_IDLE, P_RUNNING, P_STOPPED};
use crate::sched::{self, SCHED, Stats, allp, lock, nprocs, pidleput, startm};
use crate::sync::mutex::Mutex;
use crate::{clock, trace};

static WORLD: Mutex = Mutex::new();
/// Who stopped the world: the stopping goroutine's G, or for a plain thread
/// its pthread id (tagged with the low bit, which G addresses never have).
static OWNER: AtomicU64 = AtomicU64::new(0);
/// The P the stopping goroutine keeps, if any.
static OWNER_P: AtomicRef<P> = AtomicRef::none();
/// Ps the stop took back from hand-offs in flight (linked through `link`),
/// to be handed to the same Ms at the start. Owner: the stopper.
static TAKEN: AtomicRef<P> = AtomicRef::none();

/// How soon the stopper asks an M that has not stopped yet again (its
/// signal may have found it in libc or in the runtime). An M not asked yet
/// during this stop is asked at once.
const REASK_NS: i64 = 20_000;

fn caller_id() -> u64 {
    match sched::current_g() {
        Some(g) => ptr::from_ref(g) as u64,
        // SAFETY: pthread_self has no preconditions.
        None => (unsafe { libc::pthread_self() } as u64) << 1 | 1,
    }
}

/// Whether the caller is the goroutine that stopped the world (it keeps
/// running through `stw_active`).
pub fn is_stopper(g: &sched::g::G) -> bool {
    OWNER.load(Ordering::Relaxed) == ptr::from_ref(g) as u64
}

/// Whether the caller (goroutine or thread) holds the world stopped. OWNER
/// holds its id only between its own stop and start, so no other thread
/// can make it match.
pub fn held_by_caller() -> bool {
    OWNER.load(Ordering::Relaxed) == caller_id()
}

/// Whether `p` is the P the world's stopper keeps.
pub fn is_stopper_p(p: &P) -> bool {
    OWNER_P.is(p, Ordering::Relaxed)
}

pub fn stop() -> i32 {
    // The holder would wait on WORLD for itself.
    if held_by_caller() {
        return libc::EDEADLK;
    }
    stop_world(true)
}

/// With `take_handoffs`, a P handed to an M that has not woken up yet is
/// taken back rather than waited for (not when resizing: the P may go away).
fn stop_world(take_handoffs: bool) -> i32 {
    WORLD.lock();
    let _rt = sched::enter();
    let began = clock::now();
    trace::stw(-1);
    let own_p = sched::current_g().and_then(|_| m::current().unwrap().p());
    OWNER.store(caller_id(), Ordering::Relaxed);
    OWNER_P.store(own_p, Ordering::Relaxed);
    {
        let mut lk = lock();
        SCHED.stw_active.store(true, Ordering::SeqCst);
        SCHED.stopwait.store(nprocs() - own_p.is_some() as u32, Ordering::Relaxed);
        while let Some(p) = sched::pidleget(&mut lk) {
            sched::stop_p(&mut lk, p);
        }
        // Ps waiting for the chores thread to make them an M.
        while let Some(p) = lk.pstart {
            lk.pstart = p.link.load(Ordering::Relaxed);
            if p.start_spinning.load(Ordering::Relaxed) {
                SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            sched::stop_p(&mut lk, p);
        }
    }
    loop {
        // Goroutines running user code on Ms whose P was taken (LOST) hold no
        // P but must stop too: ask those that are on a CPU; one blocked in
        // the kernel stops at its next tick after waking (docs/api.md,
        // "Stopping the world").
        let mut lost_running = false;
        for m in sched::all_ms() {
            if ustate_kind(m.ustate.load(Ordering::Relaxed)) == U_LOST {
                lost_running |= ask(m, began);
            }
        }
        if SCHED.stopwait.load(Ordering::Acquire) == 0 && !lost_running {
            break;
        }
        for id in 0..nprocs() {
            let p = allp(id);
            let status = p.status.load(Ordering::Relaxed);
            if own_p.is_some_and(|o| ptr::eq(o, p)) || status == P_STOPPED {
                continue;
            }
            if take_handoffs && sched::take_handed(p) {
                // Handed to an M still waking up (typically by the previous
                // start): it gets the P back when this stop ends.
                sched::stop_p(&mut lock(), p);
                p.link.store(TAKEN.load(Ordering::Relaxed), Ordering::Relaxed);
                TAKEN.store(Some(p), Ordering::Relaxed);
                continue;
            }
            if status != P_RUNNING {
                continue;
            }
            let Some(m) = p.m.load(Ordering::Relaxed) else { continue };
            let user = user_state(p);
            if m.ustate.load(Ordering::Relaxed) != user {
                continue; // in the runtime: it stops at its next scheduling point
            }
            // Asked, unless blocked in the kernel: then take its P without
            // a signal.
            if !ask(m, began) && m.take_p(p) {
                p.m.store(None, Ordering::Relaxed);
                trace::retake(p, m);
                sched::stop_p(&mut lock(), p);
            }
        }
        // Wait for the answers without sleeping (a futex wake-up across CPUs
        // costs tens of microseconds, as much as the whole stop should), but
        // yielding: the thread we wait for may be queued on our own CPU.
        // Then look again at once: an M that was in the runtime a moment
        // ago may have gone back to user code without seeing `stw_active`
        // (it resumes a goroutine from the preemption handler), and needs
        // its signal now, not a recheck period later.
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
    }
    let took = (clock::now() - began) as u64;
    trace::stw(took as i64);
    Stats::bump(&SCHED.stats.stw_count);
    SCHED.stats.stw_last_ns.store(took, Ordering::Relaxed);
    SCHED.stats.stw_max_ns.fetch_max(took, Ordering::Relaxed);
    0
}

/// Asks `m` to stop (see `preempt::request`) unless it was asked less than
/// `REASK_NS` ago during the stop that `began`. False: its thread is
/// blocked in the kernel.
fn ask(m: &M, began: i64) -> bool {
    let now = clock::now();
    let last = m.stw_asked_at.load(Ordering::Relaxed);
    if last >= began {
        if now - last < REASK_NS {
            return true; // asked just now: give the signal time to land
        }
        // Asked before and still not stopped. It may have blocked in the
        // kernel since, our signal pending behind a mask: look afresh.
        if !m.thread_running() {
            return false;
        }
    }
    m.stw_asked_at.store(now, Ordering::Relaxed);
    crate::preempt::request(m)
}

pub fn start() -> i32 {
    if !SCHED.stw_active.load(Ordering::Relaxed) || OWNER.load(Ordering::Relaxed) != caller_id() {
        return libc::EPERM;
    }
    let _rt = sched::enter();
    trace::stw_end();
    restart_ps();
    OWNER.store(0, Ordering::Relaxed);
    WORLD.unlock();
    0
}

/// Ends the stop: every stopped P goes back to work or to the idle list.
fn restart_ps() {
    OWNER_P.store(None, Ordering::Relaxed);
    // Ps with work to do, linked through `link` (no allocation here: a
    // stopped goroutine may hold malloc's lock, see mapvec.rs).
    let mut with_work: Option<&'static P> = None;
    let mut nwork = 0;
    let taken = TAKEN.swap(None, Ordering::Relaxed);
    let mut next = taken;
    while let Some(p) = next {
        next = p.link.load(Ordering::Relaxed);
        p.status.store(P_IDLE, Ordering::Relaxed); // not for the loop below
    }
    {
        let mut lk = lock();
        SCHED.stw_active.store(false, Ordering::SeqCst);
        for id in 0..nprocs() {
            let p = allp(id);
            // The stopper's own P is still RUNNING unless it left it.
            if p.status.load(Ordering::Relaxed) != P_STOPPED {
                continue;
            }
            let st = &mut *lk;
            if !p.runq.is_empty() || st.runq.len > nwork || st.wakeq.len > 0 {
                p.link.store(with_work, Ordering::Relaxed);
                with_work = Some(p);
                nwork += 1;
            } else {
                pidleput(&mut lk, p);
            }
        }
    }
    // The list holds Ps only we know about.
    while let Some(p) = with_work {
        with_work = p.link.load(Ordering::Relaxed);
        startm(Some(p), false);
    }
    let mut next = taken;
    while let Some(p) = next {
        next = p.link.load(Ordering::Relaxed); // before the M may reuse it
        let m = p.handed_to.load(Ordering::Relaxed).expect("take_handed leaves the M in handed_to");
        sched::hand_p(m, p);
    }
    sched::wakep();
}

/// `gort_maxprocs`: returns the previous count; with `n > 0` also changes
/// it, inside a stopped world.
pub fn maxprocs(n: i32) -> i32 {
    let old = nprocs() as i32;
    if n <= 0 || n == old {
        return old;
    }
    // New Ps are allocated before the stop: a stopped goroutine may hold
    // malloc's lock (see mapvec.rs).
    sched::alloc_ps(n.min(crate::config::MAX_PROCS as i32) as u32);
    stop_world(false);
    let keep = sched::resize(n as u32, OWNER_P.load(Ordering::Relaxed));
    OWNER_P.store(keep, Ordering::Relaxed);
    start();
    old
}
