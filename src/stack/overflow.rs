//! Stack overflow reports: a SIGSEGV handler that recognises a fault in a
//! goroutine stack's guard, says which goroutine overflowed (Go's
//! "goroutine stack exceeds limit" message, naming it), has its stack (or
//! everyone's) printed as `GORTTRACEBACK` asks (`diag::fatal_traceback`),
//! then lets the fault kill the process (core dump and exit status
//! intact), the execution trace flushed first. Other faults go to the
//! handler installed before ours, or the default action.
//!
//! Async-signal-safe: the region registry is read lock-free
//! (`super::guard_hit`), the message is formatted into a stack buffer and
//! written with write(2).

use core::fmt::Write as _;

use crate::fmtbuf::FmtBuf;
use crate::sched::g::G;
use crate::signal::{self, SavedAction};

static OLD_SIGSEGV: SavedAction = SavedAction::new();

/// SIGSEGV: recognise goroutine stack overflows; pass everything else on.
pub fn install_handler() {
    signal::install(
        libc::SIGSEGV,
        on_sigsegv as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER,
        false,
        &OLD_SIGSEGV,
    );
}

extern "C" fn on_sigsegv(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((top, size)) = super::guard_hit(addr) {
        report(addr, top, size);
        // SAFETY: G slots are initialised before any goroutine can run on
        // them; uc is the handler's ucontext.
        let (g, regs) = unsafe { (&*G::in_slot(top), crate::arch::ucontext_regs(uc)) };
        crate::diag::fatal_traceback(g, regs);
        die_of_sigsegv(info);
        return;
    }
    let old = OLD_SIGSEGV.get();
    if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
        die_of_sigsegv(info);
        return;
    }
    signal::forward(&OLD_SIGSEGV, sig, info, uc);
}

/// The process dies of this SIGSEGV, as it would have without us (core
/// dump, exit status), once the trace is flushed: with the default action
/// back, a fault recurs as the handler returns; a SIGSEGV someone sent is
/// raised again.
fn die_of_sigsegv(info: *const libc::siginfo_t) {
    crate::trace::finish_on_crash();
    // SAFETY: resetting a disposition; the kernel passes a valid siginfo.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        if (*info).si_code <= 0 {
            crate::trace::die_of(libc::SIGSEGV);
        }
    }
}

/// Prints Go-style: "goroutine stack exceeds limit", naming the goroutine.
fn report(addr: usize, top: usize, size: usize) {
    let mut bytes = [0u8; 512];
    let mut buf = FmtBuf::new(&mut bytes);
    // The G is at the top of its slot; a guard hit means it was running.
    // SAFETY: G slots are initialised before any goroutine can run on them.
    let g = unsafe { &*G::in_slot(top) };
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
