//! Diagnostics: goroutine dumps (`gort_dump`, SIGQUIT), deadlock reports
//! and fatal-error tracebacks.
//!
//! A dump shows every goroutine in Go's traceback shape (see `format`):
//! its state, and its stack as functions with file and line.
//!
//! # Never waiting for malloc
//!
//! Stacks must be read while their goroutines cannot run, so a dump stops
//! the world; and a goroutine stopped inside `malloc` keeps malloc's lock
//! for as long as the world stays stopped. Nothing that runs while the world
//! is stopped may therefore allocate or take a libc lock. A dump runs in
//! three steps:
//!
//! 1. With the world running, it prepares: lists the loaded objects and
//!    copies their unwind tables (`unwind`), and allocates the records and
//!    the frame arena (`snapshot`). Done as user code (outside the runtime),
//!    so a wait for malloc's lock here is an ordinary wait: sysmon hands the
//!    caller's P to another thread meanwhile, and the goroutine holding the
//!    lock gets to run.
//! 2. It stops the world, copies every goroutine's state and walks its stack
//!    into those buffers (framehop with a rule cache made in step 1: no
//!    allocation), and starts the world again.
//! 3. It symbolizes (`symbolize`: addr2line, which reads files and
//!    allocates), formats and writes.
//!
//! The same holds for what signal handlers and sysmon ask for: a SIGQUIT
//! dump (`GORTDEBUG=sigquit=1`), a deadlock report (`deadlock`), the
//! traceback of a fatal error (`GORTTRACEBACK`). They only record the
//! request and wake the chores thread, which holds no P and which nobody
//! waits for; it does the work ([`serve`]). A fatal error's traceback is
//! taken without stopping the world: the failing goroutine's thread is
//! stuck in its signal handler and could not stop.
//!
//! # Modules
//!
//! - `unwind`: loaded objects and stack walking;
//! - `symbolize`: addresses to functions, files and lines;
//! - `snapshot`: what is copied while the world is stopped;
//! - `format`: the text;
//! - `deadlock`: when nothing can ever wake anything;
//! - `debugger`: the layout `tools/gort-gdb.py` reads (no dump involved).

mod deadlock;
mod debugger;
mod format;
mod snapshot;
mod symbolize;
mod unwind;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

pub use self::deadlock::Detector as DeadlockDetector;
use self::deadlock::Verdict;
use self::snapshot::{Current, Snapshot};
use self::symbolize::Symbolizer;
use self::unwind::Objects;
use crate::arch::Regs;
use crate::cell::AtomicRef;
use crate::config::{Deadlock, Traceback};
use crate::sched::g::G;
use crate::sched::{self, cfg, chores};
use crate::signal::{self, SavedAction};
use crate::sync::mutex::Mutex;
use crate::{clock, futex};

/// One dump at a time: they would only stop the world in turn.
static DUMPING: Mutex = Mutex::new();

/// `gort_dump`: writes every goroutine to `fd`. Returns 0 or an errno:
/// EBADF (not a descriptor), EDEADLK (the caller holds the world stopped:
/// the dump could not stop it, and must not allocate inside it), or what
/// write(2) said.
pub fn dump(fd: i32) -> i32 {
    // SAFETY: F_GETFL only queries the descriptor.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFL) } < 0 {
        return libc::EBADF;
    }
    if crate::world::held_by_caller() {
        return libc::EDEADLK;
    }
    write_all(fd, take().as_bytes())
}

/// Takes a dump: prepares, stops the world, collects, starts it, and
/// formats (the module comment's three steps).
fn take() -> String {
    DUMPING.lock();
    let mut objects = Objects::load();
    let mut snap = Snapshot::for_live_goroutines();
    crate::world::stop();
    let current = sched::current_g().map_or(Current::None, Current::Caller);
    snap.collect(&mut objects, current, false);
    crate::world::start();
    DUMPING.unlock();
    let mut sym = Symbolizer::new(&objects.list);
    let mut out = String::with_capacity(snap.records.len() * 256);
    format::dump(&mut out, &snap, &mut sym);
    out
}

/// Runs on the chores thread when it was asked to (`chores::want_diag`):
/// does whatever signal handlers and sysmon asked for.
pub fn serve() {
    if FATAL_WANTED.swap(false, Ordering::Acquire) {
        fatal_traceback_now();
    }
    if deadlock::DEADLOCK_WANTED.swap(false, Ordering::Acquire) {
        report_deadlock();
    }
    if SIGQUIT_WANTED.swap(false, Ordering::Acquire) {
        let mut text = String::from("gort: SIGQUIT: goroutine dump\n\n");
        text.push_str(&take());
        let _ = write_all(2, text.as_bytes());
    }
}

