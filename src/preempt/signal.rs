//! Signal plumbing: the SIGURG preemption handler, the SIGSEGV handler that
//! reports goroutine stack overflows, forwarding to the handlers installed
//! before ours, signal stacks, masks and CPU-time timers.
//!
//! Everything reachable from a handler here is async-signal-safe: raw
//! system calls, atomics, and the scheduler lock (see `sync::lock`).

use core::cell::UnsafeCell;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicI32, Ordering};

use crate::sched::m::{self, M};
use crate::stack;

const SI_TIMER: i32 = -2;
const SI_QUEUE: i32 = -1;

/// The kernel's siginfo layout for timer and queued signals (x86-64 and
/// aarch64 alike): the fields we read or write, padded to 128 bytes.
#[repr(C)]
struct RawSigInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    /// `si_pid` for queued signals, `si_tid` for timers.
    pid_or_tid: i32,
    /// `si_uid` for queued signals, `si_overrun` for timers.
    uid_or_overrun: u32,
    /// `si_value`: the M the signal is for.
    value: usize,
    _rest: [u8; 128 - 32],
}

/// A sigaction saved at install time, read by handlers.
struct SavedAction(UnsafeCell<libc::sigaction>);
// SAFETY: written once before our handler is installed, then only read.
unsafe impl Sync for SavedAction {}

static OLD_SIGURG: SavedAction = SavedAction(UnsafeCell::new(unsafe { core::mem::zeroed() }));
static OLD_SIGSEGV: SavedAction = SavedAction(UnsafeCell::new(unsafe { core::mem::zeroed() }));
/// The signal mask of the thread that started the runtime: worker threads
/// use it (minus the signals we need), so the program's process-directed
/// signals may land on them as on any thread it made.
static PROGRAM_MASK: SavedAction = SavedAction(UnsafeCell::new(unsafe { core::mem::zeroed() }));
static PID: AtomicI32 = AtomicI32::new(0);

fn errno() -> i32 {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

fn set_errno(v: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = v };
}

pub fn capture_program_mask() {
    // SAFETY: reading our own mask into a static written only here.
    unsafe {
        let mask = &mut (*PROGRAM_MASK.0.get()).sa_mask;
        libc::pthread_sigmask(libc::SIG_SETMASK, core::ptr::null(), mask);
    }
    // SAFETY: getpid has no preconditions.
    PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
}

/// Runs `f` with every signal blocked on this thread (threads created inside
/// inherit that mask and open it themselves).
pub fn with_all_blocked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: plain mask manipulation on the calling thread.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let r = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        r
    }
}

/// A worker's mask: the program's, with SIGURG (preemption) and the
/// synchronous fault signals open.
pub fn set_worker_mask() {
    // SAFETY: mask manipulation on the calling thread.
    unsafe {
        let mut mask = (*PROGRAM_MASK.0.get()).sa_mask;
        for sig in [libc::SIGURG, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE] {
            libc::sigdelset(&mut mask, sig);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, core::ptr::null_mut());
    }
}

pub fn install_altstack(size: usize) {
    // SAFETY: a fresh mapping becomes this thread's signal stack for good.
    unsafe {
        let len = size + stack::PAGE;
        let base = libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return;
        }
        libc::mprotect(base, stack::PAGE, libc::PROT_NONE);
        let ss =
            libc::stack_t { ss_sp: (base as usize + stack::PAGE) as *mut libc::c_void, ss_flags: 0, ss_size: size };
        libc::sigaltstack(&ss, core::ptr::null_mut());
    }
}

fn install(sig: i32, handler: usize, flags: i32, block_all: bool, old: &SavedAction) {
    // SAFETY: the old action is saved before ours goes in, so a handler
    // running right after installation sees it.
    unsafe {
        libc::sigaction(sig, core::ptr::null(), old.0.get());
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = flags;
        if block_all {
            libc::sigfillset(&mut sa.sa_mask);
        } else {
            libc::sigemptyset(&mut sa.sa_mask);
        }
        libc::sigaction(sig, &sa, core::ptr::null_mut());
    }
}

/// SIGURG: preemption. Every signal stays blocked while the handler runs
/// (and while it waits for a P), so the program's handlers never run on a
/// thread that holds no P; SA_RESTART keeps restartable calls restarting.
pub fn install_preempt_handler() {
    install(
        libc::SIGURG,
        on_sigurg as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART,
        true,
        &OLD_SIGURG,
    );
}

/// SIGSEGV: recognise goroutine stack overflows; pass everything else on.
pub fn install_fault_handler() {
    install(
        libc::SIGSEGV,
        on_sigsegv as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER,
        false,
        &OLD_SIGSEGV,
    );
}

