//! The scheduler: goroutines multiplexed over OS threads.
//!
//! Vocabulary (Go's, used everywhere in gort: names, traces, schedtrace):
//!
//! - **G**, a goroutine: a user-space stackful coroutine (`g`).
//! - **M**, a machine: an OS thread the runtime owns (`m`).
//! - **P**, a processor: the right to run goroutines; `GORTMAXPROCS` of
//!   them (`p`). An M runs goroutines only while it holds a P.
//!
//! Each P has a local run queue with a `next` slot; a global queue and a
//! "wake queue" sit behind the scheduler lock. A goroutine readied from a
//! running goroutine goes to its P's `next` slot, so a channel hand-off runs
//! next on the same P without a lock. One readied from outside any P (a
//! timer run by sysmon, a plain thread's channel send) goes to the wake
//! queue, which every scheduling decision checks first and which sysmon
//! watches to trigger wake-up preemption.
//!
//! Switching. A goroutine that blocks, yields or exits switches *directly*
//! to the next runnable goroutine of its P when one is at hand (one context
//! switch, no lock), and to its M's scheduler context ("g0", the thread's own
//! stack, running `m_loop`) otherwise. The work that must happen only once
//! the leaving goroutine's registers are saved (requeueing it, releasing the
//! lock that makes it wakeable, freeing it) travels in `M::tail` and is done
//! by whatever context runs next (`finish_switch`), as Linux does in
//! `finish_task_switch`. This is what makes it safe for a waker on another
//! thread to resume a goroutine the moment it can see it.
//!
//! Finding work (`find_runnable`, on g0): timers due on this P, the wake
//! queue, the global queue every 61st tick (fairness), the local queue, the
//! global queue, then stealing half of another P's queue. An M with nothing
//! to do gives its P back and parks on a futex; at most a few Ms spin looking
//! for work, and the last spinner to give up re-checks every queue, so work
//! is never stranded while a P is idle (Go's "delicate dance").
//!
//! Stopped goroutines bound to an M. Some goroutines may run only on one M:
//! one locked with `gort_lock_os_thread`, and one whose registers are held by
//! a stopped M (the preemption handler parks its thread with the goroutine's
//! state in the signal frame; an M back from a blocking C call with no P
//! waits the same way). They sit in run queues like any other, marked with
//! `bound_m`; a scheduler that picks one hands its P to that M and parks
//! itself instead (`next_g`).
//!
//! Entering the runtime. Every runtime call from a goroutine starts with
//! `enter()`: one plain store of `M::ustate` to RUNTIME (see `m` for the
//! protocol that lets sysmon take the P of a thread blocked in C), and a
//! check of the goroutine's preemption flag. Dropping the returned token
//! returns to user code. Plain threads get `None` and take their own paths
//! (futex waits instead of parking).
//!
//! Invariants worth knowing before editing:
//! - Runtime code running on a goroutine never keeps `&M` across a switch:
//!   the goroutine may resume on another thread. Re-read `m::current()`.
//! - The scheduler lock is held only for short, non-blocking sections; it
//!   may be taken in the preemption handler (see `sync::lock`).
//! - Ps, Ms and Gs are never freed, so raw pointers to them never dangle.

pub mod cell;
pub mod chores;
pub mod g;
pub mod m;
pub mod p;
pub mod park;
pub mod runq;
pub mod sysmon;
pub mod timer;

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

use self::cell::OwnedCell;
use self::g::{G, G_PREEMPTED, G_RUNNABLE, G_RUNNING, G_WAITING, GoFn, WaitReason};
use self::m::{M, Tail, U_BLOCKING, U_RUNTIME, U_USER, user_state, ustate_kind};
use self::p::{HANDOFF_LEFT, HANDOFF_NONE, HANDOFF_READIED, P, P_IDLE, P_RUNNING, P_STOPPED};
use crate::config::{Config, MAX_PROCS};
use crate::sync::lock::RtLock;
use crate::{arch, clock, preempt, trace};

/// Check the global queue first every this many schedules, so goroutines
/// there are not starved by a busy local queue (Go uses the same prime).
const GLOBAL_CHECK_EVERY: u32 = 61;

/// A FIFO of Gs linked through `schedlink`.
pub struct GQueue {
    head: *mut G,
    tail: *mut G,
    pub len: u32,
}

