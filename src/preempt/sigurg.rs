//! The preemption signal: the SIGURG handler, how it tells our signals
//! from anyone else's, the CPU-time timers that send them, and on-demand
//! requests.
//!
//! Everything reachable from the handler here is async-signal-safe: raw
//! system calls, atomics, and the scheduler lock (see `futex::lock`).

use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};

use crate::sched::m::{self, M};
use crate::signal::{self, SavedAction};

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

static OLD_SIGURG: SavedAction = SavedAction::new();
static PID: AtomicI32 = AtomicI32::new(0);

/// SIGURG: preemption. Every signal stays blocked while the handler runs
/// (and while it waits for a P), so the program's handlers never run on a
/// thread that holds no P; SA_RESTART keeps restartable calls restarting.
pub fn install_handler() {
    // SAFETY: getpid has no preconditions.
    PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    signal::install(
        libc::SIGURG,
        on_sigurg as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART,
        true,
        &OLD_SIGURG,
    );
}

/// A CPU-time timer that sends SIGURG (carrying `m`) to the calling thread.
pub fn create_cpu_timer(m: &M) -> Option<libc::timer_t> {
    // SAFETY: sigevent is plain data; timer_create fills `timer`.
    unsafe {
        let mut sev: libc::sigevent = core::mem::zeroed();
        sev.sigev_notify = libc::SIGEV_THREAD_ID;
        sev.sigev_signo = libc::SIGURG;
        sev.sigev_value = libc::sigval { sival_ptr: ptr::from_ref(m).cast_mut().cast() };
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
        value: ptr::from_ref(m) as usize,
        _rest: [0; 96],
    };
    // SAFETY: a valid siginfo for our own process and thread.
    unsafe {
        libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, m.tid.load(Ordering::Relaxed), libc::SIGURG, &info);
    }
}

extern "C" fn on_sigurg(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let saved = signal::errno();
    // SAFETY: the kernel passes a valid siginfo.
    let raw = unsafe { &*(info as *const RawSigInfo) };
    let ours = m::current().filter(|m| raw.value == ptr::from_ref(*m) as usize).and_then(|m| match raw.code {
        SI_TIMER => Some((m, true)),
        SI_QUEUE if raw.pid_or_tid == PID.load(Ordering::Relaxed) => Some((m, false)),
        _ => None,
    });
    match ours {
        Some((m, tick)) => super::on_signal(m, tick, uc),
        None => signal::forward(&OLD_SIGURG, sig, info, uc),
    }
    signal::set_errno(saved);
}
