//! Per-architecture pieces, one small file per ISA: the context switch, the
//! initial frame of a new goroutine, the runtime's thread-local slot, reading
//! registers out of a signal's `ucontext_t`, and the Valgrind client-request
//! sequence. Everything above this module is architecture-neutral.
//!
//! x86-64 Linux is implemented; aarch64 slots in as `aarch64.rs` with the same
//! functions (see docs/design.md, "Porting").

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod x86_64;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub use x86_64::*;

/// Whether the process runs under Valgrind (its `RUNNING_ON_VALGRIND`
/// client request answers nonzero): stacks are then registered with it,
/// and asynchronous preemption stays off. Asked once. Async-signal-safe.
pub fn on_valgrind() -> bool {
    use core::sync::atomic::{AtomicU8, Ordering};
    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    static ANSWER: AtomicU8 = AtomicU8::new(UNKNOWN);
    let mut answer = ANSWER.load(Ordering::Relaxed);
    if answer == UNKNOWN {
        answer = if valgrind_request(0, 0x1001, 0, 0, 0) != 0 { YES } else { NO };
        ANSWER.store(answer, Ordering::Relaxed);
    }
    answer == YES
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("gort runs on x86-64 Linux for now; aarch64 is the next port (docs/design.md)");