impl GQueue {
    const fn new() -> GQueue {
        GQueue { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    fn push(&mut self, g: *mut G) {
        // SAFETY: g is a live G owned by the caller.
        unsafe { (*g).schedlink.store(ptr::null_mut(), Ordering::Relaxed) };
        self.push_list(g, g, 1);
    }

    /// Appends a linked list `head..=tail` of `n` Gs.
    fn push_list(&mut self, head: *mut G, tail: *mut G, n: u32) {
        if self.tail.is_null() {
            self.head = head;
        } else {
            // SAFETY: our tail is a live queued G.
            unsafe { (*self.tail).schedlink.store(head, Ordering::Relaxed) };
        }
        self.tail = tail;
        self.len += n;
    }

    fn pop(&mut self) -> Option<*mut G> {
        if self.head.is_null() {
            return None;
        }
        let g = self.head;
        // SAFETY: queued Gs are live.
        self.head = unsafe { (*g).schedlink.load(Ordering::Relaxed) };
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        Some(g)
    }

    /// Removes and returns the first G for which `f` holds.
    fn take_first(&mut self, f: impl Fn(&G) -> bool) -> Option<*mut G> {
        let mut prev: *mut G = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: queued Gs are live; the caller holds the queue's lock.
        unsafe {
            while !cur.is_null() {
                let next = (*cur).schedlink.load(Ordering::Relaxed);
                if f(&*cur) {
                    if prev.is_null() {
                        self.head = next;
                    } else {
                        (*prev).schedlink.store(next, Ordering::Relaxed);
                    }
                    if self.tail == cur {
                        self.tail = prev;
                    }
                    self.len -= 1;
                    return Some(cur);
                }
                prev = cur;
                cur = next;
            }
        }
        None
    }

    /// The head, without removing it (trace walks the queue from here).
    pub fn peek(&self) -> Option<*mut G> {
        (!self.head.is_null()).then_some(self.head)
    }
}

/// State behind the scheduler lock.
pub struct Locked {
    pub runq: GQueue,
    pub wakeq: GQueue,
    pidle: *mut P,
    midle: *mut M,
    /// Ps waiting for the chores thread to make them an M.
    pub pstart: *mut P,
}

pub struct Sched {
    lock: RtLock,
    /// Owner: `lock`.
    locked: OwnedCell<Locked>,
    pub nprocs: AtomicU32,
    /// Ps ever allocated (>= nprocs after a shrink); they are never freed.
    pub nallp: AtomicU32,
    pub allp: [AtomicPtr<P>; MAX_PROCS as usize],
    /// Every M, newest first (push-only).
    pub allm: AtomicPtr<M>,
    pub nthreads: AtomicU32,
    pub npidle: AtomicU32,
    pub nmidle: AtomicU32,
    pub nmspinning: AtomicU32,
    /// Lengths of the global and wake queues, readable without the lock.
    pub runq_len: AtomicU32,
    pub wakeq_len: AtomicU32,
    /// A stop-the-world is in force, from the stopper's request until it
    /// starts the world again: every P but the stopper's must stop.
    pub stw_active: AtomicBool,
    /// Ps a stop-the-world still waits for. Written under the lock; the
    /// stopper polls it.
    pub stopwait: AtomicU32,
    goid_gen: AtomicU64,
    /// Goroutines spawned and exited with no P (from plain threads).
    nspawned_nop: AtomicU64,
    nexited_nop: AtomicU64,
    pub stats: Stats,
}

// SAFETY: shared fields are atomics; `locked` is guarded by `lock`.
unsafe impl Sync for Sched {}

/// Counters behind `gort_read_stats`.
#[derive(Default)]
pub struct Stats {
    pub preempt_async: AtomicU64,
    pub preempt_coop: AtomicU64,
    pub preempt_signals: AtomicU64,
    pub preempt_unsafe: AtomicU64,
    pub handoffs: AtomicU64,
    pub stw_count: AtomicU64,
    pub stw_last_ns: AtomicU64,
    pub stw_max_ns: AtomicU64,
}

impl Stats {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

pub static SCHED: Sched = Sched {
    lock: RtLock::new(),
    locked: OwnedCell::new(Locked {
        runq: GQueue::new(),
        wakeq: GQueue::new(),
        pidle: ptr::null_mut(),
        midle: ptr::null_mut(),
        pstart: ptr::null_mut(),
    }),
    nprocs: AtomicU32::new(0),
    nallp: AtomicU32::new(0),
    allp: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_PROCS as usize],
    allm: AtomicPtr::new(ptr::null_mut()),
    nthreads: AtomicU32::new(0),
    npidle: AtomicU32::new(0),
    nmidle: AtomicU32::new(0),
    nmspinning: AtomicU32::new(0),
    runq_len: AtomicU32::new(0),
    wakeq_len: AtomicU32::new(0),
    stw_active: AtomicBool::new(false),
    stopwait: AtomicU32::new(0),
    goid_gen: AtomicU64::new(1),
    nspawned_nop: AtomicU64::new(0),
    nexited_nop: AtomicU64::new(0),
    stats: Stats {
        preempt_async: AtomicU64::new(0),
        preempt_coop: AtomicU64::new(0),
        preempt_signals: AtomicU64::new(0),
        preempt_unsafe: AtomicU64::new(0),
        handoffs: AtomicU64::new(0),
        stw_count: AtomicU64::new(0),
        stw_last_ns: AtomicU64::new(0),
        stw_max_ns: AtomicU64::new(0),
    },
};

/// The scheduler lock, held for the guard's lifetime.
pub struct SchedGuard(PhantomData<*mut ()>);

impl SchedGuard {
    pub fn st(&mut self) -> &mut Locked {
        // SAFETY: the guard proves the lock is held.
        unsafe { SCHED.locked.get_mut() }
    }
}

impl Drop for SchedGuard {
    fn drop(&mut self) {
        // SAFETY: the guard proves the lock is held.
        unsafe { SCHED.lock.unlock() }
    }
}

pub fn lock() -> SchedGuard {
    SCHED.lock.lock();
    SchedGuard(PhantomData)
}

static CONFIG: OnceLock<Config> = OnceLock::new();
static START: Once = Once::new();
/// Set in the child of a fork() taken after the runtime started: the child
/// has one thread and none of the runtime's, so the runtime is unusable
/// there (API calls fail with ENOTRECOVERABLE) instead of deadlocking.
static FORKED: AtomicBool = AtomicBool::new(false);

/// Whether this process is a fork child of a running runtime.
#[inline]
pub fn forked() -> bool {
    FORKED.load(Ordering::Relaxed)
}

extern "C" fn after_fork_in_child() {
    FORKED.store(true, Ordering::Relaxed);
}

/// The settings the runtime started with.
pub fn cfg() -> &'static Config {
    CONFIG.get().expect("gort runtime not started")
}

/// Starts the runtime on first use. Cheap (one load) afterwards.
#[inline]
pub fn ensure_started() {
    START.call_once(start);
}

fn start() {
    let cfg = CONFIG.get_or_init(Config::from_env);
    m::init_membarrier();
    preempt::init();
    alloc_ps(cfg.maxprocs);
    SCHED.nprocs.store(cfg.maxprocs, Ordering::Release);
    {
        let mut lk = lock();
        for id in (0..cfg.maxprocs).rev() {
            pidleput(&mut lk, allp(id));
        }
    }
    trace::init();
    chores::start();
    sysmon::start();
    // SAFETY: registers a plain function; no other preconditions.
    unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
}

/// Makes sure Ps 0..n exist (new ones start idle-but-unlisted: the caller
/// lists or stops them).
pub fn alloc_ps(n: u32) {
    for id in SCHED.nallp.load(Ordering::Relaxed)..n {
        let p: &'static P = Box::leak(Box::new(P::new(id)));
        SCHED.allp[id as usize].store(p as *const P as *mut P, Ordering::Release);
        SCHED.nallp.store(id + 1, Ordering::Release);
    }
}

/// Inside a stopped world: changes the number of Ps to `n`. Ps beyond `n`
/// give their goroutines, timers and free Gs to the rest; `keep` (the
/// stopper's P) is replaced when it goes away. Returns the P the stopper
/// should hold from now on.
pub fn resize(n: u32, keep: Option<&'static P>) -> Option<&'static P> {
    let n = n.clamp(1, MAX_PROCS);
    let old = nprocs();
    debug_assert!(SCHED.nallp.load(Ordering::Relaxed) >= n, "alloc_ps before the stop");
    for id in old..n {
        allp(id).status.store(P_STOPPED, Ordering::Relaxed);
    }
    let mut keep = keep;
    if n < old {
        let mut lk = lock();
        for id in n..old {
            let p = allp(id);
            while let Some(g) = p.runq.get() {
                globrunq_put(&mut lk, g);
            }
            p.timers.move_into(&allp(0).timers);
            g::drain_local(p);
            if keep.is_some_and(|k| ptr::eq(k, p)) {
                // The stopper's own P goes away: it takes P0, stopped now.
                let m = m::current().unwrap();
                releasep(m);
                p.status.store(P_STOPPED, Ordering::Relaxed);
                acquirep(m, allp(0));
                keep = Some(allp(0));
            }
        }
    }
    SCHED.nprocs.store(n, Ordering::Release);
    keep
}

pub fn allp(id: u32) -> &'static P {
    // SAFETY: Ps below nprocs are allocated at start or resize and never freed.
    unsafe { &*SCHED.allp[id as usize].load(Ordering::Acquire) }
}

pub fn nprocs() -> u32 {
    SCHED.nprocs.load(Ordering::Acquire)
}

/// Iterates over all Ms.
pub fn all_ms() -> impl Iterator<Item = &'static M> {
    let mut cur = SCHED.allm.load(Ordering::Acquire);
    core::iter::from_fn(move || {
        // SAFETY: Ms are leaked and never freed.
        let m = unsafe { cur.as_ref()? };
        cur = m.alllink.load(Ordering::Acquire);
        Some(m)
    })
}

