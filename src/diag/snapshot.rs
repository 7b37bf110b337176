//! The raw material of a goroutine dump, gathered without allocating.
//!
//! [`Snapshot::collect`] runs while the world is stopped (or, for a fatal
//! error, while the process is dying): no goroutine but the caller runs user
//! code, and one may hold malloc's lock. It walks every goroutine slot (the
//! runtime keeps no list of goroutines; every G sits at the top of a stack
//! slot, and the stack registry lists the slots), copies what the dump
//! prints about each live goroutine into records made beforehand, and walks
//! its stack into a frame arena made beforehand. What does not fit is
//! counted, not grown.
//!
//! Where each stack starts:
//!
//! - a goroutine that is parked, queued or yielded: the registers `switch`
//!   saved on its stack;
//! - one stopped by a preemption signal: the interrupted context, which its
//!   M keeps while it waits in the handler (`M::held`); one back from a C
//!   call and waiting for a P, or inside `gort_blocking_begin/end`: where
//!   its M noted it stopped (the runtime call, `gort_blocking_begin`);
//! - the calling goroutine: here; the goroutine of a fatal error: its
//!   signal context;
//! - one running C code on a thread whose P was taken: no stack (it changes
//!   under our feet), said so.

use core::sync::atomic::Ordering;

use super::unwind::{self, End, Objects};
use crate::arch::{self, Regs};
use crate::sched::g::{G, G_IDLE, G_PREEMPTED, G_RUNNABLE, G_RUNNING, G_WAITING, NAME_LEN, WaitReason};
use crate::sched::m::{M, U_BLOCKING, ustate_kind};
use crate::sched::{self, all_ms};
use crate::{clock, stack};

/// Most frames kept per goroutine (Go prints at most 100 too).
pub const MAX_FRAMES: usize = 100;

/// What the dump says a goroutine is doing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The goroutine that asked for the dump, or that a fatal error stopped.
    Current,
    Runnable,
    Waiting(WaitReason),
    /// Stopped by a preemption signal (or back from a C call, waiting for a
    /// P), its thread holding its registers.
    Preempted,
    /// Inside `gort_blocking_begin/end`, running C code on its thread.
    BlockingCall,
    /// Running C code on a thread whose P was taken, or otherwise out of
    /// reach.
    Running,
}

/// Where a goroutine's frames came from, or why there are none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stack {
    Walked(End),
    /// Running on another thread: its stack changes under our feet.
    Unavailable,
    /// Never ran: the dump names its entry function instead.
    NotStarted,
    /// The frame arena was full.
    NoRoom,
}

/// One goroutine, as copied while the world was stopped.
#[derive(Clone, Copy)]
pub struct Record {
    pub id: u64,
    pub state: State,
    pub locked: bool,
    pub name: [u8; NAME_LEN],
    /// The goroutine's entry function.
    pub entry: usize,
    /// Where it was spawned (a return address; 0: unknown).
    pub create_pc: usize,
    /// How long a parked goroutine has waited, in ns (0: not parked).
    pub waited: i64,
    /// Frames in the arena: `frames_at..frames_at + nframes`.
    pub frames_at: usize,
    pub nframes: usize,
    pub stack: Stack,
}

impl Record {
    pub fn name(&self) -> &[u8] {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        &self.name[..len]
    }
}

/// Records and frames of one dump, allocated before the world stops.
pub struct Snapshot {
    pub records: Vec<Record>,
    pub frames: Vec<usize>,
    /// Live goroutines that found no free record.
    pub unlisted: usize,
}

impl Snapshot {
    /// Room for `goroutines` records and an average of `frames_each` frames.
    pub fn with_capacity(goroutines: usize, frames_each: usize) -> Snapshot {
        let nframes = goroutines.saturating_mul(frames_each).max(MAX_FRAMES);
        Snapshot { records: Vec::with_capacity(goroutines), frames: vec![0; nframes], unlisted: 0 }
    }

    /// Room enough for the goroutines alive now, with a margin for those
    /// spawned before the world stops.
    pub fn for_live_goroutines() -> Snapshot {
        let live = sched::num_goroutines() as usize;
        Snapshot::with_capacity(live + live / 4 + 64, 24)
    }

