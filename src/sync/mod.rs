//! Synchronisation above the scheduler: the primitives of the C API, which
//! park a waiting goroutine (its M runs others meanwhile) and block a
//! waiting plain thread, so that goroutines and threads may share them.
//!
//! - `sema`: Go's runtime semaphore, a parking lot of waiters keyed by the
//!   address of a counter in user memory. Every primitive here is built on
//!   it, which is what lets each be a plain struct whose zero value is
//!   ready to use, with nothing to free.
//! - One file per primitive: `mutex` (`gort_mutex`), `waitgroup`
//!   (`gort_waitgroup`). Each enters the runtime (`sched::enter`) before it
//!   may park, keeps its fast path free of it, and is exported in
//!   `ffi/sync.rs`.
//!
//! The runtime's own locks, which block the OS thread and never park a
//! goroutine, are below the scheduler, in `futex`.

pub mod mutex;
pub mod sema;
pub mod waitgroup;
