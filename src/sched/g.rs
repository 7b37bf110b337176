//! G: a goroutine's control block, its states, and the pools of free Gs.
//!
//! A G lives at the top of its own stack slot (see `stack`), so a G and its
//! stack are allocated, pooled and reused together, and a goroutine that
//! used little stack costs one resident page. G memory is never returned to
//! the system; a free G keeps its slot in a pool:
//!
//! - each P keeps a small list of free Gs of the default stack size, so
//!   spawning and exiting on one P never takes a lock;
//! - global lists, one per stack class, take the overflow and serve plain
//!   threads and other sizes;
//! - sysmon gives back the deep stack pages of Gs sitting in the global
//!   lists (`scavenge`), a batch at a time, so resident memory follows live
//!   use. Each global list keeps used ("dirty") and trimmed Gs apart and
//!   hands out dirty ones first: their pages are still warm.
//!
//! Stack classes: class 0 is the default size (`GORTDEBUG=stacksize`);
//! custom sizes round up to a power of two from 16 KiB to 1 GiB.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::m::M;
use super::p::P;
use crate::cell::{AtomicRef, OwnedCell};
use crate::futex::Locked;
use crate::stack;

pub type GoFn = unsafe extern "C" fn(*mut c_void);

/// In a free pool.
pub const G_IDLE: u32 = 0;
/// On a run queue, ready to run.
pub const G_RUNNABLE: u32 = 1;
/// Running on an M.
pub const G_RUNNING: u32 = 2;
/// Parked: blocked on a channel, timer, mutex...
pub const G_WAITING: u32 = 3;
/// Stopped outside the runtime (by a preemption signal, or on its way back
/// from a blocking call) and queued bound to its M, which holds its registers.
pub const G_PREEMPTED: u32 = 4;

/// Why a goroutine is parked; shown by `scheddetail`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WaitReason {
    None = 0,
    ChanSend,
    ChanRecv,
    Select,
    Sleep,
    Mutex,
    WaitGroup,
    StopTheWorld,
}

/// Each reason's name, indexed by its value and NUL-terminated, so that
/// debuggers can read them too (see `diag::debugger`).
pub const WAIT_REASON_NAMES: [&str; 8] = [
    "\0",
    "chan send\0",
    "chan receive\0",
    "select\0",
    "sleep\0",
    "sync.Mutex\0",
    "sync.WaitGroup\0",
    "stop the world\0",
];

impl WaitReason {
    /// The reason stored as `v` in a `G`.
    pub fn from_u32(v: u32) -> Option<WaitReason> {
        const ALL: [WaitReason; 8] = [
            WaitReason::None,
            WaitReason::ChanSend,
            WaitReason::ChanRecv,
            WaitReason::Select,
            WaitReason::Sleep,
            WaitReason::Mutex,
            WaitReason::WaitGroup,
            WaitReason::StopTheWorld,
        ];
        ALL.into_iter().find(|r| *r as u32 == v)
    }

    pub fn as_str(self) -> &'static str {
        let name = WAIT_REASON_NAMES[self as usize];
        &name[..name.len() - 1]
    }
}

pub const NAME_LEN: usize = 48;

#[repr(C, align(64))]
pub struct G {
    /// Saved stack pointer while the goroutine is not running. Written by
    /// `arch::switch` as the goroutine leaves, read by whoever resumes it.
    pub ctx: OwnedCell<usize>,
    pub status: AtomicU32,
    /// Index into the pools (see the module comment).
    class: u32,
    pub id: AtomicU64,
    /// Lowest usable stack address; the stack's top is the G itself.
    pub stack_lo: usize,
    /// Usable stack bytes, as requested (the G takes its top bytes).
    pub stack_size: usize,
    /// Entry point and argument; set by the spawner before the G is queued.
    pub entry: OwnedCell<Option<GoFn>>,
    pub arg: OwnedCell<*mut c_void>,
    /// Link in run queues and free lists (whichever holds the G).
    pub schedlink: AtomicRef<G>,
    /// The only M this G may run on: set while it is locked to a thread
    /// (`gort_lock_os_thread`) and while its registers are held by a
    /// stopped M (preemption handler, return from a blocking call).
    pub bound_m: AtomicRef<M>,
    /// `gort_lock_os_thread` depth. Written by the goroutine only.
    pub locked: AtomicU32,
    /// `gort_nopreempt_begin` depth. The goroutine writes it; the preemption
    /// handler on the same thread reads it.
    pub nopreempt: AtomicU32,
    /// `gort_blocking_begin` depth. Same access rule as `nopreempt`.
    pub blocking: AtomicU32,
    /// Cooperative preemption request, checked at every runtime call.
    pub preempt: AtomicBool,
    pub wait_reason: AtomicU32,
    /// When the goroutine last parked, on the coarse clock
    /// (`clock::coarse_now`): a goroutine dump says how long it has waited.
    pub waitsince: AtomicI64,
    /// Where `gort_go` was called (its return address), for the dump's
    /// "created by". Written by the spawner before the G is queued.
    pub create_pc: AtomicUsize,
    pub name: OwnedCell<[u8; NAME_LEN]>,
}

