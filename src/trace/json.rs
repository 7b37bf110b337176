//! The trace file: Chrome trace-event JSON, written in chunks.
//!
//! Layout: `{"traceEvents":[` then one event per line, every event after the
//! first preceded by `,`, then `],"displayTimeUnit":"ns"}` written once by
//! the final flush ([`finish`]). Chunks are whole events written with one
//! `write(2)` each under [`FILE`], so events from different threads never
//! interleave; once the footer is written the file is closed and later
//! chunks are dropped. Events are not in time order (each ring is flushed
//! when it fills): Perfetto and chrome://tracing sort them.
//!
//! The final flush runs at `exit()` (an `atexit` handler) or, when the
//! process dies of a signal, in that signal's handler ([`finish_on_crash`]).
//! Everything it reaches is async-signal-safe: the rings and the text
//! buffers are lock-free or owned, and [`FILE`] is only *tried* until a
//! deadline, because the dying thread may be the one that holds it. Other
//! formatting and writing happen in a full ring's owner's normal context.
//!
//! A write that fails (a full disk, `/dev/full`) prints one warning and
//! ends the trace there: the file is then not valid JSON.

use core::cell::UnsafeCell;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::ring::{self, Rec, Ring, TEXT_CAP};
use super::*;
use crate::fmtbuf::FmtBuf;

struct File {
    fd: i32,
    closed: bool,
}

static FILE: Mutex<File> = Mutex::new(File { fd: -1, closed: false });
/// The process that opened the file (a forked child must not write it).
static PID: AtomicI32 = AtomicI32::new(0);
static FINISHED: AtomicBool = AtomicBool::new(false);
/// Trace time zero (`clock::now()` at init).
pub static T0: AtomicI64 = AtomicI64::new(0);
/// While a dying process flushes: the `clock::now()` after which nothing
/// waits for a lock any more (0: not dying).
static CRASH_DEADLINE: AtomicI64 = AtomicI64::new(0);
/// The path, for the write-error warning (formatted without allocating).
static PATH: Mutex<[u8; 240]> = Mutex::new([0; 240]);

/// The file lock: blocking normally; tried until the deadline while dying.
fn lock_file() -> Option<MutexGuard<'static, File>> {
    let deadline = CRASH_DEADLINE.load(Ordering::Relaxed);
    if deadline == 0 {
        return Some(FILE.lock().unwrap_or_else(|e| e.into_inner()));
    }
    loop {
        match FILE.try_lock() {
            Ok(f) => return Some(f),
            Err(std::sync::TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if clock::now() < deadline => {
                // SAFETY: no preconditions.
                unsafe { libc::sched_yield() };
            }
            Err(std::sync::TryLockError::WouldBlock) => return None,
        }
    }
}

/// How long the final flush may wait for a ring or the file held by
/// another thread, in a dying process.
const CRASH_PATIENCE_NS: i64 = 1_000_000_000;

