//! The scheduler: goroutines multiplexed over OS threads.
//!
//! Vocabulary (Go's, used everywhere in gort: names, traces, schedtrace):
//!
//! - **G**, a goroutine: a user-space stackful coroutine (`g`).
//! - **M**, a machine: an OS thread the runtime owns (`m`).
//! - **P**, a processor: the right to run goroutines; `GORTMAXPROCS` of
//!   them (`p`). An M runs goroutines only while it holds a P.
//!
//! This file holds the global state, `SCHED`: the global run queue, the
//! wake queue and the idle lists of Ps and Ms behind one short-held lock
//! (`lock`), with counters beside them that are read without it. It also
//! starts the runtime and owns the set of Ps (`alloc_ps`, `resize`, `allp`)
//! and the list of Ms (`all_ms`). The scheduler's mechanisms have a file
//! each, which opens with its part of the story; read them in this order:
//!
//! - `runq`: the run queues: each P's local ring with its `next` slot, the
//!   global queue and the wake queue.
//! - `schedule`: switching from one goroutine to the next, and finding the
//!   next one (`find_runnable`, stealing).
//! - `idle`: idle Ps and Ms: handing a P to a thread, parking and waking
//!   threads, spinning.
//! - `enter`: entering and leaving the runtime from a goroutine.
//! - `bound`: goroutines that may run on one M only (locked to it, or
//!   stopped with their registers held by it).
//! - `goroutine`: a goroutine's life: spawn, park and ready, yield, exit.
//! - `g`, `m`, `p`: the three structures; `park`: waiting as a goroutine or
//!   as a thread; `timer`: timer heaps; `sysmon`: the watchdog thread;
//!   `chores`: the work that may block on libc's locks.
//!
//! Invariants worth knowing before editing:
//! - Runtime code running on a goroutine never keeps `&M` across a switch:
//!   the goroutine may resume on another thread. Re-read `m::current()`.
//! - The scheduler lock is held only for short, non-blocking sections; it
//!   may be taken in the preemption handler (see `futex::lock`).
//! - Ps, Ms and Gs are never freed: a reference to one is `&'static`, and
//!   they point at one another with `AtomicRef`s.

mod bound;
pub mod chores;
mod enter;
pub mod g;
mod goroutine;
mod idle;
pub mod m;
pub mod p;
pub mod park;
pub mod runq;
mod schedule;
pub mod sysmon;
pub mod timer;

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

pub use self::bound::stop_preempted;
pub use self::enter::enter;
pub use self::goroutine::{
    blocking_begin, blocking_end, current_g, goroutine_main, lock_os_thread, nopreempt_begin, nopreempt_end,
    num_goroutines, park, ready, spawn, total_spawned, unlock_os_thread, yield_now,
};
use self::idle::{acquirep, handoffp, newm, releasep};
pub use self::idle::{hand_p, pidleget, pidleput, startm, stop_p, take_handed, wakep};
use self::m::M;
use self::p::{P, P_STOPPED};
pub use self::runq::others_waiting;
use self::runq::{GQueue, global_work, globrunq_put};
use crate::cell::AtomicRef;
use crate::config::{Config, MAX_PROCS};
use crate::futex::{Locked, LockedGuard};
use crate::{preempt, trace};

/// State behind the scheduler lock.
pub struct SchedState {
    pub runq: GQueue,
    pub wakeq: GQueue,
    pidle: Option<&'static P>,
    midle: Option<&'static M>,
    /// Ps waiting for the chores thread to make them an M.
    pub pstart: Option<&'static P>,
}

pub struct Sched {
    state: Locked<SchedState>,
    pub nprocs: AtomicU32,
    /// Ps ever allocated (>= nprocs after a shrink); they are never freed.
    pub nallp: AtomicU32,
    pub allp: [AtomicRef<P>; MAX_PROCS as usize],
    /// Every M, newest first (push-only).
    pub allm: AtomicRef<M>,
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
    state: Locked::new(SchedState {
        runq: GQueue::new(),
        wakeq: GQueue::new(),
        pidle: None,
        midle: None,
        pstart: None,
    }),
    nprocs: AtomicU32::new(0),
    nallp: AtomicU32::new(0),
    allp: [const { AtomicRef::none() }; MAX_PROCS as usize],
    allm: AtomicRef::none(),
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

/// The scheduler lock, held for the guard's lifetime. Functions that need
/// the lock held take `&mut SchedGuard`.
pub type SchedGuard = LockedGuard<'static, SchedState>;

#[inline]
pub fn lock() -> SchedGuard {
    SCHED.state.lock()
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
    crate::signal::capture_program_mask();
    crate::stack::overflow::install_handler();
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
    crate::diag::init();
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
        SCHED.allp[id as usize].store(Some(p), Ordering::Release);
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

/// P `id`, which must be below `nallp` (every P below `nprocs` is).
#[inline]
pub fn allp(id: u32) -> &'static P {
    SCHED.allp[id as usize].load(Ordering::Acquire).expect("a P below nallp")
}

pub fn nprocs() -> u32 {
    SCHED.nprocs.load(Ordering::Acquire)
}

/// Iterates over all Ms.
pub fn all_ms() -> impl Iterator<Item = &'static M> {
    core::iter::successors(SCHED.allm.load(Ordering::Acquire), |m| m.alllink.load(Ordering::Acquire))
}
