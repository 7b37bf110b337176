//! Observability: execution traces (`GORTTRACE=path`) and `schedtrace` /
//! `scheddetail` lines.
//!
//! # What this module owns
//!
//! - The hooks the scheduler calls at every goroutine start and stop,
//!   preemption, P retake, blocking call and stop-the-world (`go_start`,
//!   `go_stop`, `preempt`, ...). With tracing off each is one predictable
//!   branch on a relaxed load (`enabled()`); the work sits in `#[cold]`
//!   out-of-line functions.
//! - The trace writer (`ring`, `json`): Chrome trace-event JSON that
//!   Perfetto and chrome://tracing open, and that `tools/trace2html.py`
//!   turns into a standalone HTML timeline.
//! - `schedtrace` (Go's one-line summary) and `scheddetail` (one line per P,
//!   M and known goroutine), printed by the chores thread when sysmon asks
//!   (`schedtrace.rs`).
//!
//! # The trace
//!
//! One process (pid 1, "gort"). Tracks (Chrome `tid`s):
//!
//! - `P0`, `P1`, ... (tid = P id): one slice ("X" event) per goroutine run,
//!   from the moment the P starts it to the moment it stops, named after the
//!   goroutine (`gort_attr.name`) or `G<id>`, with args `g` (id) and `why`
//!   it stopped: `parked` (+ `wait`: chan receive, sleep...), `yield`,
//!   `preempted` (+ `preempt`: `async` or `coop`), `exit`, `blocking`
//!   (entered `gort_blocking_begin`, the P is handed off), `retaken` (sysmon
//!   or a stop-the-world took the P of a thread blocked in C), `running at
//!   exit`, or `superseded` (the P started another goroutine with no stop
//!   hook in between; no path does that today, so seeing it means a hook
//!   is missing). Instants on the same track: `preempt async`, `preempt
//!   coop`, `retake`, `blocking begin`, `blocking end`, `go create`,
//!   `unpark`.
//! - `world` (tid 10000): `stop the world` slices (from the request to a
//!   stopped world) and `world stopped` (from then to the restart).
//! - `no P (threads, sysmon)` (tid 10001): `go create` / `unpark` done by
//!   threads that hold no P (the program's threads, sysmon, the chores
//!   thread), and `trace: events dropped`.
//! - `M3`, ... (tid 20000 + M id): `G17 in C call` slices for goroutines
//!   inside `gort_blocking_begin/end`, and `preempt async` instants of
//!   goroutines preempted while running without a P.
//!
//! Timestamps are microseconds (three decimals: exact nanoseconds) since
//! the runtime started, from `clock::now()`.
//!
//! Viewing: open the file in Perfetto (ui.perfetto.dev) or chrome://tracing,
//! or run `tools/trace2html.py trace.json` for a standalone HTML timeline
//! (`tools/screenshot.sh` renders that to a PNG); `tools/check_trace.py`
//! validates a trace (the C tests use it).
//!
//! # How events travel
//!
//! A hook builds a fixed-size binary record and appends it to the calling
//! thread's ring (`ring`): no lock, no allocation, no system call. A slice
//! is recorded once, when it closes; while it is open, its start and the
//! goroutine's name sit in the P's [`PTrack`], written only by the thread
//! that holds the P (ownership passes with the P, so the scheduler's own
//! hand-off gives the happens-before). A ring that fills is formatted and
//! written by its owner right there (about 1 ms for 4096 events) where the
//! hook allows it (never in the signal handler, never under the scheduler
//! lock); elsewhere the event is dropped and counted. At the end the final
//! flush (`json::finish`) stops recording, empties every ring, closes slices
//! still open (goroutines running at exit) and writes the JSON footer;
//! events after that are dropped. It runs at `exit()` (or the return from
//! `main`), from an `atexit` handler registered at init, and when the
//! process dies of a signal whose action is to kill it (`abort()`, a
//! crash, SIGTERM left at its default; see [`crash`]), from that signal's
//! handler. A process that ends with `_exit` or SIGKILL runs neither and
//! keeps only what full rings had written: no footer.
//!
//! # Async-signal-safety (read before editing)
//!
//! `preempt_async` and `go_start` (through `sched::bound::resume_bound`) run
//! inside the SIGURG handler on the M's own
//! thread, which interrupted arbitrary user code. Everything they reach
//! must not allocate, take a lock another thread could hold while this one
//! is interrupted, or use stdio: they use atomics, the thread's ring
//! (reached through the runtime's initial-exec TLS slot and an `mmap`ed
//! table, see `ring`), `clock::now()` (vDSO) and, at worst, `mmap`. They
//! never flush. `unpark` and `go_create` may run on any thread (plain
//! threads, sysmon, the chores thread: no P, no M); `retake` runs on sysmon or a
//! stop-the-world caller, which own the P they took.