/// A fixed buffer to format into. Writing past its end truncates, so every
/// caller makes sure at least `MAX_EVENT` bytes are free before formatting
/// an event (writing the buffer out first when they are not).
pub struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Out<'a> {
    pub fn new(buf: &'a mut [u8]) -> Out<'a> {
        Out { buf, len: 0 }
    }

    fn room(&self) -> usize {
        self.buf.len() - self.len
    }

    pub fn bytes(&mut self, b: &[u8]) {
        let n = b.len().min(self.room());
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn u64(&mut self, mut v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.bytes(&tmp[i..]);
    }

    /// Nanoseconds as microseconds with three decimals (exact).
    pub fn us(&mut self, ns: i64) {
        if ns < 0 {
            self.str("-");
        }
        let ns = ns.unsigned_abs();
        self.u64(ns / 1000);
        let frac = ns % 1000;
        self.bytes(&[b'.', b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8]);
    }

    /// A JSON string literal (with quotes). Invalid UTF-8 bytes become '?'.
    pub fn json_str(&mut self, b: &[u8]) {
        self.str("\"");
        let s = match core::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
        };
        for c in s.chars() {
            match c {
                '"' => self.str("\\\""),
                '\\' => self.str("\\\\"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let v = c as usize;
                    self.bytes(&[b'\\', b'u', b'0', b'0', HEX[v >> 4], HEX[v & 15]]);
                }
                c => {
                    let mut tmp = [0u8; 4];
                    self.str(c.encode_utf8(&mut tmp));
                }
            }
        }
        self.str("\"");
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// The longest single event we format (a slice with a 47-byte name, all
/// escaped as \u00XX, plus the fixed fields), with margin.
const MAX_EVENT: usize = 1024;

/// Opens the trace file and writes the header. Returns false (with a
/// warning on stderr) if the file cannot be created.
pub fn open(path: &str) -> bool {
    let Ok(cpath) = std::ffi::CString::new(path) else {
        eprintln!("gort: GORTTRACE={path:?}: not a valid path; tracing is off");
        return false;
    };
    // SAFETY: a NUL-terminated path; the flags are plain.
    let fd = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        eprintln!("gort: GORTTRACE={path:?}: {}; tracing is off", std::io::Error::last_os_error());
        return false;
    }
    T0.store(clock::now(), Ordering::Relaxed);
    // SAFETY: no preconditions.
    PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    {
        let mut f = FILE.lock().unwrap_or_else(|e| e.into_inner());
        f.fd = fd;
        f.closed = false;
        let mut p = PATH.lock().unwrap_or_else(|e| e.into_inner());
        let n = path.len().min(p.len());
        p[..n].copy_from_slice(&path.as_bytes()[..n]);
    }
    let mut buf = vec![0u8; 16 << 10];
    let mut out = Out::new(&mut buf);
    out.str("{\"traceEvents\":[\n");
    out.str("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"gort\"}}");
    let tracks = [WORLD_TID, OTHER_TID].into_iter().chain(0..crate::sched::nprocs());
    for tid in tracks {
        if out.room() < MAX_EVENT {
            write_chunk(out.as_bytes());
            out.clear();
        }
        track_name(&mut out, tid);
        if tid < WORLD_TID {
            PNAMED[tid as usize].store(true, Ordering::Relaxed);
        }
    }
    write_chunk(out.as_bytes());
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(at_exit) };
    true
}

/// Appends bytes to the file (whole events only). Dropped once closed.
/// A failed write closes the file, with one warning.
fn write_chunk(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if crate::sched::forked() {
        return; // a fork child must not append to its parent's trace
    }
    let Some(mut f) = lock_file() else { return };
    if f.closed || f.fd < 0 {
        return;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(f.fd, rest.as_ptr() as *const libc::c_void, rest.len()) };
        if n < 0 {
            // SAFETY: the calling thread's errno, just set by write(2).
            let err = unsafe { *libc::__errno_location() };
            if err == libc::EINTR {
                continue;
            }
            f.closed = true;
            ENABLED.store(false, Ordering::Relaxed);
            warn_write_failed(err);
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// One line on stderr: the trace could not be written. Async-signal-safe
/// (a stack buffer, write(2)).
fn warn_write_failed(err: i32) {
    let mut bytes = [0u8; 400];
    let mut w = FmtBuf::new(&mut bytes);
    let path = PATH.try_lock().map(|p| *p).unwrap_or([0; 240]);
    let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
    let _ = write!(
        w,
        "gort: GORTTRACE={}: write failed ({}); the trace ends here and is incomplete",
        core::str::from_utf8(path).unwrap_or("?"),
        errno_name(err),
    );
    let _ = w.write_str("\n");
    // SAFETY: writing a stack buffer to fd 2.
    unsafe { libc::write(2, w.as_bytes().as_ptr() as *const libc::c_void, w.as_bytes().len()) };
}

/// A few errno values by name (strerror may allocate or lock: not here).
fn errno_name(err: i32) -> &'static str {
    match err {
        libc::ENOSPC => "ENOSPC: no space left on device",
        libc::EDQUOT => "EDQUOT: disk quota exceeded",
        libc::EFBIG => "EFBIG: file too large",
        libc::EIO => "EIO: input/output error",
        libc::EROFS => "EROFS: read-only file system",
        libc::EPIPE => "EPIPE: broken pipe",
        libc::EBADF => "EBADF: bad file descriptor",
        _ => "an I/O error",
    }
}

/// Empties `r` into the file. Called by the owner when its ring is full
/// (normal context only) and by the exit flush. Gives up if another thread
/// holds the ring's consumer lock for longer than `patience_ns`.
pub fn drain(r: &Ring, patience_ns: i64) {
    if !r.lock_consumer(patience_ns) {
        return;
    }
    // SAFETY: the consumer lock gives us the ring's text buffer.
    let text = unsafe { &mut *r.text.get() };
    let mut out = Out::new(text);
    r.consume(|rec| {
        if out.room() < MAX_EVENT {
            write_chunk(out.as_bytes());
            out.clear();
        }
        format(&mut out, rec);
    });
    let dropped = r.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let mut rec = Rec::new(K_INSTANT, I_DROPPED, OTHER_TID, clock::now());
        rec.arg = dropped;
        format(&mut out, &rec);
    }
    write_chunk(out.as_bytes());
    r.unlock_consumer();
}

