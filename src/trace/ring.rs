//! Per-thread event rings: where hooks put their records.
//!
//! Every thread that emits trace events owns one [`Ring`]: a single-producer
//! single-consumer ring of fixed-size binary [`Rec`]ords. The producer is the
//! owning thread, in normal context or in the SIGURG handler; the consumer is
//! whoever holds the ring's `flushing` flag (the owner itself when the ring is
//! full, or the exit flush). Appending is a few stores and one release store:
//! no lock, no system call, no allocation once the ring exists.
//!
//! Finding the calling thread's ring without TLS that could allocate:
//!
//! - runtime threads (Ms) use a table indexed by M id, reached through the
//!   runtime's own initial-exec TLS slot (`m::current()`), which is safe in
//!   a signal handler. The ring is made on the M's first event; rings and
//!   table chunks are `mmap`ed, which is async-signal-safe, so even a first
//!   event inside the handler would be fine. Ms never exit, so their rings
//!   are never given back.
//! - other threads (the program's own, sysmon, the chores thread) find
//!   theirs by thread id in a fixed table (one `gettid` system call per
//!   event), without TLS or malloc: sysmon must never wait for malloc's
//!   lock. A thread that reuses a dead thread's id reuses its ring.
//!
//! Every ring ever made sits on a push-only list ([`for_each`]) so the exit
//! flush finds them all. Rings are never freed. Nothing on these paths
//! allocates with malloc or takes a lock.
//!
//! Reentrancy: `busy` is set while the owner appends. A signal handler that
//! interrupts an append on the same thread finds it set and drops its record
//! (counted) instead of corrupting the slot. In practice the handler only
//! stops goroutines running user code, never inside a hook, so this does not
//! happen; the guard makes it impossible rather than unlikely.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering, compiler_fence,
};

use crate::cell::AtomicRef;
use crate::sched::g::NAME_LEN;
use crate::sched::m;

/// Records per ring. A full ring is flushed by its owner where that is
/// allowed, and drops records (counted) where it is not.
pub const CAP: usize = 4096;
/// Size of the JSON text buffer a consumer formats into before one write(2).
pub const TEXT_CAP: usize = 64 << 10;

/// One event, as the hooks record it; formatted to JSON only when flushed.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Rec {
    /// Event time (start, for slices), ns on `clock::now()`'s scale.
    pub ts: i64,
    /// Slices: duration in ns.
    pub dur: i64,
    /// Goroutine id (0: none).
    pub gid: u64,
    /// Kind-specific: M id, wait reason, event count.
    pub arg: u64,
    /// Track (Chrome `tid`): a P id, or one of the `*_TID` tracks.
    pub tid: u32,
    pub kind: u8,
    /// Kind-specific code (why a slice ended, which instant).
    pub code: u8,
    pub name_len: u8,
    pub _pad: u8,
    pub name: [u8; NAME_LEN],
}

impl Rec {
    pub const fn new(kind: u8, code: u8, tid: u32, ts: i64) -> Rec {
        Rec { ts, dur: 0, gid: 0, arg: 0, tid, kind, code, name_len: 0, _pad: 0, name: [0; NAME_LEN] }
    }
}

pub struct Ring {
    /// Next ring on the all-rings list (set before the ring is published).
    next: AtomicRef<Ring>,
    /// The owner is inside `push` (see the module comment). Owner only.
    busy: AtomicBool,
    /// Records written: published by the producer with Release.
    head: AtomicUsize,
    /// Records consumed: published by the consumer with Release.
    tail: AtomicUsize,
    /// The consumer lock: whoever sets it may read records and `text`.
    flushing: AtomicBool,
    /// Records dropped because the ring was full or busy.
    pub dropped: AtomicU64,
    /// M rings: when the M's goroutine entered a marked blocking call (0:
    /// not in one) and its id. Owner: the M's thread.
    pub blocking_since: AtomicI64,
    pub blocking_gid: AtomicU64,
    /// M rings: `trace::preempt_async` ran for the preemption now being
    /// resumed, so the late `trace::preempt(.., true)` is redundant.
    pub async_marked: AtomicBool,
    /// M rings: the M track got its name.
    pub named: AtomicBool,
    slots: [UnsafeCell<MaybeUninit<Rec>>; CAP],
    /// Consumer's formatting buffer. Owner: the holder of `flushing`.
    pub text: UnsafeCell<[u8; TEXT_CAP]>,
}