mod crash;
mod json;
mod ring;
mod schedtrace;

use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};

use crate::cell::AtomicRef;
use crate::clock;
use crate::config::MAX_PROCS;
use crate::sched::g::{G, NAME_LEN, WaitReason};
use crate::sched::m::{self, M, Tail};
use crate::sched::p::P;

use self::ring::{Rec, Ring};

pub use self::crash::die_of;
pub use self::json::finish_on_crash;
pub use self::schedtrace::schedtrace;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Extra tracks (Chrome tids) besides the Ps'.
pub const WORLD_TID: u32 = 10_000;
pub const OTHER_TID: u32 = 10_001;
pub const M_TID_BASE: u32 = 20_000;

// Record kinds.
const K_SLICE: u8 = 1;
const K_INSTANT: u8 = 2;
const K_BLOCKING: u8 = 3;
const K_WORLD: u8 = 4;
const K_TRACK: u8 = 5;

// Why a goroutine slice ended (K_SLICE code).
const W_UNKNOWN: u8 = 0;
const W_PARKED: u8 = 1;
const W_YIELD: u8 = 2;
const W_PREEMPT_COOP: u8 = 3;
const W_PREEMPT_ASYNC: u8 = 4;
const W_EXIT: u8 = 5;
const W_BLOCKING: u8 = 6;
const W_RETAKEN: u8 = 7;
const W_AT_EXIT: u8 = 8;
const W_SUPERSEDED: u8 = 9;

fn why_str(code: u8) -> &'static str {
    match code {
        W_PARKED => "parked",
        W_YIELD => "yield",
        W_PREEMPT_COOP | W_PREEMPT_ASYNC => "preempted",
        W_EXIT => "exit",
        W_BLOCKING => "blocking",
        W_RETAKEN => "retaken",
        W_AT_EXIT => "running at exit",
        W_SUPERSEDED => "superseded",
        _ => "unknown",
    }
}

// Instants (K_INSTANT code).
const I_PREEMPT_ASYNC: u8 = 1;
const I_PREEMPT_COOP: u8 = 2;
const I_RETAKE: u8 = 3;
const I_BLOCK_BEGIN: u8 = 4;
const I_BLOCK_END: u8 = 5;
const I_GO_CREATE: u8 = 6;
const I_UNPARK: u8 = 7;
const I_DROPPED: u8 = 8;

fn instant_str(code: u8) -> (&'static str, &'static str) {
    match code {
        I_PREEMPT_ASYNC => ("preempt async", "preempt"),
        I_PREEMPT_COOP => ("preempt coop", "preempt"),
        I_RETAKE => ("retake", "handoff"),
        I_BLOCK_BEGIN => ("blocking begin", "blocking"),
        I_BLOCK_END => ("blocking end", "blocking"),
        I_GO_CREATE => ("go create", "sched"),
        I_UNPARK => ("unpark", "sched"),
        I_DROPPED => ("trace: events dropped", "trace"),
        _ => ("?", "trace"),
    }
}

// World slices (K_WORLD code).
const S_STOPPING: u8 = 1;
const S_STOPPED: u8 = 2;

/// `arg` of an instant with no M to name.
const NO_M: u64 = u64::MAX;

fn wait_str(v: u32) -> &'static str {
    WaitReason::from_u32(v).map_or("wait", WaitReason::as_str)
}