    /// Copies every live goroutine (with `only_current`, just `current`).
    /// Allocates nothing: records beyond the capacity are counted in
    /// `unlisted`.
    pub fn collect(&mut self, objects: &mut Objects, current: Current, only_current: bool) {
        let here = arch::here();
        let now = clock::now();
        let mut used = 0;
        stack::for_each_slot(|top| {
            let g = g_at_slot_top(top);
            // Acquire: a G's fields are set before it leaves G_IDLE.
            let status = g.status.load(Ordering::Acquire);
            let start = match current {
                Current::Caller(c) if core::ptr::eq(c, g) => Some((State::Current, Some((here, false)))),
                Current::Failing(c, regs) if core::ptr::eq(c, g) => Some((State::Current, Some((regs, true)))),
                _ => None,
            };
            if status == G_IDLE || (only_current && start.is_none()) {
                return;
            }
            if self.records.len() == self.records.capacity() {
                self.unlisted += 1;
                return;
            }
            let (state, regs) = start.unwrap_or_else(|| match status {
                G_RUNNABLE | G_WAITING => {
                    let state = if status == G_WAITING { State::Waiting(wait_reason(g)) } else { State::Runnable };
                    let stack = g.stack_lo..g.stack_top();
                    let read = |a: usize| unwind::read_stack_word(&stack, a);
                    // SAFETY: the saved stack pointer of a goroutine that is
                    // not running (none runs while the world is stopped).
                    let ctx = unsafe { g.ctx.get() };
                    (state, arch::switched_out_regs(ctx, read).map(|r| (r, false)))
                }
                G_PREEMPTED => (State::Preempted, g.bound_m.load(Ordering::Relaxed).map(|m| m.held.get())),
                G_RUNNING => match blocking_m(g) {
                    Some(m) => (State::BlockingCall, Some(m.held.get())),
                    None => (State::Running, None),
                },
                _ => (State::Running, None),
            });
            let waitsince = g.waitsince.load(Ordering::Relaxed);
            let mut record = Record {
                id: g.id(),
                state,
                locked: g.locked.load(Ordering::Relaxed) > 0,
                // SAFETY: a name is written only while its G is not yet
                // queued; this one is live, and nothing runs it now.
                name: unsafe { *g.name.as_ptr() },
                // SAFETY: written by the spawner before the G left G_IDLE.
                entry: unsafe { g.entry.get() }.map_or(0, |f| f as usize),
                create_pc: g.create_pc.load(Ordering::Relaxed),
                waited: if status == G_WAITING && waitsince > 0 { (now - waitsince).max(0) } else { 0 },
                frames_at: used,
                nframes: 0,
                stack: Stack::Unavailable,
            };
            match regs {
                // A goroutine that has never run "returns" into the trampoline.
                Some((regs, _)) if arch::trampoline_range().contains(&regs.pc) => record.stack = Stack::NotStarted,
                Some((regs, exact)) => {
                    let room = (self.frames.len() - used).min(MAX_FRAMES);
                    let out = &mut self.frames[used..used + room];
                    let (n, end) = objects.walk(regs, exact, g.stack_lo..g.stack_top(), out);
                    record.nframes = n;
                    record.stack = match end {
                        End::Truncated if room < MAX_FRAMES => Stack::NoRoom,
                        end => Stack::Walked(end),
                    };
                    used += n;
                }
                None => {}
            }
            self.records.push(record);
        });
    }
}

/// The goroutine whose stack is walked from registers the caller has.
#[derive(Clone, Copy)]
pub enum Current<'a> {
    None,
    /// The calling goroutine: from this very call.
    Caller(&'a G),
    /// A goroutine stopped by a fatal signal: from its signal context.
    Failing(&'a G, Regs),
}

/// The G at the top of a stack slot (see `stack`).
fn g_at_slot_top(top: usize) -> &'static G {
    let gsize = core::mem::size_of::<G>().next_multiple_of(64);
    // SAFETY: every registered slot holds a G at its top, written when the
    // slot was made (zeroed memory, G_IDLE, before that) and never freed.
    unsafe { &*((top - gsize) as *const G) }
}

fn wait_reason(g: &G) -> WaitReason {
    WaitReason::from_u32(g.wait_reason.load(Ordering::Relaxed)).unwrap_or(WaitReason::None)
}

/// The M running `g` inside `gort_blocking_begin/end`, if it is.
fn blocking_m(g: &G) -> Option<&'static M> {
    all_ms().find(|m| m.curg.is(g, Ordering::Relaxed) && ustate_kind(m.ustate.load(Ordering::Relaxed)) == U_BLOCKING)
}