impl G {
    /// A free G of stack class `class` whose usable stack is
    /// `[stack_lo, stack_lo + stack_size)`.
    fn new(class: u32, stack_lo: usize, stack_size: usize) -> G {
        G {
            ctx: OwnedCell::new(0),
            status: AtomicU32::new(G_IDLE),
            class,
            id: AtomicU64::new(0),
            stack_lo,
            stack_size,
            entry: OwnedCell::new(None),
            arg: OwnedCell::new(ptr::null_mut()),
            schedlink: AtomicRef::none(),
            bound_m: AtomicRef::none(),
            locked: AtomicU32::new(0),
            nopreempt: AtomicU32::new(0),
            blocking: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            wait_reason: AtomicU32::new(0),
            waitsince: AtomicI64::new(0),
            create_pc: AtomicUsize::new(0),
            name: OwnedCell::new([0; NAME_LEN]),
        }
    }

    /// A G that owns no stack, for tests of the structures that queue Gs.
    #[cfg(test)]
    pub fn leak_for_test() -> &'static G {
        Box::leak(Box::new(G::new(0, 0, 0)))
    }

    /// The top of this G's stack: the G sits just above it.
    pub fn stack_top(&self) -> usize {
        ptr::from_ref(self) as usize
    }

    pub fn name_str(&self) -> &str {
        // SAFETY: the name is written only while the G is not yet queued.
        let bytes = unsafe { &*self.name.as_ptr() };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        core::str::from_utf8(&bytes[..len]).unwrap_or("?")
    }

    /// Copies `name` (truncated at a character boundary, NUL-terminated).
    ///
    /// # Safety
    /// The caller owns the G: it is free, not yet queued (see `name`).
    pub unsafe fn set_name(&self, name: Option<&[u8]>) {
        // No allocation here (spawn holds a P; see mapvec.rs): keep the
        // longest valid UTF-8 prefix that fits.
        let mut buf = [0u8; NAME_LEN];
        if let Some(name) = name {
            let cut = &name[..name.len().min(NAME_LEN - 1)];
            let n = match core::str::from_utf8(cut) {
                Ok(s) => s.len(),
                Err(e) => e.valid_up_to(),
            };
            buf[..n].copy_from_slice(&cut[..n]);
        }
        // SAFETY: the name's owner, per the caller.
        unsafe { self.name.set(buf) };
    }

    pub fn id(&self) -> u64 {
        self.id.load(Ordering::Relaxed)
    }

    /// Where the G of the stack slot whose top is `top` lives: at the very
    /// top, rounded to a cache line (see `stack`).
    pub fn in_slot(top: usize) -> *mut G {
        (top - core::mem::size_of::<G>().next_multiple_of(64)) as *mut G
    }
}

/// A singly linked list of Gs through `schedlink` (a LIFO).
pub struct GList {
    head: Option<&'static G>,
    pub len: u32,
}

impl GList {
    pub const fn new() -> GList {
        GList { head: None, len: 0 }
    }

    /// Pushes `g`, which no other list or queue holds.
    pub fn push(&mut self, g: &'static G) {
        g.schedlink.store(self.head, Ordering::Relaxed);
        self.head = Some(g);
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<&'static G> {
        let g = self.head?;
        self.head = g.schedlink.load(Ordering::Relaxed);
        self.len -= 1;
        Some(g)
    }
}

/// Stack classes: 0 = default, then powers of two 2^14..=2^30.
const NCLASSES: usize = 18;
/// A P keeps at most this many free Gs; beyond it, half go global.
const P_FREE_MAX: u32 = 64;

/// Most stacks sysmon trims in one pass, so a burst of exits never keeps
/// it from its other duties for long.
const SCAVENGE_BATCH: u32 = 256;

/// A class's global free Gs: `dirty` ones ran since their deep pages were
/// last given back; `clean` ones did not.
struct FreeLists {
    dirty: GList,
    clean: GList,
}

impl FreeLists {
    fn pop(&mut self) -> Option<&'static G> {
        self.dirty.pop().or_else(|| self.clean.pop())
    }
}

static GLOBAL_FREE: [Locked<FreeLists>; NCLASSES] =
    [const { Locked::new(FreeLists { dirty: GList::new(), clean: GList::new() }) }; NCLASSES];

/// Stack size and class for a requested size (0 = default).
pub fn class_for(requested: usize) -> (u32, usize) {
    let default = super::cfg().stack_size;
    if requested == 0 || stack::round_size(requested) == default {
        return (0, default);
    }
    let size = stack::round_size(requested).next_power_of_two();
    (size.trailing_zeros() - 13, size)
}