/// The goroutine slice open on a P. Written only by the thread holding the
/// P (or by the thread that took it away); the exit flush reads it from
/// another thread, so every field is atomic and a sequence counter (odd
/// while a write is in progress) lets it read a consistent snapshot.
struct PTrack {
    seq: AtomicU32,
    /// Id of the goroutine running (0: no open slice).
    gid: AtomicU64,
    g: AtomicRef<G>,
    start: AtomicI64,
    name_len: AtomicU8,
    name: [AtomicU64; NAME_LEN / 8],
}

impl PTrack {
    const fn new() -> PTrack {
        PTrack {
            seq: AtomicU32::new(0),
            gid: AtomicU64::new(0),
            g: AtomicRef::none(),
            start: AtomicI64::new(0),
            name_len: AtomicU8::new(0),
            name: [const { AtomicU64::new(0) }; NAME_LEN / 8],
        }
    }

    fn write_begin(&self) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        // Release fence: a reader that sees any field write below also sees
        // the odd sequence number (seqlock writer side).
        core::sync::atomic::fence(Ordering::Release);
    }

    fn write_end(&self) {
        let s = self.seq.load(Ordering::Relaxed);
        // Release: the fields before the even sequence number.
        self.seq.store(s.wrapping_add(1), Ordering::Release);
    }

    /// Opens a slice for `g` at `now` (the P's holder only).
    fn open(&self, g: &'static G, gid: u64, now: i64) {
        // SAFETY: a G's name is written only before it is first queued; `g`
        // is running on this P now, so nobody writes it.
        let bytes: [u8; NAME_LEN] = unsafe { *g.name.as_ptr() };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        self.write_begin();
        self.gid.store(gid, Ordering::Relaxed);
        self.g.store(Some(g), Ordering::Relaxed);
        self.start.store(now, Ordering::Relaxed);
        self.name_len.store(len as u8, Ordering::Relaxed);
        for (i, w) in self.name.iter().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            w.store(u64::from_ne_bytes(word), Ordering::Relaxed);
        }
        self.write_end();
    }

    /// The open slice as a record ending at `now` (no state change).
    fn as_rec(&self, tid: u32, now: i64, why: u8) -> Rec {
        let start = self.start.load(Ordering::Relaxed);
        let mut rec = Rec::new(K_SLICE, why, tid, start);
        rec.dur = (now - start).max(0);
        rec.gid = self.gid.load(Ordering::Relaxed);
        rec.name_len = self.name_len.load(Ordering::Relaxed);
        for (i, w) in self.name.iter().enumerate() {
            rec.name[i * 8..i * 8 + 8].copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        rec
    }

    /// Closes the open slice (the P's holder only) and returns its record.
    fn close(&self, tid: u32, now: i64, why: u8) -> Rec {
        let rec = self.as_rec(tid, now, why);
        self.write_begin();
        self.gid.store(0, Ordering::Relaxed);
        self.g.store(None, Ordering::Relaxed);
        self.write_end();
        rec
    }
}

static PTRACKS: [PTrack; MAX_PROCS as usize] = [const { PTrack::new() }; MAX_PROCS as usize];
/// The P's track got its name (Ps added by `gort_maxprocs` are named on
/// their first slice).
static PNAMED: [AtomicBool; MAX_PROCS as usize] = [const { AtomicBool::new(false) }; MAX_PROCS as usize];
/// When the current stop-the-world reached a stopped world (0: none).
static WORLD_STOPPED_AT: AtomicI64 = AtomicI64::new(0);

/// Reads P `id`'s open slice from another thread (the exit flush). A torn
/// snapshot is retried a few times, then skipped.
fn open_slice_at_exit(id: u32, now: i64) -> Option<Rec> {
    let t = &PTRACKS[id as usize];
    for _ in 0..100 {
        let s1 = t.seq.load(Ordering::Acquire);
        if s1 % 2 == 1 {
            core::hint::spin_loop();
            continue;
        }
        let rec = t.as_rec(id, now, W_AT_EXIT);
        // Acquire fence: the field reads above before the re-check.
        core::sync::atomic::fence(Ordering::Acquire);
        if t.seq.load(Ordering::Relaxed) == s1 {
            return (rec.gid != 0).then_some(rec);
        }
    }
    None
}

