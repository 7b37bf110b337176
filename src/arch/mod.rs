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

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("gort runs on x86-64 Linux for now; aarch64 is the next port (docs/design.md)");
