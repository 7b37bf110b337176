//! The trace's final flush when the process dies of a signal.
//!
//! With tracing on, every signal whose action is still the default one
//! that kills the process (`abort()`'s SIGABRT, a crash's SIGBUS or SIGILL,
//! SIGTERM, SIGINT...) gets a handler that flushes the trace
//! (`json::finish_on_crash`) and then lets the signal do what it would have
//! done: installed with `SA_RESETHAND`, the default action is back in place
//! when it runs, and the handler raises the signal again, which is
//! delivered as it returns. The process dies as it would have, core dump
//! and exit status included. SIGSEGV is the stack-overflow handler's, which calls the
//! same flush; SIGQUIT is left alone when `GORTDEBUG=sigquit=1` has it dump
//! goroutines instead. Signals the program handles (or ignores) are left to
//! the program.

use super::json;

/// Signals whose default action ends the process, SIGSEGV and SIGKILL/STOP
/// aside.
const FATAL: [i32; 15] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGXCPU,
    libc::SIGSYS,
];

/// Installs the flushing handler on every fatal signal still at its
/// default action (`keep` excepted).
pub fn install(keep: &[i32]) {
    for sig in FATAL.into_iter().filter(|s| !keep.contains(s)) {
        // SAFETY: sigaction with a zeroed struct to read, then a fully
        // initialised one to install; the handler is async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = core::mem::zeroed();
            if libc::sigaction(sig, core::ptr::null(), &mut old) != 0 || old.sa_sigaction != libc::SIG_DFL {
                continue;
            }
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = on_fatal_signal as *const () as usize;
            sa.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, core::ptr::null_mut());
        }
    }
}

extern "C" fn on_fatal_signal(sig: i32) {
    json::finish_on_crash();
    die_of(sig);
}

/// After a final flush in a handler whose action was reset to the default:
/// raises the signal again. Blocked until the handler returns, it is
/// delivered then, to the interrupted context (a fault's registers, for
/// the core dump), and kills the process as it would have.
pub fn die_of(sig: i32) {
    // SAFETY: raise(3) is async-signal-safe.
    unsafe { libc::raise(sig) };
}