pub fn init() {
    let cfg = crate::sched::cfg();
    let on = cfg.trace_path.as_deref().is_some_and(json::open);
    if on {
        crash::install(if cfg.sigquit_dump { &[libc::SIGQUIT] } else { &[] });
    }
    // Release: the file and T0 before any hook sees tracing on.
    ENABLED.store(on, Ordering::Release);
}

#[inline(always)]
fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Recording helpers (cold paths).

/// Appends to the calling thread's ring; `may_flush`: a full ring may be
/// written out here (normal context, no runtime lock that matters held).
fn emit(rec: &Rec, may_flush: bool) {
    if let Some(r) = ring::current() {
        r.push(rec, if may_flush { Some(json::drain_full) } else { None });
    }
}

fn emit_to(r: &Ring, rec: &Rec, may_flush: bool) {
    r.push(rec, if may_flush { Some(json::drain_full) } else { None });
}

fn instant(code: u8, tid: u32, gid: u64, m: u64, may_flush: bool) {
    let mut rec = Rec::new(K_INSTANT, code, tid, clock::now());
    rec.gid = gid;
    rec.arg = m;
    emit(&rec, may_flush);
}

/// The P the calling thread holds, if it is an M holding one.
fn current_p_tid() -> u32 {
    m::current().and_then(|m| m.p()).map_or(OTHER_TID, |p| p.id)
}

/// Names P `id`'s track the first time it is used (Ps added by a resize).
fn name_p_track(id: u32, may_flush: bool) {
    let named = &PNAMED[id as usize];
    if !named.load(Ordering::Relaxed) {
        named.store(true, Ordering::Relaxed);
        emit(&Rec::new(K_TRACK, 0, id, clock::now()), may_flush);
    }
}

/// Names M `id`'s track on its first event.
fn name_m_track(r: &Ring, id: u32, may_flush: bool) {
    if !r.named.load(Ordering::Relaxed) {
        r.named.store(true, Ordering::Relaxed);
        emit_to(r, &Rec::new(K_TRACK, 0, M_TID_BASE + id, clock::now()), may_flush);
    }
}

/// Opens a slice for `g` on `p` unless one is already open for it; a slice
/// of another goroutine still open there is closed as superseded.
/// Async-signal-safe (never flushes).
fn start_on(p: &P, g: &'static G, now: i64) {
    let t = &PTRACKS[p.id as usize];
    let gid = g.id();
    let open = t.gid.load(Ordering::Relaxed);
    if open == gid && t.g.is(g, Ordering::Relaxed) {
        return;
    }
    if open != 0 {
        emit(&t.close(p.id, now, W_SUPERSEDED), false);
    }
    t.open(g, gid, now);
}

/// Closes `g`'s slice on `p`, if it is the one open there.
fn stop_on(p: &P, gid: u64, now: i64, why: u8, arg: u64, may_flush: bool) -> bool {
    let t = &PTRACKS[p.id as usize];
    if gid == 0 || t.gid.load(Ordering::Relaxed) != gid {
        return false;
    }
    let mut rec = t.close(p.id, now, why);
    rec.arg = arg;
    emit(&rec, may_flush);
    true
}

#[cold]
#[inline(never)]
fn go_create_slow(g: &G) {
    let mut rec = Rec::new(K_INSTANT, I_GO_CREATE, current_p_tid(), clock::now());
    rec.gid = g.id();
    // SAFETY: the spawner wrote the name just now and has not queued the G.
    let bytes: [u8; NAME_LEN] = unsafe { *g.name.as_ptr() };
    rec.name_len = bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN) as u8;
    rec.name = bytes;
    emit(&rec, true);
}

#[cold]
#[inline(never)]
fn go_start_slow(p: &P, g: &'static G) {
    name_p_track(p.id, false);
    start_on(p, g, clock::now());
}