// SAFETY: the shared fields are atomics; `slots` follow the SPSC protocol
// (the producer writes only slots in [head, tail + CAP), the consumer reads
// only [tail, head)); `text` belongs to the holder of `flushing`.
unsafe impl Sync for Ring {}

static ALL: AtomicRef<Ring> = AtomicRef::none();
/// Events dropped because their thread had no ring (table full, no memory).
pub static NO_RING_DROPS: AtomicU64 = AtomicU64::new(0);

/// Maps zeroed memory for a `T` whose all-zero bit pattern is a valid value.
/// Async-signal-safe (one system call). None when out of memory.
fn map_zeroed<T>() -> Option<*mut T> {
    // SAFETY: a fresh private anonymous mapping; no existing memory touched.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            core::mem::size_of::<T>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p as *mut T)
}

/// A new ring, owned by the caller, on the all-rings list.
fn new_ring() -> Option<&'static Ring> {
    // A zeroed Ring is valid: atomics at 0/false/null, slots uninitialised.
    let r = map_zeroed::<Ring>()?;
    // SAFETY: just mapped, zeroed, ours; never unmapped.
    let r: &'static Ring = unsafe { &*r };
    ALL.push(r, |r| &r.next);
    Some(r)
}

/// Calls `f` on every ring ever made.
pub fn for_each(mut f: impl FnMut(&'static Ring)) {
    // `next` was set before publication.
    let mut cur = ALL.load(Ordering::Acquire);
    while let Some(r) = cur {
        f(r);
        cur = r.next.load(Ordering::Relaxed);
    }
}

// --- Rings of Ms: a two-level table indexed by M id. ---

const CHUNK: usize = 1024;
/// All-zero is valid: every slot None.
type Chunk = [AtomicRef<Ring>; CHUNK];
/// Covers M ids below 1024 * 1024 (`maxthreads` is at most 1,000,000).
static MTAB: [AtomicPtr<Chunk>; 1024] = [const { AtomicPtr::new(ptr::null_mut()) }; 1024];

/// The ring of M `id`; creates it on first use. Must be called on that M's
/// thread (the only writer of its slot). Async-signal-safe.
pub fn of_m(id: u32) -> Option<&'static Ring> {
    let (hi, lo) = (id as usize / CHUNK, id as usize % CHUNK);
    let top = MTAB.get(hi)?;
    let mut chunk = top.load(Ordering::Acquire);
    if chunk.is_null() {
        let fresh = map_zeroed::<Chunk>()?;
        // AcqRel: publish our zeroed chunk, or see the winner's.
        match top.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => chunk = fresh,
            Err(winner) => {
                // SAFETY: our own unpublished mapping.
                unsafe { libc::munmap(fresh as *mut libc::c_void, core::mem::size_of::<Chunk>()) };
                chunk = winner;
            }
        }
    }
    // SAFETY: published chunks are never freed.
    let slot = unsafe { &(*chunk)[lo] };
    if let Some(r) = slot.load(Ordering::Acquire) {
        return Some(r);
    }
    let r = new_ring()?;
    slot.store(Some(r), Ordering::Release);
    Some(r)
}

// --- Rings of other threads: a table keyed by thread id. ---
//
// No thread-local storage: a Rust `thread_local!` with a destructor
// registers it with malloc on first use, and in a dlopen()ed library even
// a plain TLS access may allocate the thread's TLS block. sysmon and the
// chores thread must never wait for malloc's lock (a goroutine preempted
// inside malloc holds it until it gets a P back), so they look their ring up
// by `gettid()` in an open-addressing table instead. A thread id is unique
// among live threads; when the kernel reuses the id of a thread that has
// exited, the new thread takes over the old one's ring, records and all
// (thread exit and creation order memory, so it sees the old head).