// ---------------------------------------------------------------------------
// Entering and leaving the runtime.

/// A runtime call in progress on a goroutine; dropping it returns to user
/// code (see `leave`). Not `Send`: it belongs to the calling goroutine.
pub struct InRuntime {
    nested: bool,
    _not_send: PhantomData<*mut ()>,
}

/// Starts a runtime call. Returns None on a plain thread. On a goroutine,
/// makes sure its M holds a P (waiting for one if it was taken while the
/// goroutine ran C code). A pending preemption request or stop is honoured
/// on the way out (`leave`): the call's work is done first, which costs the
/// stopper nothing (a call that blocks reaches the scheduler anyway) and
/// spares every call a second check.
#[inline]
pub fn enter() -> Option<InRuntime> {
    let m = m::current()?;
    let prev = m.claim_runtime();
    match ustate_kind(prev) {
        U_USER => {}
        U_RUNTIME => return Some(InRuntime { nested: true, _not_send: PhantomData }),
        _ => regain_p(m), // resumes on this same M
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
            leave();
        }
    }
}

fn leave() {
    let m = m::current().unwrap();
    let g = m.curg();
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
        preempt_here();
        m::current().unwrap() // possibly another M now
    } else {
        m
    };
    let p = m.p().unwrap();
    if p.handoff.get() != HANDOFF_NONE {
        pending_handoff(p);
    }
    m.set_ustate(user_state(p));
}

/// Back to user code with a goroutine readied by a hand-off still waiting
/// in `next` (see `ready`): the first time, let it wait; the second time,
/// the readier is evidently not about to block, so wake a spinning M.
#[cold]
fn pending_handoff(p: &P) {
    if p.handoff.get() == HANDOFF_READIED {
        p.handoff.set(HANDOFF_LEFT);
        return;
    }
    p.handoff.set(HANDOFF_NONE);
    if p.runq.has_next() {
        wakep();
    }
}

/// Cooperative preemption at a runtime call: requeue on the global queue.
fn preempt_here() {
    let m = m::current().unwrap();
    let g = m.curg.load(Ordering::Relaxed);
    // SAFETY: the running G.
    unsafe { (*g).preempt.store(false, Ordering::Relaxed) };
    Stats::bump(&SCHED.stats.preempt_coop);
    trace::preempt(m, g, false);
    switch_away(m, Tail::RequeueGlobal(g));
}

/// The M's P was taken (LOST) or given away (BLOCKING): get one back, from
/// the idle list or, failing that, by queueing the goroutine bound to this M
/// and parking the thread until a scheduler hands it a P.
fn regain_p(m: &'static M) {
    m.p.store(ptr::null_mut(), Ordering::Relaxed);
    let g = m.curg.load(Ordering::Relaxed);
    let mut lk = lock();
    if !SCHED.stw_active.load(Ordering::Relaxed)
        && let Some(p) = pidleget(&mut lk)
    {
        drop(lk);
        acquirep(m, p);
        trace::go_start(p, g);
        return;
    }
    // SAFETY: the running G, which is ours.
    unsafe {
        (*g).status.store(G_PREEMPTED, Ordering::Relaxed);
        (*g).bound_m.store(m as *const M as *mut M, Ordering::Relaxed);
    }
    globrunq_put(&mut lk, g);
    drop(lk);
    park_m(m);
    resume_bound(m, g);
}

/// A bound goroutine's M got a P back: the goroutine runs again.
pub fn resume_bound(m: &'static M, g: *mut G) {
    // SAFETY: g is this M's stopped goroutine.
    let gr = unsafe { &*g };
    gr.status.store(G_RUNNING, Ordering::Relaxed);
    if m.lockedg.load(Ordering::Relaxed) != g {
        gr.bound_m.store(ptr::null_mut(), Ordering::Relaxed);
    }
    let p = m.p().unwrap();
    p.tick();
    trace::go_start(p, g);
}

// ---------------------------------------------------------------------------
// Ms and Ps.

pub fn acquirep(m: &'static M, p: &'static P) {
    m.p.store(p as *const P as *mut P, Ordering::Relaxed);
    p.m.store(m as *const M as *mut M, Ordering::Relaxed);
    p.status.store(P_RUNNING, Ordering::Relaxed);
}

pub fn releasep(m: &M) -> &'static P {
    let p = m.p().expect("releasep without a P");
    m.p.store(ptr::null_mut(), Ordering::Relaxed);
    p.m.store(ptr::null_mut(), Ordering::Relaxed);
    p
}