/// Prints the deadlock report on stderr (and aborts with `deadlock=2`),
/// unless something woke up since sysmon saw the deadlock.
fn report_deadlock() {
    if !matches!(deadlock::verdict(), Verdict::Deadlocked(_)) {
        return;
    }
    let abort = cfg().deadlock == Deadlock::Abort;
    let mut text = String::from("gort: all goroutines are asleep - deadlock!\n");
    // A deadlock has no failing goroutine: "single" shows everyone, as Go.
    if !abort || cfg().traceback != Traceback::None {
        text.push('\n');
        text.push_str(&take());
    }
    let _ = write_all(2, text.as_bytes());
    if abort {
        std::process::abort();
    }
}

// --- SIGQUIT (GORTDEBUG=sigquit=1) ---

static SIGQUIT_WANTED: AtomicBool = AtomicBool::new(false);
static OLD_SIGQUIT: SavedAction = SavedAction::new();

/// At start: with `GORTDEBUG=sigquit=1`, SIGQUIT asks for a dump on stderr
/// and the program goes on. Otherwise SIGQUIT is left alone.
pub fn init() {
    if cfg().sigquit_dump {
        signal::install(
            libc::SIGQUIT,
            on_sigquit as *const () as usize,
            libc::SA_RESTART | libc::SA_ONSTACK,
            false,
            &OLD_SIGQUIT,
        );
    }
}

/// Only asks: the chores thread takes the dump (a signal handler may not
/// allocate, and the interrupted thread may hold any lock).
extern "C" fn on_sigquit(_sig: i32) {
    let saved = signal::errno();
    SIGQUIT_WANTED.store(true, Ordering::Release);
    chores::want_diag();
    signal::set_errno(saved);
}

// --- Fatal errors (GORTTRACEBACK) ---

static FATAL_WANTED: AtomicBool = AtomicBool::new(false);
/// The failing goroutine and its registers, for the chores thread.
static FATAL_G: AtomicRef<G> = AtomicRef::none();
static FATAL_REGS: [core::sync::atomic::AtomicUsize; 3] = [const { core::sync::atomic::AtomicUsize::new(0) }; 3];
/// Set (and woken) once the traceback is written.
static FATAL_DONE: AtomicU32 = AtomicU32::new(0);
/// How long a dying goroutine waits for its traceback.
const FATAL_PATIENCE_NS: i64 = 5_000_000_000;

/// Called by the signal handler of a fatal error on the failing
/// goroutine's thread, after the error's message: prints what
/// `GORTTRACEBACK` asks for (the failing goroutine from its signal context
/// `regs`, or every goroutine) and returns once it is written, or after a
/// few seconds if the chores thread cannot do it (it may be waiting for a
/// lock the failing thread holds). Async-signal-safe.
pub fn fatal_traceback(failing: &'static G, regs: Regs) {
    if cfg().traceback == Traceback::None {
        return;
    }
    FATAL_G.store(Some(failing), Ordering::Relaxed);
    for (slot, v) in FATAL_REGS.iter().zip([regs.pc, regs.sp, regs.bp]) {
        slot.store(v, Ordering::Relaxed);
    }
    FATAL_WANTED.store(true, Ordering::Release);
    chores::want_diag();
    let deadline = clock::now() + FATAL_PATIENCE_NS;
    while FATAL_DONE.load(Ordering::Acquire) == 0 && futex::wait(&FATAL_DONE, 0, Some(deadline)) {}
}

/// The chores thread's half of `fatal_traceback`. The world is not stopped
/// (the failing thread could not stop): other goroutines' stacks are read
/// as they are.
fn fatal_traceback_now() {
    let Some(g) = FATAL_G.load(Ordering::Relaxed) else { return };
    let [pc, sp, bp] = FATAL_REGS.each_ref().map(|v| v.load(Ordering::Relaxed));
    let all = cfg().traceback == Traceback::All;
    let mut objects = Objects::load();
    let mut snap = if all { Snapshot::for_live_goroutines() } else { Snapshot::with_capacity(1, snapshot::MAX_FRAMES) };
    snap.collect(&mut objects, Current::Failing(g, Regs { pc, sp, bp }), !all);
    let mut sym = Symbolizer::new(&objects.list);
    let mut out = String::from("\n");
    format::dump(&mut out, &snap, &mut sym);
    let _ = write_all(2, out.as_bytes());
    FATAL_DONE.store(1, Ordering::Release);
    futex::wake(&FATAL_DONE, 1);
}

/// write(2) until everything is written. 0 or an errno.
fn write_all(fd: i32, mut bytes: &[u8]) -> i32 {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
            if e == libc::EINTR {
                continue;
            }
            return e;
        }
        bytes = &bytes[n as usize..];
    }
    0
}
