//! A P's local run queue: a bounded ring with one producer (the P's owner)
//! and many consumers (the owner and thieves), plus the `next` slot for the
//! goroutine the owner just readied, so a hand-off runs next on the same P
//! (Go's `runnext`).
//!
//! `head` is advanced by consumers with CAS; `tail` only by the owner. The
//! ring size is a power of two and indices wrap freely (u32 arithmetic).

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::g::G;

pub const RUNQ_SIZE: usize = 256;

pub struct RunQueue {
    head: AtomicU32,
    tail: AtomicU32,
    next: AtomicPtr<G>,
    buf: [AtomicPtr<G>; RUNQ_SIZE],
}

/// What `put` could not fit: half of the ring plus the new goroutine, to go
/// to the global queue as one batch, linked through `schedlink`.
pub struct Overflow {
    pub head: *mut G,
    pub tail: *mut G,
    pub n: u32,
}

impl RunQueue {
    pub const fn new() -> RunQueue {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
            buf: [const { AtomicPtr::new(ptr::null_mut()) }; RUNQ_SIZE],
        }
    }

    /// Owner only. Queues `g`; with `next`, `g` takes the `next` slot and the
    /// goroutine it displaces goes to the ring's tail. When the ring is full,
    /// returns the overflow batch for the global queue.
    pub fn put(&self, mut g: *mut G, next: bool) -> Option<Overflow> {
        if next {
            // Others only ever CAS `next` from a goroutine to null, so an
            // empty slot stays empty until we fill it: a plain store then
            // (the common case, a hand-off), else a swap.
            if self.next.load(Ordering::Relaxed).is_null() {
                // Release: a thief that takes g sees it fully readied.
                self.next.store(g, Ordering::Release);
                return None;
            }
            let old = self.next.swap(g, Ordering::AcqRel);
            if old.is_null() {
                return None;
            }
            g = old;
        }
        loop {
            // Acquire: slots consumers freed are really free.
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Relaxed);
            if t.wrapping_sub(h) < RUNQ_SIZE as u32 {
                self.buf[t as usize % RUNQ_SIZE].store(g, Ordering::Relaxed);
                // Release: the slot's contents before the new tail.
                self.tail.store(t.wrapping_add(1), Ordering::Release);
                return None;
            }
            if let Some(batch) = self.take_half_for_overflow(g, h, t) {
                return Some(batch);
            }
            // A thief moved `head` meanwhile; there is room now.
        }
    }

    // Cold and out of line: its batch array would otherwise give every
    // caller of `put` (the switch path among them) a 1 KiB stack frame.
    #[cold]
    #[inline(never)]
    fn take_half_for_overflow(&self, g: *mut G, h: u32, t: u32) -> Option<Overflow> {
        let n = t.wrapping_sub(h) / 2;
        debug_assert_eq!(n as usize, RUNQ_SIZE / 2);
        let mut batch = [ptr::null_mut::<G>(); RUNQ_SIZE / 2];
        for (i, slot) in batch.iter_mut().enumerate().take(n as usize) {
            *slot = self.buf[(h.wrapping_add(i as u32)) as usize % RUNQ_SIZE].load(Ordering::Relaxed);
        }
        // AcqRel: commits the consumption against concurrent thieves.
        if self.head.compare_exchange(h, h.wrapping_add(n), Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return None;
        }
        // Link the batch, then g, in queue order.
        let head = if n > 0 { batch[0] } else { g };
        for w in batch[..n as usize].windows(2) {
            // SAFETY: queued Gs are live and now ours.
            unsafe { (*w[0]).schedlink.store(w[1], Ordering::Relaxed) };
        }
        if n > 0 {
            // SAFETY: as above.
            unsafe { (*batch[n as usize - 1]).schedlink.store(g, Ordering::Relaxed) };
        }
        // SAFETY: g is the caller's runnable G.
        unsafe { (*g).schedlink.store(ptr::null_mut(), Ordering::Relaxed) };
        let tail = g;
        Some(Overflow { head, tail, n: n + 1 })
    }

    /// Owner (or a thief on its own queue). Takes `next` first, then the head.
    pub fn get(&self) -> Option<*mut G> {
        self.get_noting_next().map(|(g, _)| g)
    }

    /// Like `get`, also saying whether the goroutine came from `next` (it
    /// then inherits the current time slice, see `sched::run_prepare`).
    pub fn get_noting_next(&self) -> Option<(*mut G, bool)> {
        let next = self.next.load(Ordering::Relaxed);
        if !next.is_null()
            && self.next.compare_exchange(next, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            return Some((next, true));
        }
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            if t == h {
                return None;
            }
            let g = self.buf[h as usize % RUNQ_SIZE].load(Ordering::Relaxed);
            // AcqRel: claims the slot read above.
            if self.head.compare_exchange(h, h.wrapping_add(1), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return Some((g, false));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ring_is_empty() && self.next.load(Ordering::Relaxed).is_null()
    }

    /// Nothing queued besides (perhaps) `next`. Racy, as `len`.
    pub fn ring_is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) == self.tail.load(Ordering::Relaxed)
    }

    /// Goroutines in the ring (not counting `next`). Racy; for heuristics
    /// and traces.
    pub fn len(&self) -> u32 {
        let h = self.head.load(Ordering::Relaxed);
        let t = self.tail.load(Ordering::Relaxed);
        t.wrapping_sub(h).min(RUNQ_SIZE as u32)
    }

    /// Racy walk over the queued goroutines (`next` first); for scheddetail.
    pub fn for_each(&self, mut f: impl FnMut(*mut G)) {
        let next = self.next.load(Ordering::Relaxed);
        if !next.is_null() {
            f(next);
        }
        let (h, t) = (self.head.load(Ordering::Acquire), self.tail.load(Ordering::Acquire));
        for i in 0..t.wrapping_sub(h).min(RUNQ_SIZE as u32) {
            let g = self.buf[h.wrapping_add(i) as usize % RUNQ_SIZE].load(Ordering::Relaxed);
            if !g.is_null() {
                f(g);
            }
        }
    }

    pub fn has_next(&self) -> bool {
        !self.next.load(Ordering::Relaxed).is_null()
    }

    /// The goroutine in the `next` slot, if any (racy: for thieves).
    pub fn peek_next(&self) -> *mut G {
        self.next.load(Ordering::Acquire)
    }

    /// Takes `g` out of the `next` slot if it is still there.
    pub fn take_next(&self, g: *mut G) -> bool {
        self.next.compare_exchange(g, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Called by the owner of `self` (which must be empty): steals half of
    /// `victim`'s ring into ours and returns one goroutine to run.
    pub fn steal_from(&self, victim: &RunQueue) -> Option<*mut G> {
        let mut batch = [ptr::null_mut::<G>(); RUNQ_SIZE / 2];
        let n = victim.grab(&mut batch);
        if n == 0 {
            return None;
        }
        let g = batch[n - 1];
        if n > 1 {
            let t = self.tail.load(Ordering::Relaxed);
            for (i, &x) in batch[..n - 1].iter().enumerate() {
                self.buf[t.wrapping_add(i as u32) as usize % RUNQ_SIZE].store(x, Ordering::Relaxed);
            }
            self.tail.store(t.wrapping_add(n as u32 - 1), Ordering::Release);
        }
        Some(g)
    }

    /// Consumer side of stealing: takes half of the ring into `batch`.
    fn grab(&self, batch: &mut [*mut G; RUNQ_SIZE / 2]) -> usize {
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            let avail = t.wrapping_sub(h);
            let n = avail - avail / 2;
            if n == 0 {
                return 0;
            }
            if n as usize > RUNQ_SIZE / 2 {
                continue; // read an inconsistent head/tail pair
            }
            for (i, slot) in batch.iter_mut().enumerate().take(n as usize) {
                *slot = self.buf[h.wrapping_add(i as u32) as usize % RUNQ_SIZE].load(Ordering::Relaxed);
            }
            if self.head.compare_exchange(h, h.wrapping_add(n), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return n as usize;
            }
        }
    }
}