#[cold]
#[inline(never)]
fn go_stop_slow(p: &P, g: &G) {
    // switch_away sets the M's tail just before calling us: it says why.
    // SAFETY: the calling thread's own M.
    let (why, arg) = match m::current().map(|m| unsafe { m.tail() }) {
        Some(Tail::Park(..)) => (W_PARKED, g.wait_reason.load(Ordering::Relaxed) as u64),
        Some(Tail::Requeue(_)) => (W_YIELD, 0),
        Some(Tail::RequeueGlobal(_)) => (W_PREEMPT_COOP, 0),
        Some(Tail::Exit(_)) => (W_EXIT, 0),
        _ => (W_UNKNOWN, 0),
    };
    stop_on(p, g.id(), clock::now(), why, arg, true);
}

#[cold]
#[inline(never)]
fn unpark_slow(g: &G) {
    instant(I_UNPARK, current_p_tid(), g.id(), NO_M, true);
}

#[cold]
#[inline(never)]
fn preempt_slow(m: &M, g: &G, async_: bool) {
    let tid = m.p().map_or(M_TID_BASE + m.id, |p| p.id);
    if !async_ {
        instant(I_PREEMPT_COOP, tid, g.id(), m.id as u64, true);
        return;
    }
    // In the signal handler, after the goroutine was resumed.
    let Some(r) = ring::current() else { return };
    if r.async_marked.swap(false, Ordering::Relaxed) {
        return; // preempt_async marked it when it happened
    }
    // No preempt_async for this stop: mark it late rather than never.
    let mut rec = Rec::new(K_INSTANT, I_PREEMPT_ASYNC, tid, clock::now());
    rec.gid = g.id();
    rec.arg = m.id as u64;
    emit_to(r, &rec, false);
}

#[cold]
#[inline(never)]
fn preempt_async_slow(m: &M, p: Option<&P>, g: &G) {
    let Some(r) = ring::current() else { return };
    r.async_marked.store(true, Ordering::Relaxed);
    let now = clock::now();
    let tid = match p {
        Some(p) => {
            stop_on(p, g.id(), now, W_PREEMPT_ASYNC, 0, false);
            p.id
        }
        None => {
            name_m_track(r, m.id, false);
            M_TID_BASE + m.id
        }
    };
    let mut rec = Rec::new(K_INSTANT, I_PREEMPT_ASYNC, tid, now);
    rec.gid = g.id();
    rec.arg = m.id as u64;
    emit_to(r, &rec, false);
}

#[cold]
#[inline(never)]
fn retake_slow(p: &P, m: &M) {
    let now = clock::now();
    let gid = PTRACKS[p.id as usize].gid.load(Ordering::Relaxed);
    stop_on(p, gid, now, W_RETAKEN, m.id as u64, true);
    let mut rec = Rec::new(K_INSTANT, I_RETAKE, p.id, now);
    rec.gid = gid;
    rec.arg = m.id as u64;
    emit(&rec, true);
}

#[cold]
#[inline(never)]
fn stw_slow(took_ns: i64) {
    let now = clock::now();
    if took_ns < 0 {
        return; // the slice is recorded whole once the world is stopped
    }
    WORLD_STOPPED_AT.store(now, Ordering::Relaxed);
    let mut rec = Rec::new(K_WORLD, S_STOPPING, WORLD_TID, now - took_ns);
    rec.dur = took_ns;
    emit(&rec, true);
}

#[cold]
#[inline(never)]
fn stw_end_slow() {
    let since = WORLD_STOPPED_AT.swap(0, Ordering::Relaxed);
    if since != 0 {
        let now = clock::now();
        let mut rec = Rec::new(K_WORLD, S_STOPPED, WORLD_TID, since);
        rec.dur = now - since;
        emit(&rec, true);
    }
}