/// A CPU-time timer that sends SIGURG (carrying `m`) to the calling thread.
pub fn create_cpu_timer(m: &M) -> Option<libc::timer_t> {
    // SAFETY: sigevent is plain data; timer_create fills `timer`.
    unsafe {
        let mut sev: libc::sigevent = core::mem::zeroed();
        sev.sigev_notify = libc::SIGEV_THREAD_ID;
        sev.sigev_signo = libc::SIGURG;
        sev.sigev_value = libc::sigval { sival_ptr: m as *const M as *mut libc::c_void };
        sev.sigev_notify_thread_id = libc::gettid();
        let mut timer: libc::timer_t = core::ptr::null_mut();
        (libc::timer_create(libc::CLOCK_THREAD_CPUTIME_ID, &mut sev, &mut timer) == 0).then_some(timer)
    }
}

/// Sends an on-demand preemption request to `m`'s thread: SIGURG with
/// `SI_QUEUE` and `m` as the value, so the handler can tell it from anyone
/// else's SIGURG.
pub fn send_request(m: &M) {
    let pid = PID.load(Ordering::Relaxed);
    let info = RawSigInfo {
        signo: libc::SIGURG,
        errno: 0,
        code: SI_QUEUE,
        _pad: 0,
        pid_or_tid: pid,
        // SAFETY: getuid has no preconditions.
        uid_or_overrun: unsafe { libc::getuid() },
        value: m as *const M as usize,
        _rest: [0; 96],
    };
    // SAFETY: a valid siginfo for our own process and thread.
    unsafe {
        libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, m.tid.load(Ordering::Relaxed), libc::SIGURG, &info);
    }
}

extern "C" fn on_sigurg(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let saved = errno();
    // SAFETY: the kernel passes a valid siginfo.
    let raw = unsafe { &*(info as *const RawSigInfo) };
    let ours = m::current().filter(|m| raw.value == *m as *const M as usize).and_then(|m| match raw.code {
        SI_TIMER => Some((m, true)),
        SI_QUEUE if raw.pid_or_tid == PID.load(Ordering::Relaxed) => Some((m, false)),
        _ => None,
    });
    match ours {
        Some((m, tick)) => super::on_signal(m, tick, uc),
        None => forward(&OLD_SIGURG, sig, info, uc),
    }
    set_errno(saved);
}

extern "C" fn on_sigsegv(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((top, size)) = stack::guard_hit(addr) {
        report_overflow(addr, top, size);
        // Die of the fault itself (core dump, status): default action, retry.
        // SAFETY: resetting a signal disposition.
        unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
        return;
    }
    // SAFETY: reading the action saved at install time.
    let old = unsafe { &*OLD_SIGSEGV.0.get() };
    if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
        // Let the faulting instruction run again under the default action.
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
        return;
    }
    forward(&OLD_SIGSEGV, sig, info, uc);
}

/// Prints Go-style: "goroutine stack exceeds limit", naming the goroutine.
fn report_overflow(addr: usize, top: usize, size: usize) {
    let mut bytes = [0u8; 512];
    let mut buf = crate::fmtbuf::FmtBuf::new(&mut bytes);
    // The G is at the top of its slot; a guard hit means it was running.
    let gsize = core::mem::size_of::<crate::sched::g::G>().next_multiple_of(64);
    // SAFETY: G slots are initialised before any goroutine can run on them.
    let g = unsafe { &*((top - gsize) as *const crate::sched::g::G) };
    let _ = write!(
        buf,
        "gort: goroutine {} ({}) stack exceeds {}-byte limit\ngort: fatal error: stack overflow (fault at {:#x}, stack [{:#x}, {:#x}))\n",
        g.id(),
        if g.name_str().is_empty() { "unnamed" } else { g.name_str() },
        size,
        addr,
        g.stack_lo,
        top,
    );
    // SAFETY: write(2) is async-signal-safe.
    unsafe { libc::write(2, buf.as_bytes().as_ptr() as *const libc::c_void, buf.as_bytes().len()) };
}

/// Calls the handler that was installed before ours, as the kernel would
/// have: with its flags' calling convention and its mask (the interrupted
/// context's mask, plus its sa_mask, plus the signal unless SA_NODEFER).
fn forward(old: &SavedAction, sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: written once at install time, read-only since.
    let old = unsafe { &*old.0.get() };
    let handler = old.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        return; // SIGURG's default action is to ignore it
    }
    // SAFETY: building the mask the old handler expects, then calling it
    // exactly as the kernel would have; our own mask is restored by
    // sigreturn when we return.
    unsafe {
        let ucontext = &*(uc as *const libc::ucontext_t);
        let mut mask = ucontext.uc_sigmask;
        for s in 1..65 {
            if libc::sigismember(&old.sa_mask, s) == 1 {
                libc::sigaddset(&mut mask, s);
            }
        }
        if old.sa_flags & libc::SA_NODEFER == 0 {
            libc::sigaddset(&mut mask, sig);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, core::ptr::null_mut());
        if old.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void) = core::mem::transmute(handler);
            f(sig, info, uc);
        } else {
            let f: extern "C" fn(i32) = core::mem::transmute(handler);
            f(sig);
        }
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, core::ptr::null_mut());
    }
}