const TID_SLOTS: usize = 4096;
/// Thread id owning each slot (0: free). Slots are never freed.
static TID_KEYS: [AtomicI32; TID_SLOTS] = [const { AtomicI32::new(0) }; TID_SLOTS];
static TID_RINGS: [AtomicRef<Ring>; TID_SLOTS] = [const { AtomicRef::none() }; TID_SLOTS];

/// The ring of a thread that is not an M (None if the table is full or
/// memory ran out: the event is dropped). No allocation, no lock.
fn of_plain_thread() -> Option<&'static Ring> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let start = (tid as u32).wrapping_mul(0x9E37_79B1) as usize % TID_SLOTS;
    for i in 0..TID_SLOTS {
        let slot = (start + i) % TID_SLOTS;
        let key = &TID_KEYS[slot];
        let mut owner = key.load(Ordering::Acquire);
        if owner == 0 {
            // AcqRel: claim the slot; only this thread ever fills its ring.
            match key.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let r = new_ring()?;
                    TID_RINGS[slot].store(Some(r), Ordering::Release);
                    return Some(r);
                }
                Err(other) => owner = other,
            }
        }
        if owner == tid {
            // None only if making it failed.
            return TID_RINGS[slot].load(Ordering::Acquire);
        }
    }
    None
}

/// The calling thread's ring (None, counted in `NO_RING_DROPS`, if it
/// cannot have one).
pub fn current() -> Option<&'static Ring> {
    let r = match m::current() {
        Some(m) => of_m(m.id),
        None => of_plain_thread(),
    };
    if r.is_none() {
        NO_RING_DROPS.fetch_add(1, Ordering::Relaxed);
    }
    r
}

impl Ring {
    fn slot(&self, i: usize) -> *mut Rec {
        self.slots[i % CAP].get() as *mut Rec
    }

    /// Appends `rec` (owner only). When the ring is full, `flush` (if given)
    /// may empty it first; otherwise the record is dropped and counted.
    #[inline]
    pub fn push(&self, rec: &Rec, flush: Option<fn(&Ring)>) {
        if self.busy.load(Ordering::Relaxed) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.busy.store(true, Ordering::Relaxed);
        // Only a signal handler on this very thread can observe `busy`:
        // a compiler fence orders it against the slot writes.
        compiler_fence(Ordering::SeqCst);
        let head = self.head.load(Ordering::Relaxed);
        // Acquire: the consumer is done with the slots it released.
        let mut room = head.wrapping_sub(self.tail.load(Ordering::Acquire)) < CAP;
        if !room && let Some(flush) = flush {
            flush(self);
            room = head.wrapping_sub(self.tail.load(Ordering::Acquire)) < CAP;
        }
        if room {
            // SAFETY: slot `head` is outside [tail, head): no consumer reads it.
            unsafe { self.slot(head).write(*rec) };
            // Release: the record before the new head.
            self.head.store(head.wrapping_add(1), Ordering::Release);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        compiler_fence(Ordering::SeqCst);
        self.busy.store(false, Ordering::Relaxed);
    }

    /// Takes the consumer lock, waiting at most `patience_ns`.
    pub fn lock_consumer(&self, patience_ns: i64) -> bool {
        let deadline = crate::clock::now().saturating_add(patience_ns);
        loop {
            if self.flushing.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return true;
            }
            if crate::clock::now() > deadline {
                return false;
            }
            // SAFETY: no preconditions.
            unsafe { libc::sched_yield() };
        }
    }

    pub fn unlock_consumer(&self) {
        self.flushing.store(false, Ordering::Release);
    }

    /// Consumer (holding the lock): calls `f` on each record in order,
    /// releasing each slot once `f` returns.
    pub fn consume(&self, mut f: impl FnMut(&Rec)) {
        // Acquire: the records before the producer's head.
        let head = self.head.load(Ordering::Acquire);
        let mut tail = self.tail.load(Ordering::Relaxed);
        while tail != head {
            // SAFETY: slot `tail` is in [tail, head): written and published,
            // and the producer does not touch it until we move `tail` past it.
            let rec = unsafe { self.slot(tail).read() };
            tail = tail.wrapping_add(1);
            // Release: we are done reading the slot.
            self.tail.store(tail, Ordering::Release);
            f(&rec);
        }
    }
}
