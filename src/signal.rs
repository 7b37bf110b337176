//! Signal plumbing shared by the runtime's two handlers, preemption's
//! SIGURG (`preempt`) and the stack-overflow SIGSEGV (`stack::overflow`):
//! installing a handler while keeping the one it replaces, forwarding
//! what is not ours to that handler as the kernel would have called it,
//! and the signal stacks and masks of runtime threads.
//!
//! Everything reachable from a handler here is async-signal-safe: raw
//! system calls and reads of actions saved before the handler went in.

use core::cell::UnsafeCell;

use crate::stack;

/// A sigaction saved at install time, read by handlers.
pub struct SavedAction(UnsafeCell<libc::sigaction>);

// SAFETY: written once before our handler is installed, then only read.
unsafe impl Sync for SavedAction {}

impl SavedAction {
    pub const fn new() -> SavedAction {
        // SAFETY: sigaction is plain data; all-zero is SIG_DFL with an empty mask.
        SavedAction(UnsafeCell::new(unsafe { core::mem::zeroed() }))
    }

    /// The saved action.
    pub fn get(&self) -> &libc::sigaction {
        // SAFETY: written once at install time, before any handler or
        // thread that reads it runs, and read-only since.
        unsafe { &*self.0.get() }
    }
}

/// The signal mask of the thread that started the runtime: worker threads
/// use it (minus the signals we need), so the program's process-directed
/// signals may land on them as on any thread it made.
static PROGRAM_MASK: SavedAction = SavedAction::new();

pub fn errno() -> i32 {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(v: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = v };
}

pub fn capture_program_mask() {
    // SAFETY: reading our own mask into a static written only here, at
    // start, before any worker thread reads it.
    unsafe {
        let mask = &mut (*PROGRAM_MASK.0.get()).sa_mask;
        libc::pthread_sigmask(libc::SIG_SETMASK, core::ptr::null(), mask);
    }
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
    let mut mask = PROGRAM_MASK.get().sa_mask;
    // SAFETY: mask manipulation on the calling thread.
    unsafe {
        for sig in [libc::SIGURG, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE] {
            libc::sigdelset(&mut mask, sig);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, core::ptr::null_mut());
    }
}

/// Gives the calling thread a signal stack of `size` bytes, above a guard
/// page.
pub fn install_altstack(size: usize) {
    let Some(base) = stack::map_stack_memory(size + stack::PAGE) else { return };
    // SAFETY: a fresh mapping of ours becomes this thread's signal stack
    // for good, its lowest page a guard.
    unsafe {
        libc::mprotect(base as *mut libc::c_void, stack::PAGE, libc::PROT_NONE);
        let ss = libc::stack_t { ss_sp: (base + stack::PAGE) as *mut libc::c_void, ss_flags: 0, ss_size: size };
        libc::sigaltstack(&ss, core::ptr::null_mut());
    }
}

/// Installs `handler` for `sig`, saving the action it replaces in `old`.
pub fn install(sig: i32, handler: usize, flags: i32, block_all: bool, old: &SavedAction) {
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

/// Calls the handler that was installed before ours, as the kernel would
/// have: with its flags' calling convention and its mask (the interrupted
/// context's mask, plus its sa_mask, plus the signal unless SA_NODEFER).
pub fn forward(old: &SavedAction, sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let old = old.get();
    let handler = old.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        return; // nothing to call (SIGURG's default action is to ignore it)
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
