//! One-shot wake-up events for OS threads (Go's `note`): an M parks on its
//! note until another thread hands it work. Async-signal-safe (futex only),
//! since a preempted M waits on its note inside the SIGURG handler.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::futex;

const CLEAR: u32 = 0;
const SIGNALLED: u32 = 1;
const SLEEPING: u32 = 2;

pub struct Note {
    state: AtomicU32,
}

impl Note {
    pub const fn new() -> Note {
        Note { state: AtomicU32::new(CLEAR) }
    }

    /// Blocks until [`wakeup`](Self::wakeup) is called (or was already
    /// called since the last `clear`), then clears the note.
    pub fn sleep(&self) {
        self.sleep_until(None);
    }

    /// Like [`sleep`](Self::sleep) but gives up at the monotonic `deadline`.
    /// Returns true if woken, false on timeout. Clears the note either way.
    pub fn sleep_until(&self, deadline: Option<i64>) -> bool {
        // Acquire on every path: the sleeper sees what the waker wrote before
        // `wakeup` (the handed-over P, for instance).
        if self.state.compare_exchange(CLEAR, SLEEPING, Ordering::Acquire, Ordering::Acquire).is_ok() {
            while self.state.load(Ordering::Acquire) == SLEEPING {
                if !futex::wait(&self.state, SLEEPING, deadline) {
                    // Timed out: withdraw unless a wake-up raced in.
                    if self.state.compare_exchange(SLEEPING, CLEAR, Ordering::Acquire, Ordering::Acquire).is_ok() {
                        return false;
                    }
                }
            }
        }
        self.state.store(CLEAR, Ordering::Relaxed);
        true
    }

    pub fn wakeup(&self) {
        // Release: pairs with the sleeper's Acquire.
        if self.state.swap(SIGNALLED, Ordering::Release) == SLEEPING {
            futex::wake(&self.state, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wakeup_before_the_sleep_is_kept() {
        let n = Note::new();
        n.wakeup();
        n.sleep(); // returns at once
        // Cleared: a deadline now passes.
        assert!(!n.sleep_until(Some(crate::clock::deadline_after(1_000_000))));
    }

    #[test]
    fn another_thread_wakes_the_sleeper() {
        static N: Note = Note::new();
        let t = std::thread::spawn(|| N.sleep_until(Some(crate::clock::deadline_after(10_000_000_000))));
        std::thread::sleep(std::time::Duration::from_millis(20));
        N.wakeup();
        assert!(t.join().unwrap(), "timed out instead of waking");
    }
}