fn class_size(class: u32) -> usize {
    if class == 0 { super::cfg().stack_size } else { 1usize << (class + 13) }
}

/// Takes a free G of `class`, from P's list when `p` is given. Returns None
/// when no memory is left for a new stack.
pub fn get(p: Option<&P>, class: u32) -> Option<&'static G> {
    if class == 0
        && let Some(p) = p
    {
        // SAFETY: the caller holds p; its free list is ours.
        let local = unsafe { p.gfree.get_mut() };
        if let Some(g) = local.pop() {
            return Some(g);
        }
        let mut global = GLOBAL_FREE[0].lock();
        while local.len < P_FREE_MAX / 2 {
            match global.pop() {
                Some(g) => local.push(g),
                None => break,
            }
        }
        drop(global);
        if let Some(g) = local.pop() {
            return Some(g);
        }
        if !refill(class, local) {
            return None;
        }
        return local.pop();
    }
    let mut global = GLOBAL_FREE[class as usize].lock();
    if let Some(g) = global.pop() {
        return Some(g);
    }
    if !refill(class, &mut global.clean) {
        return None;
    }
    global.pop()
}

/// Returns an exited G to a free list. Out of line: inlined into
/// `finish_switch`, it gave every switch a larger frame.
#[inline(never)]
pub fn put(p: Option<&P>, g: &'static G) {
    g.status.store(G_IDLE, Ordering::Relaxed);
    if g.class == 0
        && let Some(p) = p
    {
        // SAFETY: the caller holds p.
        let local = unsafe { p.gfree.get_mut() };
        local.push(g);
        if local.len > P_FREE_MAX {
            let mut global = GLOBAL_FREE[0].lock();
            while local.len > P_FREE_MAX / 2 {
                global.dirty.push(local.pop().unwrap());
            }
        }
        return;
    }
    GLOBAL_FREE[g.class as usize].lock().dirty.push(g);
}

/// Moves a P's free Gs to the global pool (the P is going away).
pub fn drain_local(p: &P) {
    // SAFETY: called inside a stopped world, where nobody holds p.
    let local = unsafe { p.gfree.get_mut() };
    let mut global = GLOBAL_FREE[0].lock();
    while let Some(g) = local.pop() {
        global.dirty.push(g);
    }
}

/// Maps a new region of stacks for `class` and puts its Gs on `list`.
fn refill(class: u32, list: &mut GList) -> bool {
    let size = class_size(class);
    stack::map_region(size, |top| {
        let slot = G::in_slot(top);
        // SAFETY: the top of a fresh slot: mapped, writable, unused, aligned.
        // Slots are never unmapped, so the G lives as long as the process.
        let g: &'static G = unsafe {
            slot.write(G::new(class, top - size, size));
            &*slot
        };
        list.push(g);
    })
}

/// Gives back the deep stack pages of up to a batch of dirty Gs in the
/// global lists (sysmon). Returns how many stacks were trimmed.
pub fn scavenge() -> u32 {
    let mut trimmed = 0;
    for list in &GLOBAL_FREE {
        let mut batch = GList::new();
        {
            let mut lists = list.lock();
            while batch.len < SCAVENGE_BATCH - trimmed {
                match lists.dirty.pop() {
                    Some(g) => batch.push(g),
                    None => break,
                }
            }
        }
        if batch.len == 0 {
            continue;
        }
        trimmed += batch.len;
        let mut done = GList::new();
        while let Some(g) = batch.pop() {
            // Free Gs taken out of the pool: nobody else sees them.
            stack::release_deep(g.stack_lo, g.stack_top(), stack::PAGE);
            done.push(g);
        }
        let mut lists = list.lock();
        while let Some(g) = done.pop() {
            lists.clean.push(g);
        }
        if trimmed >= SCAVENGE_BATCH {
            break;
        }
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_a_character_boundary() {
        let g = G::leak_for_test();
        let long = "x".repeat(100);
        // A two-byte character straddling the cut is left out whole.
        let accented = "\u{e9}".repeat(NAME_LEN / 2);
        let cases: [(&[u8], String); 4] = [
            (b"worker", "worker".into()),
            (long.as_bytes(), "x".repeat(NAME_LEN - 1)),
            (accented.as_bytes(), "\u{e9}".repeat(NAME_LEN / 2 - 1)),
            (b"bad \xff utf-8", "bad ".into()),
        ];
        for (name, want) in cases {
            // SAFETY: a G of this test's own, in no queue.
            unsafe { g.set_name(Some(name)) };
            assert_eq!(g.name_str(), want);
        }
        // SAFETY: as above.
        unsafe { g.set_name(None) };
        assert_eq!(g.name_str(), "");
    }
}