pub fn pidleput(lk: &mut SchedGuard, p: &'static P) {
    p.status.store(P_IDLE, Ordering::Relaxed);
    p.link.store(lk.st().pidle, Ordering::Relaxed);
    lk.st().pidle = p as *const P as *mut P;
    SCHED.npidle.fetch_add(1, Ordering::SeqCst);
}

pub fn pidleget(lk: &mut SchedGuard) -> Option<&'static P> {
    let p = lk.st().pidle;
    // SAFETY: Ps are never freed.
    let p = unsafe { p.as_ref()? };
    lk.st().pidle = p.link.load(Ordering::Relaxed);
    SCHED.npidle.fetch_sub(1, Ordering::SeqCst);
    Some(p)
}

/// Takes a parked M off the idle list (a "spare"), if there is one.
pub fn midleget(lk: &mut SchedGuard) -> Option<&'static M> {
    let m = lk.st().midle;
    // SAFETY: Ms are never freed.
    let m = unsafe { m.as_ref()? };
    lk.st().midle = m.schedlink.load(Ordering::Relaxed);
    SCHED.nmidle.fetch_sub(1, Ordering::Relaxed);
    Some(m)
}

/// Parks the current M until a P is handed to it, then takes it.
pub fn park_m(m: &'static M) {
    loop {
        m.park.sleep();
        m.unsteer();
        // Acquire (via the note): the hand-over's writes are visible.
        let p = m.nextp.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: whoever woke us handed us a live P.
        if let Some(p) = unsafe { p.as_ref() } {
            acquirep(m, p);
            return;
        }
        // A stop-the-world took the P back before we woke (`take_handed`);
        // it hands it to us again when the world starts.
    }
}

/// Gives `p` to the parked (or about to park) M `m` and wakes it.
pub fn hand_p(m: &M, p: &P) {
    p.handed_to.store(m as *const M as *mut M, Ordering::Relaxed);
    m.nextp.store(p as *const P as *mut P, Ordering::Release);
    m.park.wakeup();
}

