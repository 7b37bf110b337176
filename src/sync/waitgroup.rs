//! `gort_waitgroup`: Go's `sync.WaitGroup`. One 64-bit word holds the counter
//! (high half) and the number of waiters (low half); waiters sleep on the
//! address-keyed semaphore in the next word. Zero is ready to use.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::sema;
use crate::sched::{self, g::WaitReason};

#[repr(C)]
pub struct WaitGroup {
    state: AtomicU64,
    sema: AtomicU32,
    _pad: u32,
}

impl WaitGroup {
    pub const fn new() -> WaitGroup {
        WaitGroup { state: AtomicU64::new(0), sema: AtomicU32::new(0), _pad: 0 }
    }

    /// Adds `delta` to the counter; when it reaches zero, releases every
    /// waiter. Returns false (changing nothing) if the counter would go
    /// negative or overflow.
    pub fn add(&self, delta: i64) -> bool {
        let mut old = self.state.load(Ordering::Relaxed);
        let (count, waiters) = loop {
            let count = (old >> 32) as i64 + delta;
            if !(0..=u32::MAX as i64).contains(&count) {
                return false;
            }
            let new = ((count as u64) << 32) | (old & 0xffff_ffff);
            // AcqRel: Done publishes the goroutine's work to the waiter.
            match self.state.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break (count, (old & 0xffff_ffff) as u32),
                Err(o) => old = o,
            }
        };
        if count > 0 || waiters == 0 {
            return true;
        }
        // Counter hit zero with waiters: nobody may Add or Wait concurrently
        // now (Go's rule), so reset and wake them all in one release.
        self.state.store(0, Ordering::Relaxed);
        sema::release(&self.sema, waiters, false);
        true
    }

    pub fn wait(&self) {
        let mut old = self.state.load(Ordering::Acquire);
        loop {
            if old >> 32 == 0 {
                return;
            }
            match self.state.compare_exchange_weak(old, old + 1, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => break,
                Err(o) => old = o,
            }
        }
        let _rt = sched::enter();
        sema::acquire(&self.sema, false, WaitReason::WaitGroup);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_every_done_and_rejects_a_negative_count() {
        static WG: WaitGroup = WaitGroup::new();
        assert!(!WG.add(-1), "below zero");
        WG.wait(); // zero: returns at once
        assert!(WG.add(3));
        let threads: Vec<_> = (0..3)
            .map(|i| {
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(5 * i));
                    assert!(WG.add(-1));
                })
            })
            .collect();
        WG.wait();
        assert_eq!(WG.state.load(Ordering::Relaxed) >> 32, 0);
        for t in threads {
            t.join().unwrap();
        }
        assert!(!WG.add(i64::from(u32::MAX) + 1), "counter overflow");
    }
}
