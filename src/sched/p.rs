//! P: a processor, the right to run goroutines. There are `GORTMAXPROCS` of
//! them; an M runs goroutines only while it holds one. A P owns what must be
//! cheap to reach without locks: the local run queue, the free Gs, a timer
//! heap, and counters.

use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::g::GList;
use super::m::M;
use super::runq::RunQueue;
use super::timer::TimerHeap;
use crate::cell::{AtomicRef, OwnedCell};

/// On the idle list, held by no M.
pub const P_IDLE: u32 = 0;
/// Held by an M.
pub const P_RUNNING: u32 = 1;
/// Handed to a stop-the-world in progress.
pub const P_STOPPED: u32 = 2;

pub struct P {
    pub id: u32,
    pub status: AtomicU32,
    /// The M holding this P (None when idle or stopped).
    pub m: AtomicRef<M>,
    /// Link in the idle list. Owner: the scheduler lock.
    pub link: AtomicRef<P>,
    /// The M this P was last handed to (`hand_p`). While that M's `nextp`
    /// still points here the hand-off is in flight, and a stop-the-world
    /// may take the P back (`take_handed`) instead of waiting for the M.
    pub handed_to: AtomicRef<M>,
    /// Whether the M that the chores thread makes for this P should spin.
    pub start_spinning: AtomicBool,
    pub runq: RunQueue,
    /// Goroutine switches on this P; sysmon compares it between looks to
    /// tell how long the current goroutine has been running.
    pub schedtick: AtomicU32,
    pub timers: TimerHeap,
    /// Free Gs of the default stack class. Owner: the M holding this P.
    pub gfree: OwnedCell<GList>,
    /// A block of goroutine ids to hand out: [next, end). Owner: as gfree.
    pub goid_cache: OwnedCell<(u64, u64)>,
    /// Goroutines spawned and exited on this P. Written only by the holder
    /// (plain stores), summed by readers.
    pub nspawned: AtomicU64,
    pub nexited: AtomicU64,
    /// sysmon's memory of this P. Owner: sysmon.
    pub watch: OwnedCell<Watch>,
    /// When the current goroutine was first seen running by sysmon (ns), for
    /// scheddetail and wake-up preemption; written by sysmon.
    pub run_since: AtomicI64,
    /// A hand-off waiting in `runq.next` without a spinning M woken for it
    /// (`HANDOFF_*`, see `sched::ready`). Owner: the M holding this P.
    pub handoff: OwnedCell<u8>,
}

/// `P::handoff`: nothing pending.
pub const HANDOFF_NONE: u8 = 0;
/// A goroutine was readied into `next`; its readier is still running.
pub const HANDOFF_READIED: u8 = 1;
/// ... and the readier has gone back to user code once since.
pub const HANDOFF_LEFT: u8 = 2;

/// What sysmon saw of a P at its previous looks.
#[derive(Clone, Copy, Default)]
pub struct Watch {
    pub schedtick: u32,
    /// When `schedtick` was first seen with its current value.
    pub since: i64,
    /// CPU clock of the holding thread at the previous look (-1: not read),
    /// and when it was read.
    pub cpu: i64,
    pub cpu_at: i64,
}

impl P {
    pub fn new(id: u32) -> P {
        P {
            id,
            status: AtomicU32::new(P_IDLE),
            m: AtomicRef::none(),
            link: AtomicRef::none(),
            handed_to: AtomicRef::none(),
            start_spinning: AtomicBool::new(false),
            runq: RunQueue::new(),
            schedtick: AtomicU32::new(0),
            timers: TimerHeap::new(),
            gfree: OwnedCell::new(GList::new()),
            goid_cache: OwnedCell::new((0, 0)),
            nspawned: AtomicU64::new(0),
            nexited: AtomicU64::new(0),
            watch: OwnedCell::new(Watch { cpu: -1, ..Watch::default() }),
            run_since: AtomicI64::new(0),
            handoff: OwnedCell::new(HANDOFF_NONE),
        }
    }

    /// Bumps a holder-written counter without a read-modify-write.
    pub fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub fn tick(&self) {
        self.schedtick.store(self.schedtick.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
}