/// Takes `p` back from the M it was handed to (still in `handed_to`) if
/// that M has not picked it up yet; the M then waits for `p` to be handed
/// to it again. For a stop-the-world, which would otherwise wait for the M
/// to wake up (tens of microseconds) only to have it stop at once.
pub fn take_handed(p: &'static P) -> bool {
    // SAFETY: Ms are never freed.
    let Some(m) = (unsafe { p.handed_to.load(Ordering::Relaxed).as_ref() }) else { return false };
    let pp = p as *const P as *mut P;
    m.nextp.compare_exchange(pp, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok()
}

/// Puts the current M on the idle list and parks it until it is handed a P.
fn stopm(m: &'static M) {
    {
        let mut lk = lock();
        m.schedlink.store(lk.st().midle, Ordering::Relaxed);
        lk.st().midle = m as *const M as *mut M;
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
    if lk.st().runq.len > 0 || lk.st().wakeq.len > 0 {
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

fn reset_spinning(m: &M) {
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
    m.nextp.store(p.map_or(ptr::null_mut(), |p| p as *const P as *mut P), Ordering::Relaxed);
    if !preempt::spawn_thread(m_thread_main, m as *const M as *mut libc::c_void) {
        SCHED.nthreads.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    // Publish only once the thread exists: sysmon walks allm.
    let mut head = SCHED.allm.load(Ordering::Relaxed);
    loop {
        m.alllink.store(head, Ordering::Relaxed);
        match SCHED.allm.compare_exchange_weak(head, m as *const M as *mut M, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(h) => head = h,
        }
    }
}

extern "C" fn m_thread_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: newm passes a leaked M.
    let m: &'static M = unsafe { &*(arg as *const M) };
    arch::tls_set(m as *const M as usize);
    preempt::thread_init(m);
    let p = m.nextp.swap(ptr::null_mut(), Ordering::Acquire);
    // SAFETY: a P handed over by newm's caller, or none for a spare.
    match unsafe { p.as_ref() } {
        Some(p) => acquirep(m, p),
        None => stopm(m),
    }
    m_loop(m)
}

// ---------------------------------------------------------------------------
// Queues.

pub fn globrunq_put(lk: &mut SchedGuard, g: *mut G) {
    lk.st().runq.push(g);
    SCHED.runq_len.fetch_add(1, Ordering::Relaxed);
}

fn wakeq_put(lk: &mut SchedGuard, g: *mut G) {
    lk.st().wakeq.push(g);
    SCHED.wakeq_len.fetch_add(1, Ordering::Relaxed);
}

/// Pops the global queue's head. With `batch` (the local queue is empty),
/// also moves a fair share of the rest into `p`'s local queue.
fn globrunq_get(lk: &mut SchedGuard, p: &P, batch: bool) -> Option<*mut G> {
    let st = lk.st();
    let g = st.runq.pop()?;
    let mut moved = 1;
    if batch {
        let share = (st.runq.len / nprocs() + 1).min(runq::RUNQ_SIZE as u32 / 2);
        for _ in 0..share {
            let Some(x) = st.runq.pop() else { break };
            // Cannot overflow: the local queue was empty.
            let _ = p.runq.put(x, false);
            moved += 1;
        }
    }
    SCHED.runq_len.fetch_sub(moved, Ordering::Relaxed);
    Some(g)
}

fn wakeq_get(lk: &mut SchedGuard) -> Option<*mut G> {
    let g = lk.st().wakeq.pop()?;
    SCHED.wakeq_len.fetch_sub(1, Ordering::Relaxed);
    Some(g)
}

/// Queues `g` on `p`, spilling to the global queue when the ring is full.
fn runq_put(p: &P, g: *mut G, next: bool) {
    if let Some(batch) = p.runq.put(g, next) {
        let mut lk = lock();
        lk.st().runq.push_list(batch.head, batch.tail, batch.n);
        SCHED.runq_len.fetch_add(batch.n, Ordering::Relaxed);
    }
}

/// If the global queue's head is a goroutine bound to a waiting M (locked
/// to it, or stopped on it), takes it off the queue and returns that M, to
/// be handed `p`.
fn pop_bound_head(lk: &mut SchedGuard, p: &P) -> Option<&'static M> {
    let head = lk.st().runq.peek()?;
    // SAFETY: queued Gs are live; Ms are never freed.
    let bm = unsafe { (*head).bound_m.load(Ordering::Relaxed).as_ref()? };
    globrunq_get(lk, p, false);
    Some(bm)
}

/// With no idle M to run a P: takes the first goroutine in the global queue
/// whose own M waits for a P, and returns that M. Out of FIFO order, but it
/// needs no new thread, and making one may have to wait for malloc's lock,
/// held perhaps by a goroutine further down this very queue.
fn pop_any_bound(lk: &mut SchedGuard) -> Option<&'static M> {
    let g = lk.st().runq.take_first(|g| !g.bound_m.load(Ordering::Relaxed).is_null())?;
    SCHED.runq_len.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { (*g).bound_m.load(Ordering::Relaxed).as_ref() }
}

/// Makes a parked goroutine runnable. From a goroutine (or g0) holding a P
/// it goes to that P's `next` slot; from anywhere else to the wake queue.
///
/// A hand-off (the `next` slot is all this P has queued) wakes no spinning
/// M, unlike Go's `ready`: the readier usually blocks at once (a
/// ping-pong, a request and its reply) and its P then runs the goroutine
/// itself, while a spinner costs the readier a futex wake-up and then polls
/// this P's run queue lines for nothing (it may not take `next` for
/// `NEXT_GRACE_NS` anyway). At 2 Ps that was 15-20% of a ping-pong round
/// trip. If the readier instead comes back to the runtime and leaves again
/// without having let the goroutine run, `leave` wakes a spinner; if it
/// runs on in user code, sysmon does (see `sysmon::watch_queues`).
pub fn ready(g: *mut G) {
    // SAFETY: the caller hands us a parked G.
    unsafe { (*g).status.store(G_RUNNABLE, Ordering::Release) };
    trace::unpark(g);
    if let Some(p) = m::current().and_then(|m| m.p()) {
        runq_put(p, g, true);
        if p.runq.ring_is_empty() {
            p.handoff.set(HANDOFF_READIED);
        } else {
            wakep();
        }
        return;
    }
    wakeq_put(&mut lock(), g);
    wakep();
    sysmon::wakeup_waiting();
}

/// Whether anything besides the running goroutines wants a P (used by the
/// preemption handler to skip pointless preemptions).
pub fn others_waiting(p: &P) -> bool {
    !p.runq.is_empty() || global_work() || others_queued(p)
}

pub fn global_work() -> bool {
    SCHED.runq_len.load(Ordering::Relaxed) > 0 || SCHED.wakeq_len.load(Ordering::Relaxed) > 0
}

/// Whether a P other than `p` has goroutines queued locally (which an M
/// given `p` would steal). Racy, O(Ps); async-signal-safe.
fn others_queued(p: &P) -> bool {
    (0..nprocs()).any(|id| id != p.id && !allp(id).runq.is_empty())
}

// ---------------------------------------------------------------------------
// Switching.

/// Leaves the current goroutine, running on `m`, for the next one on this P,
/// or for g0; `tail` runs once the goroutine's context is saved. Returns
/// when the goroutine is resumed, possibly on another M. Inlined, so that
/// each caller's constant `tail` becomes plain stores.
#[inline(always)]
pub fn switch_away(m: &'static M, tail: Tail) {
    m.set_tail(tail);
    switch_out(m);
}

fn switch_out(m: &'static M) {
    let g = m.curg.load(Ordering::Relaxed);
    let p = m.p().unwrap();
    trace::go_stop(p, g);
    // SAFETY: g is the running goroutine, so its context slot is ours to
    // write; `next`'s saved context is valid while it sits in a run queue.
    unsafe {
        match fast_next(m, p) {
            Some((next, inherit)) => {
                run_prepare(m, p, next, inherit);
                arch::switch((*g).ctx.as_ptr(), (*next).ctx.get());
            }
            None => {
                m.curg.store(ptr::null_mut(), Ordering::Relaxed);
                arch::switch((*g).ctx.as_ptr(), m.g0_sp.get());
            }
        }
    }
    finish_switch(m::current().unwrap());
}

/// The goroutine to switch to without going through g0, if the decision is
/// simple: local work, nothing urgent or due elsewhere.
#[inline]
fn fast_next(m: &M, p: &P) -> Option<(*mut G, bool)> {
    if !m.lockedg.load(Ordering::Relaxed).is_null()
        || SCHED.stw_active.load(Ordering::Relaxed)
        || SCHED.wakeq_len.load(Ordering::Relaxed) > 0
        || p.schedtick.load(Ordering::Relaxed).is_multiple_of(GLOBAL_CHECK_EVERY)
    {
        return None;
    }
    let next_timer = p.timers.next_when();
    if next_timer != i64::MAX && next_timer <= clock::now() {
        return None;
    }
    let (g, inherit) = p.runq.get_noting_next()?;
    // SAFETY: a queued G.
    let bound = unsafe { (*g).bound_m.load(Ordering::Relaxed) };
    if !bound.is_null() && !core::ptr::eq(bound, m) {
        m.pending.set(g);
        return None;
    }
    Some((g, inherit))
}

/// Makes `g` the running goroutine. A goroutine taken from the `next` slot
/// (a hand-off: ping-pong partners, a woken receiver) inherits the time
/// slice: the P's schedtick does not move, so a pair that hands off back and
/// forth looks to sysmon and the preemption timer like one goroutine running
/// on, and is preempted after a slice instead of starving the rest of the
/// queue (Go's `inheritTime`).
fn run_prepare(m: &M, p: &P, g: *mut G, inherit: bool) {
    // SAFETY: g is runnable and now ours to run.
    let gr = unsafe { &*g };
    m.curg.store(g, Ordering::Relaxed);
    gr.status.store(G_RUNNING, Ordering::Relaxed);
    gr.preempt.store(false, Ordering::Relaxed);
    if !inherit {
        p.tick();
    }
    // Whatever was readied, this P is running goroutines again.
    if p.handoff.get() != HANDOFF_NONE {
        p.handoff.set(HANDOFF_NONE);
    }
    trace::go_start(p, g);
}

/// Finishes the switch that brought us here: the previous goroutine's tail.
fn finish_switch(m: &'static M) {
    match m.take_tail() {
        Tail::None => {}
        Tail::Requeue(g) => {
            // SAFETY: the previous G, now fully switched out.
            unsafe { (*g).status.store(G_RUNNABLE, Ordering::Relaxed) };
            runq_put(m.p().unwrap(), g, false);
        }
        Tail::RequeueGlobal(g) => {
            // SAFETY: as above.
            unsafe { (*g).status.store(G_RUNNABLE, Ordering::Relaxed) };
            globrunq_put(&mut lock(), g);
            wakep();
        }
        // SAFETY: the parker's unlock function and argument.
        Tail::Park(Some((unlock, arg))) => unsafe { unlock(arg) },
        Tail::Park(None) => {}
        Tail::Exit(g) => g::put(m.p(), g),
    }
}

/// The scheduler loop of an M, on its own stack.
fn m_loop(m: &'static M) -> ! {
    loop {
        finish_switch(m);
        let g = next_g(m);
        let p = m.p().unwrap();
        run_prepare(m, p, g, false);
        // SAFETY: g is runnable and ours; g0's slot is this thread's.
        unsafe { arch::switch(m.g0_sp.as_ptr(), (*g).ctx.get()) };
    }
}

/// The next goroutine this M should run, with a P held.
fn next_g(m: &'static M) -> *mut G {
    loop {
        let locked = m.lockedg.load(Ordering::Relaxed);
        if !locked.is_null() {
            // Our goroutine cannot run now: lend our P out until someone
            // picks the goroutine and hands a P back.
            handoffp(releasep(m));
            park_m(m);
            return locked;
        }
        let pending = m.pending.replace(ptr::null_mut());
        let g = if pending.is_null() { find_runnable(m) } else { pending };
        if m.spinning.load(Ordering::Relaxed) {
            reset_spinning(m);
        }
        // SAFETY: a runnable G we took off a queue.
        let bound = unsafe { (*g).bound_m.load(Ordering::Relaxed) };
        if !bound.is_null() && !core::ptr::eq(bound, m) {
            // SAFETY: Ms are never freed.
            let bound = unsafe { &*bound };
            bound.steer_here(); // we are about to sleep: let it run here
            hand_p(bound, releasep(m));
            stopm(m);
            continue;
        }
        return g;
    }
}

/// Finds a runnable goroutine, parking the M while there is none.
fn find_runnable(m: &'static M) -> *mut G {
    'top: loop {
        let p = m.p().unwrap();
        if SCHED.stw_active.load(Ordering::Acquire) {
            stop_for_world(m);
            continue;
        }
        run_timers(p);
        if SCHED.wakeq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = wakeq_get(&mut lock())
        {
            return g;
        }
        if p.schedtick.load(Ordering::Relaxed).is_multiple_of(GLOBAL_CHECK_EVERY)
            && SCHED.runq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = globrunq_get(&mut lock(), p, false)
        {
            return g;
        }
        if let Some(g) = p.runq.get() {
            return g;
        }
        if SCHED.runq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = globrunq_get(&mut lock(), p, true)
        {
            return g;
        }
        if let Some(g) = steal_work(m, p) {
            return g;
        }

        // Nothing to do: give the P back.
        let mut lk = lock();
        if SCHED.stw_active.load(Ordering::Relaxed) {
            drop(lk);
            continue;
        }
        if let Some(g) = wakeq_get(&mut lk).or_else(|| globrunq_get(&mut lk, p, true)) {
            return g;
        }
        releasep(m);
        pidleput(&mut lk, p);
        drop(lk);
        if p.timers.next_when() != i64::MAX {
            sysmon::wake();
        }

        // A spinner must look again after it stops spinning: work queued
        // meanwhile by someone who saw it spinning (and so woke nobody)
        // would be stranded (Go's "delicate dance", go.dev/issue/43997).
        if m.spinning.swap(false, Ordering::Relaxed) {
            SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
            let mut lk = lock();
            if (lk.st().runq.len > 0 || lk.st().wakeq.len > 0)
                && !SCHED.stw_active.load(Ordering::Relaxed)
                && let Some(p) = pidleget(&mut lk)
            {
                let g = wakeq_get(&mut lk).or_else(|| globrunq_get(&mut lk, p, true)).unwrap();
                drop(lk);
                acquirep(m, p);
                m.spinning.store(true, Ordering::Relaxed);
                SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
                return g;
            }
            drop(lk);
            for id in 0..nprocs() {
                if !allp(id).runq.is_empty() {
                    let got = pidleget(&mut lock());
                    if let Some(p) = got {
                        acquirep(m, p);
                        m.spinning.store(true, Ordering::Relaxed);
                        SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
                        continue 'top;
                    }
                    break;
                }
            }
        }
        stopm(m);
    }
}

/// How long a spinning M keeps looking for work before it parks. While one
/// spins, readying a goroutine wakes nobody (`wakep` sees the spinner), so
/// this bounds how often a busy P pays for a futex wake-up; Go's spinners
/// last about as long (their 3 µs usleep is ~50 µs with Linux timer slack).
const SPIN_NS: i64 = 50_000;
/// Pause between stealing rounds. Each round reads the victims' run queue
/// cache lines, which their owners write on every switch: polling them
/// continuously would slow the very Ps we hope to help.
const SPIN_ROUND_NS: i64 = 3_000;
/// A goroutine must sit in a busy P's `next` slot this long before a thief
/// takes it (see `steal_work`).
const NEXT_GRACE_NS: i64 = 40_000;

/// Steals from other Ps (and runs their overdue timers) as a spinning M,
/// for up to `SPIN_NS`, also watching the global and wake queues.
///
/// A victim's `next` slot is taken only if the same goroutine sat there,
/// with no switch on the victim, for `NEXT_GRACE_NS`: it was readied by a
/// hand-off and its P will run it as soon as the readier blocks, and
/// stealing it would split a producer/consumer pair across Ps and make them
/// fight over the channel's cache lines. (Go's thief waits "3 µs", which
/// Linux timer slack stretches to ~50 µs.)
fn steal_work(m: &M, p: &'static P) -> Option<*mut G> {
    let n = nprocs();
    if n == 1 {
        return None;
    }
    if !m.spinning.load(Ordering::Relaxed) {
        let busy = n - SCHED.npidle.load(Ordering::Relaxed);
        // Don't let more than half the busy Ps spin: spinning burns CPU.
        if 2 * SCHED.nmspinning.load(Ordering::Relaxed) >= busy {
            return None;
        }
        m.spinning.store(true, Ordering::Relaxed);
        SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
    }
    let until = clock::now() + SPIN_NS;
    let start = fastrand_n(n);
    // (victim id, its next goroutine, its schedtick), and since when.
    let mut seen_next: Option<((u32, *mut G, u32), i64)> = None;
    loop {
        let mut candidate = None;
        for i in 0..n {
            let victim = allp((start + i) % n);
            if core::ptr::eq(victim, p) {
                continue;
            }
            if victim.timers.next_when() <= clock::now() {
                victim.timers.run(clock::now());
                if let Some(g) = p.runq.get() {
                    return Some(g);
                }
            }
            if let Some(g) = p.runq.steal_from(&victim.runq) {
                return Some(g);
            }
            let next = victim.runq.peek_next();
            if !next.is_null() && candidate.is_none() {
                let key = (victim.id, next, victim.schedtick.load(Ordering::Relaxed));
                let since = match seen_next {
                    Some((k, since)) if k == key => since,
                    _ => clock::now(),
                };
                if clock::now() - since >= NEXT_GRACE_NS && victim.runq.take_next(next) {
                    return Some(next);
                }
                candidate = Some((key, since));
            }
        }
        seen_next = candidate;
        if SCHED.runq_len.load(Ordering::Relaxed) + SCHED.wakeq_len.load(Ordering::Relaxed) > 0
            || SCHED.stw_active.load(Ordering::Relaxed)
            || clock::now() > until
        {
            return None; // the caller looks at the global queues (or stops)
        }
        let pause_until = clock::now() + SPIN_ROUND_NS;
        while clock::now() < pause_until && !SCHED.stw_active.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
    }
}

/// Runs this P's due timers (a clock read only when it has timers).
fn run_timers(p: &P) {
    let next = p.timers.next_when();
    if next != i64::MAX {
        p.timers.run(clock::now());
    }
}

/// A stop-the-world is in progress: hand over our P and park until the
/// world starts again and gives us one.
fn stop_for_world(m: &'static M) {
    let mut lk = lock();
    if !SCHED.stw_active.load(Ordering::Relaxed) {
        return; // the world started again meanwhile
    }
    if m.spinning.swap(false, Ordering::Relaxed) {
        SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
    }
    let p = releasep(m);
    stop_p(&mut lk, p);
    drop(lk);
    stopm(m);
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
    let Some(m) = m::current() else { return on_thread() };
    let x = step(m.rand.get());
    m.rand.set(x);
    x
}

/// A uniform-enough random number in `0..n` (Lemire's multiply-shift: no
/// division on the select path).
#[inline]
pub fn fastrand_n(n: u32) -> u32 {
    ((fastrand() as u64 * n as u64) >> 32) as u32
}

// ---------------------------------------------------------------------------
// Goroutine lifecycle.

/// Spawns a goroutine. Returns 0 or an errno (ENOMEM).
pub fn spawn(entry: GoFn, arg: *mut libc::c_void, stack_size: usize, name: Option<&[u8]>) -> i32 {
    let rt = enter();
    let p = rt.as_ref().and_then(|_| m::current().unwrap().p());
    let (class, _) = g::class_for(stack_size);
    let Some(g) = g::get(p, class) else { return libc::ENOMEM };
    // SAFETY: a free G, ours until queued.
    let gr = unsafe { &*g };
    gr.id.store(next_goid(p), Ordering::Relaxed);
    gr.entry.set(Some(entry));
    gr.arg.set(arg);
    gr.set_name(name);
    gr.schedlink.store(ptr::null_mut(), Ordering::Relaxed);
    gr.bound_m.store(ptr::null_mut(), Ordering::Relaxed);
    gr.locked.set(0);
    gr.nopreempt.store(0, Ordering::Relaxed);
    gr.blocking.store(0, Ordering::Relaxed);
    gr.preempt.store(false, Ordering::Relaxed);
    gr.wait_reason.store(WaitReason::None as u32, Ordering::Relaxed);
    // SAFETY: the G's own stack, unused while the G is free.
    gr.ctx.set(unsafe { arch::init_stack(gr.stack_top(), g as usize) });
    gr.status.store(G_RUNNABLE, Ordering::Release);
    trace::go_create(g);
    match p {
        Some(p) => {
            P::bump(&p.nspawned);
            runq_put(p, g, true);
            wakep();
            // Back-pressure: a goroutine that fills its P's queue with new
            // goroutines lets them run before it makes more. They would
            // have to run anyway, and running them while their stacks are
            // still in cache beats spilling them to the global queue and
            // finding them cold later (a spawn loop keeps ~128 goroutines
            // alive instead of all of them).
            let m = m::current().unwrap();
            if p.runq.len() >= SPAWN_YIELD_AT && m.lockedg.load(Ordering::Relaxed).is_null() {
                switch_away(m, Tail::Requeue(m.curg.load(Ordering::Relaxed)));
            }
        }
        None => {
            SCHED.nspawned_nop.fetch_add(1, Ordering::Relaxed);
            globrunq_put(&mut lock(), g);
            wakep();
        }
    }
    0
}

/// Local queue length at which a spawning goroutine yields (see `spawn`).
const SPAWN_YIELD_AT: u32 = runq::RUNQ_SIZE as u32 / 2;

fn next_goid(p: Option<&P>) -> u64 {
    const BATCH: u64 = 16;
    let Some(p) = p else { return SCHED.goid_gen.fetch_add(1, Ordering::Relaxed) };
    let (next, end) = p.goid_cache.get();
    if next < end {
        p.goid_cache.set((next + 1, end));
        return next;
    }
    let base = SCHED.goid_gen.fetch_add(BATCH, Ordering::Relaxed);
    p.goid_cache.set((base + 1, base + BATCH));
    base
}

/// Where every goroutine starts (called by the arch trampoline on its stack).
pub extern "C" fn goroutine_main(g: *mut G) -> ! {
    finish_switch(m::current().unwrap());
    // SAFETY: our own G.
    let gr = unsafe { &*g };
    let (entry, arg) = (gr.entry.get().unwrap(), gr.arg.get());
    leave();
    // SAFETY: a fresh goroutine starts with errno 0, like a fresh thread.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: the user's entry point, called as documented.
    unsafe { entry(arg) };
    let rt = enter();
    core::mem::forget(rt);
    goexit()
}

fn goexit() -> ! {
    let m = m::current().unwrap();
    let g = m.curg.load(Ordering::Relaxed);
    // SAFETY: our own G, exiting.
    let gr = unsafe { &*g };
    if gr.locked.get() > 0 {
        // Like Go, a goroutine may exit while locked; unlike Go we keep the
        // thread and let it run other goroutines (documented).
        gr.locked.set(0);
        m.lockedg.store(ptr::null_mut(), Ordering::Relaxed);
    }
    match m.p() {
        Some(p) => P::bump(&p.nexited),
        None => {
            SCHED.nexited_nop.fetch_add(1, Ordering::Relaxed);
        }
    }
    trace::go_end(m, g);
    switch_away(m, Tail::Exit(g));
    unreachable!("an exited goroutine was resumed");
}

/// Parks the current goroutine (which is inside the runtime). `unlock(arg)`
/// runs once its context is saved; until then nobody can find it to wake it.
#[inline]
pub fn park(reason: WaitReason, unlock: Option<m::Unlock>) {
    let m = m::current().unwrap();
    let g = m.curg.load(Ordering::Relaxed);
    // SAFETY: the running G.
    unsafe {
        (*g).wait_reason.store(reason as u32, Ordering::Relaxed);
        (*g).status.store(G_WAITING, Ordering::Relaxed);
    }
    switch_away(m, Tail::Park(unlock));
}

/// `gort_yield`: let other goroutines run; on a plain thread, sched_yield.
pub fn yield_now() {
    let Some(_rt) = enter() else {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
        return;
    };
    let m = m::current().unwrap();
    if !others_waiting(m.p().unwrap()) || SCHED.stw_active.load(Ordering::Relaxed) {
        return; // nobody to yield to (in a stopped world, nobody may run)
    }
    switch_away(m, Tail::Requeue(m.curg.load(Ordering::Relaxed)));
}

/// Current goroutine, if the caller is one.
pub fn current_g() -> Option<&'static G> {
    let m = m::current()?;
    // SAFETY: Gs are never freed.
    unsafe { m.curg.load(Ordering::Relaxed).as_ref() }
}

