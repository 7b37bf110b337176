//! Synchronisation, from the bottom up.
//!
//! - `futex`, `lock` and `note` are the runtime's own primitives. They block
//!   the OS thread and are used only inside the runtime (run queues, channel
//!   state, idle lists), never held across a goroutine switch except where a
//!   park hands the unlock to the next context.
//! - `sema` is Go's semaphore keyed by address: a parking lot of waiters that
//!   may be goroutines (parked, their worker freed) or plain threads.
//! - `mutex` and `waitgroup` are the public `gort_mutex`/`gort_waitgroup`,
//!   built on `sema` so that their zero value is ready to use.

pub mod futex;
pub mod lock;
pub mod mutex;
pub mod note;
pub mod sema;
pub mod waitgroup;