/// `drain` with the patience of a full ring in the owner's normal context.
pub fn drain_full(r: &Ring) {
    drain(r, 50_000_000);
}

fn rel_ts(out: &mut Out, ns: i64) {
    out.us(ns - T0.load(Ordering::Relaxed));
}

fn head(out: &mut Out, name: &[u8], cat: &str, ph: &str, tid: u32, ts: i64) {
    out.str(",\n{\"name\":");
    out.json_str(name);
    out.str(",\"cat\":\"");
    out.str(cat);
    out.str("\",\"ph\":\"");
    out.str(ph);
    out.str("\",\"pid\":1,\"tid\":");
    out.u64(tid as u64);
    out.str(",\"ts\":");
    rel_ts(out, ts);
}

/// "G17", or the goroutine's name if it has one.
fn g_label<'b>(rec: &'b Rec, tmp: &'b mut [u8; 24]) -> &'b [u8] {
    if rec.name_len > 0 {
        return &rec.name[..rec.name_len as usize];
    }
    let mut o = Out::new(&mut tmp[..]);
    o.str("G");
    o.u64(rec.gid);
    let n = o.len;
    &tmp[..n]
}

fn track_name(out: &mut Out, tid: u32) {
    let mut name = [0u8; 24];
    let mut n = Out::new(&mut name);
    let sort: u64 = match tid {
        WORLD_TID => {
            n.str("world");
            5000
        }
        OTHER_TID => {
            n.str("no P (threads, sysmon)");
            5001
        }
        t if t >= M_TID_BASE => {
            n.str("M");
            n.u64((t - M_TID_BASE) as u64);
            10_000 + (t - M_TID_BASE) as u64
        }
        t => {
            n.str("P");
            n.u64(t as u64);
            t as u64
        }
    };
    let len = n.len;
    out.str(",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":");
    out.u64(tid as u64);
    out.str(",\"args\":{\"name\":");
    out.json_str(&name[..len]);
    out.str("}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":");
    out.u64(tid as u64);
    out.str(",\"args\":{\"sort_index\":");
    out.u64(sort);
    out.str("}}");
}

/// Formats one record as `,\n{...}`.
pub fn format(out: &mut Out, rec: &Rec) {
    let mut tmp = [0u8; 24];
    match rec.kind {
        K_SLICE => {
            head(out, g_label(rec, &mut tmp), "goroutine", "X", rec.tid, rec.ts);
            out.str(",\"dur\":");
            out.us(rec.dur);
            out.str(",\"args\":{\"g\":");
            out.u64(rec.gid);
            out.str(",\"why\":\"");
            out.str(why_str(rec.code));
            out.str("\"");
            match rec.code {
                W_PREEMPT_ASYNC => out.str(",\"preempt\":\"async\""),
                W_PREEMPT_COOP => out.str(",\"preempt\":\"coop\""),
                W_PARKED => {
                    let w = wait_str(rec.arg as u32);
                    if !w.is_empty() {
                        out.str(",\"wait\":\"");
                        out.str(w);
                        out.str("\"");
                    }
                }
                W_RETAKEN => {
                    out.str(",\"m\":");
                    out.u64(rec.arg);
                }
                _ => {}
            }
            out.str("}}");
        }
        K_BLOCKING => {
            let label = g_label(rec, &mut tmp);
            let mut name = [0u8; 96];
            let mut n = Out::new(&mut name);
            n.bytes(label);
            n.str(" in C call");
            let len = n.len;
            head(out, &name[..len], "blocking", "X", rec.tid, rec.ts);
            out.str(",\"dur\":");
            out.us(rec.dur);
            out.str(",\"args\":{\"g\":");
            out.u64(rec.gid);
            out.str(",\"m\":");
            out.u64(rec.arg);
            out.str("}}");
        }
        K_WORLD => {
            let name: &str = if rec.code == S_STOPPING { "stop the world" } else { "world stopped" };
            head(out, name.as_bytes(), "stw", "X", rec.tid, rec.ts);
            out.str(",\"dur\":");
            out.us(rec.dur);
            out.str("}");
        }
        K_TRACK => {
            track_name(out, rec.tid);
        }
        _ => {
            let (name, cat) = instant_str(rec.code);
            head(out, name.as_bytes(), cat, "i", rec.tid, rec.ts);
            out.str(",\"s\":\"t\",\"args\":{");
            match rec.code {
                I_DROPPED => {
                    out.str("\"events\":");
                    out.u64(rec.arg);
                }
                I_GO_CREATE => {
                    out.str("\"g\":");
                    out.u64(rec.gid);
                    if rec.name_len > 0 {
                        out.str(",\"name\":");
                        out.json_str(&rec.name[..rec.name_len as usize]);
                    }
                }
                _ => {
                    out.str("\"g\":");
                    out.u64(rec.gid);
                    if rec.arg != NO_M {
                        out.str(",\"m\":");
                        out.u64(rec.arg);
                    }
                }
            }
            out.str("}}");
        }
    }
}

/// Text buffer of the exit flush (only one exit flush ever runs).
struct ExitBuf(UnsafeCell<[u8; TEXT_CAP]>);
// SAFETY: used only by the single thread that wins `FINISHED`.
unsafe impl Sync for ExitBuf {}
static EXIT_BUF: ExitBuf = ExitBuf(UnsafeCell::new([0; TEXT_CAP]));

extern "C" fn at_exit() {
    finish(500_000_000);
}

/// The final flush of a process dying of a signal (called from that
/// signal's handler, before it lets the signal do what it would have done).
/// Gives up on whatever another thread holds for a second.
pub fn finish_on_crash() {
    CRASH_DEADLINE.store(clock::now() + CRASH_PATIENCE_NS, Ordering::Relaxed);
    finish(CRASH_PATIENCE_NS / 4);
}

/// The final flush: stops recording, empties every ring (waiting at most
/// `patience_ns` for each one another thread is flushing), closes the slices
/// still open (goroutines running at exit), names every track, and writes
/// the footer. Later events are dropped. Runs once, in the process that
/// opened the file.
fn finish(patience_ns: i64) {
    // SAFETY: no preconditions.
    if PID.load(Ordering::Relaxed) != unsafe { libc::getpid() } || FINISHED.swap(true, Ordering::AcqRel) {
        return;
    }
    ENABLED.store(false, Ordering::SeqCst);
    ring::for_each(|r| drain(r, patience_ns));
    let now = clock::now();
    // SAFETY: we won FINISHED: the buffer is ours.
    let buf = unsafe { &mut *EXIT_BUF.0.get() };
    let mut out = Out::new(buf);
    let emit = |out: &mut Out, rec: &Rec| {
        if out.room() < MAX_EVENT {
            write_chunk(out.as_bytes());
            out.clear();
        }
        format(out, rec);
    };
    let nallp = crate::sched::SCHED.nallp.load(Ordering::Acquire);
    for id in 0..nallp {
        if let Some(rec) = open_slice_at_exit(id, now) {
            emit(&mut out, &rec);
        }
        emit(&mut out, &Rec::new(K_TRACK, 0, id, now));
    }
    // The world may still be stopped at exit (a `world stopped` slice is
    // otherwise recorded by `stw_end`).
    let stopped = WORLD_STOPPED_AT.load(Ordering::Relaxed);
    if stopped != 0 && crate::sched::SCHED.stw_active.load(Ordering::Relaxed) {
        let mut rec = Rec::new(K_WORLD, S_STOPPED, WORLD_TID, stopped);
        rec.dur = now - stopped;
        emit(&mut out, &rec);
    }
    for m in crate::sched::all_ms() {
        emit(&mut out, &Rec::new(K_TRACK, 0, M_TID_BASE + m.id, now));
    }
    let lost = ring::NO_RING_DROPS.load(Ordering::Relaxed);
    if lost > 0 {
        let mut rec = Rec::new(K_INSTANT, I_DROPPED, OTHER_TID, now);
        rec.arg = lost;
        emit(&mut out, &rec);
    }
    write_chunk(out.as_bytes());
    write_chunk(b"\n],\"displayTimeUnit\":\"ns\"}\n");
    let Some(mut f) = lock_file() else { return };
    if f.fd >= 0 {
        // SAFETY: closing our own descriptor, once.
        unsafe { libc::close(f.fd) };
    }
    f.closed = true;
    f.fd = -1;
}