pub fn lock_os_thread() -> i32 {
    let Some(_rt) = enter() else { return libc::EPERM };
    let m = m::current().unwrap();
    let g = m.curg();
    g.locked.set(g.locked.get() + 1);
    if g.locked.get() == 1 {
        g.bound_m.store(m as *const M as *mut M, Ordering::Relaxed);
        m.lockedg.store(g as *const G as *mut G, Ordering::Relaxed);
    }
    0
}

pub fn unlock_os_thread() -> i32 {
    let Some(_rt) = enter() else { return libc::EPERM };
    let m = m::current().unwrap();
    let g = m.curg();
    match g.locked.get() {
        0 => libc::EPERM,
        1 => {
            g.locked.set(0);
            g.bound_m.store(ptr::null_mut(), Ordering::Relaxed);
            m.lockedg.store(ptr::null_mut(), Ordering::Relaxed);
            0
        }
        n => {
            g.locked.set(n - 1);
            0
        }
    }
}

pub fn blocking_begin() {
    let Some(g) = current_g() else { return };
    if g.blocking.load(Ordering::Relaxed) > 0 {
        g.blocking.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let rt = enter();
    let g = m::current().unwrap().curg();
    g.blocking.store(1, Ordering::Relaxed);
    trace::blocking(g as *const G as *mut G, true);
    drop(rt); // leave() gives the P away
}

pub fn blocking_end() {
    let Some(g) = current_g() else { return };
    match g.blocking.load(Ordering::Relaxed) {
        0 => {}
        1 => {
            let rt = enter(); // BLOCKING: takes a P back first
            let g = m::current().unwrap().curg();
            g.blocking.store(0, Ordering::Relaxed);
            trace::blocking(g as *const G as *mut G, false);
            drop(rt);
        }
        n => g.blocking.store(n - 1, Ordering::Relaxed),
    }
}

pub fn nopreempt_begin() {
    if let Some(g) = current_g() {
        g.nopreempt.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn nopreempt_end() {
    if let Some(g) = current_g() {
        let _ = g.nopreempt.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Live goroutines: spawned minus exited, summed over Ps. Exits are read
/// before spawns, so a goroutine's exit is never counted without its spawn.
pub fn num_goroutines() -> u64 {
    let exited: u64 = SCHED.nexited_nop.load(Ordering::Acquire)
        + (0..SCHED.nallp.load(Ordering::Acquire)).map(|id| allp(id).nexited.load(Ordering::Acquire)).sum::<u64>();
    total_spawned().saturating_sub(exited)
}

/// Goroutines spawned since the runtime started.
pub fn total_spawned() -> u64 {
    SCHED.nspawned_nop.load(Ordering::Acquire)
        + (0..SCHED.nallp.load(Ordering::Acquire)).map(|id| allp(id).nspawned.load(Ordering::Acquire)).sum::<u64>()
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
/// claimed `m.ustate`: queues the running goroutine bound to `m`, hands `p`
/// on, and parks the thread until some scheduler hands it a P back, then
/// returns true with that P held. Returns false, changing nothing, when
/// there is nobody to hand `p` to (no spare M: the thread cap, or sysmon has
/// not made one yet) or nothing else to run.
///
/// Async-signal-safe: takes only the scheduler lock (never held by this
/// thread, which was in user code) and never creates threads.
pub fn stop_preempted(m: &'static M, p: Option<&'static P>) -> bool {
    let g = m.curg.load(Ordering::Relaxed);
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
            let st = lk.st();
            let local_first = st.wakeq.len > 0 || !p.runq.is_empty();
            match if local_first { None } else { pop_bound_head(&mut lk, p) } {
                Some(bm) => HandTo::BoundM(bm, p),
                None if local_first || lk.st().runq.len > 0 || others_queued(p) => match midleget(&mut lk) {
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
    // SAFETY: our own goroutine, stopped in the handler.
    unsafe {
        (*g).status.store(G_PREEMPTED, Ordering::Relaxed);
        (*g).bound_m.store(m as *const M as *mut M, Ordering::Relaxed);
    }
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