#[cold]
#[inline(never)]
fn blocking_slow(g: &'static G, begin: bool) {
    let Some(m) = m::current() else { return };
    let Some(r) = ring::current() else { return };
    let now = clock::now();
    let gid = g.id();
    let p = m.p();
    if begin {
        if let Some(p) = p {
            stop_on(p, gid, now, W_BLOCKING, 0, true);
            instant(I_BLOCK_BEGIN, p.id, gid, m.id as u64, true);
        }
        r.blocking_gid.store(gid, Ordering::Relaxed);
        r.blocking_since.store(now, Ordering::Relaxed);
        return;
    }
    let since = r.blocking_since.swap(0, Ordering::Relaxed);
    if since != 0 && r.blocking_gid.load(Ordering::Relaxed) == gid {
        name_m_track(r, m.id, true);
        let mut rec = Rec::new(K_BLOCKING, 0, M_TID_BASE + m.id, since);
        rec.dur = now - since;
        rec.gid = gid;
        rec.arg = m.id as u64;
        // SAFETY: the running goroutine's name; nobody writes it now.
        let bytes: [u8; NAME_LEN] = unsafe { *g.name.as_ptr() };
        rec.name_len = bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN) as u8;
        rec.name = bytes;
        emit_to(r, &rec, true);
    }
    if let Some(p) = p {
        instant(I_BLOCK_END, p.id, gid, m.id as u64, true);
        name_p_track(p.id, true);
        start_on(p, g, now);
    }
}

// ---------------------------------------------------------------------------
// Hooks. Each is one branch when tracing is off.

/// A goroutine was created (any thread, with or without a P).
#[inline]
pub fn go_create(g: &G) {
    if enabled() {
        go_create_slow(g);
    }
}

/// `p` starts running `g` (also from the SIGURG handler, via
/// `sched::bound::resume_bound`). Async-signal-safe.
#[inline]
pub fn go_start(p: &P, g: &'static G) {
    if enabled() {
        go_start_slow(p, g);
    }
}

/// `g` stops running on `p`; the M's `tail` (set by `switch_away`) says why.
#[inline]
pub fn go_stop(p: &P, g: &G) {
    if enabled() {
        go_stop_slow(p, g);
    }
}

/// `g` is exiting; its slice closes in the `go_stop` that follows.
#[inline]
pub fn go_end(_m: &M, _g: &G) {}

/// `g` was made runnable (any thread, including plain threads and sysmon).
#[inline]
pub fn unpark(g: &G) {
    if enabled() {
        unpark_slow(g);
    }
}

/// `g` is being preempted cooperatively on `m`, at a runtime call, before
/// the switch (`async_` false). Async preemptions are reported by
/// `preempt_async`; `async_` true is still accepted, from the handler after
/// `g` resumed, and marks the preemption at that late time unless
/// `preempt_async` already did. Async-signal-safe.
#[inline]
pub fn preempt(m: &M, g: &G, async_: bool) {
    if enabled() {
        preempt_slow(m, g, async_);
    }
}

/// The SIGURG handler on `m` committed to stopping `g`; `p` (if `m` held
/// one) is about to be handed on. Call with `m` still holding `p`.
/// Async-signal-safe, lock-free: may be called under the scheduler lock.
#[inline]
pub fn preempt_async(m: &M, p: Option<&P>, g: &G) {
    if enabled() {
        preempt_async_slow(m, p, g);
    }
}

/// `p` was taken from `m`, whose thread is blocked in C (sysmon, or a
/// stop-the-world). The caller owns `p` now.
#[inline]
pub fn retake(p: &P, m: &M) {
    if enabled() {
        retake_slow(p, m);
    }
}

/// A stop-the-world began (`took_ns` < 0) or reached a stopped world.
#[inline]
pub fn stw(took_ns: i64) {
    if enabled() {
        stw_slow(took_ns);
    }
}

/// The world is being started again.
#[inline]
pub fn stw_end() {
    if enabled() {
        stw_end_slow();
    }
}

/// The running goroutine entered (`begin`) or left a marked blocking call.
/// On `begin` the M still holds its P; on the way out it holds a P again.
#[inline]
pub fn blocking(g: &'static G, begin: bool) {
    if enabled() {
        blocking_slow(g, begin);
    }
}
