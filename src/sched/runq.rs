//! A P's local run queue: a bounded ring with one producer (the P's owner)
//! and many consumers (the owner and thieves), plus the `next` slot for the
//! goroutine the owner just readied, so a hand-off runs next on the same P
//! (Go's `runnext`).
//!
//! `head` is advanced by consumers with CAS; `tail` only by the owner. The
//! ring size is a power of two and indices wrap freely (u32 arithmetic).
//!
//! Beside the rings, two FIFOs behind the scheduler lock: the global queue
//! (goroutines spawned by plain threads, preempted ones, a full ring's
//! overflow) and the wake queue. A goroutine readied from a running
//! goroutine goes to its P's `next` slot, so a channel hand-off runs next on
//! the same P without a lock; one readied from outside any P (a timer run by
//! sysmon, a plain thread's channel send) goes to the wake queue, which
//! every scheduling decision checks first and which sysmon watches to
//! trigger wake-up preemption.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::g::G;
use super::p::P;
use super::{SCHED, SchedGuard, allp, lock, nprocs};

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

// ---------------------------------------------------------------------------
// The global and wake queues.

/// A FIFO of Gs linked through `schedlink`.
pub struct GQueue {
    head: *mut G,
    tail: *mut G,
    pub len: u32,
}

impl GQueue {
    pub const fn new() -> GQueue {
        GQueue { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    pub fn push(&mut self, g: *mut G) {
        // SAFETY: g is a live G owned by the caller.
        unsafe { (*g).schedlink.store(ptr::null_mut(), Ordering::Relaxed) };
        self.push_list(g, g, 1);
    }

    /// Appends a linked list `head..=tail` of `n` Gs.
    pub fn push_list(&mut self, head: *mut G, tail: *mut G, n: u32) {
        if self.tail.is_null() {
            self.head = head;
        } else {
            // SAFETY: our tail is a live queued G.
            unsafe { (*self.tail).schedlink.store(head, Ordering::Relaxed) };
        }
        self.tail = tail;
        self.len += n;
    }

    pub fn pop(&mut self) -> Option<*mut G> {
        if self.head.is_null() {
            return None;
        }
        let g = self.head;
        // SAFETY: queued Gs are live.
        self.head = unsafe { (*g).schedlink.load(Ordering::Relaxed) };
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        Some(g)
    }

    /// Removes and returns the first G for which `f` holds.
    pub fn take_first(&mut self, f: impl Fn(&G) -> bool) -> Option<*mut G> {
        let mut prev: *mut G = ptr::null_mut();
        let mut cur = self.head;
        // SAFETY: queued Gs are live; the caller holds the queue's lock.
        unsafe {
            while !cur.is_null() {
                let next = (*cur).schedlink.load(Ordering::Relaxed);
                if f(&*cur) {
                    if prev.is_null() {
                        self.head = next;
                    } else {
                        (*prev).schedlink.store(next, Ordering::Relaxed);
                    }
                    if self.tail == cur {
                        self.tail = prev;
                    }
                    self.len -= 1;
                    return Some(cur);
                }
                prev = cur;
                cur = next;
            }
        }
        None
    }

    /// The head, without removing it (trace walks the queue from here).
    pub fn peek(&self) -> Option<*mut G> {
        (!self.head.is_null()).then_some(self.head)
    }
}

#[inline]
pub fn globrunq_put(lk: &mut SchedGuard, g: *mut G) {
    lk.st().runq.push(g);
    SCHED.runq_len.fetch_add(1, Ordering::Relaxed);
}

#[inline]
pub(super) fn wakeq_put(lk: &mut SchedGuard, g: *mut G) {
    lk.st().wakeq.push(g);
    SCHED.wakeq_len.fetch_add(1, Ordering::Relaxed);
}

/// Pops the global queue's head. With `batch` (the local queue is empty),
/// also moves a fair share of the rest into `p`'s local queue.
#[inline]
pub(super) fn globrunq_get(lk: &mut SchedGuard, p: &P, batch: bool) -> Option<*mut G> {
    let st = lk.st();
    let g = st.runq.pop()?;
    let mut moved = 1;
    if batch {
        let share = (st.runq.len / nprocs() + 1).min(RUNQ_SIZE as u32 / 2);
        for _ in 0..share {
            let Some(x) = st.runq.pop() else { break };
            // Cannot overflow: the local queue was empty.
            let _ = p.runq.put(x, false);
            moved += 1;
        }
    }
    SCHED.runq_len.fetch_sub(moved, Ordering::Relaxed);
    Some(g)
}

#[inline]
pub(super) fn wakeq_get(lk: &mut SchedGuard) -> Option<*mut G> {
    let g = lk.st().wakeq.pop()?;
    SCHED.wakeq_len.fetch_sub(1, Ordering::Relaxed);
    Some(g)
}

/// Queues `g` on `p`, spilling to the global queue when the ring is full.
#[inline]
pub(super) fn runq_put(p: &P, g: *mut G, next: bool) {
    if let Some(batch) = p.runq.put(g, next) {
        let mut lk = lock();
        lk.st().runq.push_list(batch.head, batch.tail, batch.n);
        SCHED.runq_len.fetch_add(batch.n, Ordering::Relaxed);
    }
}

/// Whether anything besides the running goroutines wants a P (used by the
/// preemption handler to skip pointless preemptions).
#[inline]
pub fn others_waiting(p: &P) -> bool {
    !p.runq.is_empty() || global_work() || others_queued(p)
}

#[inline]
pub fn global_work() -> bool {
    SCHED.runq_len.load(Ordering::Relaxed) > 0 || SCHED.wakeq_len.load(Ordering::Relaxed) > 0
}

/// Whether a P other than `p` has goroutines queued locally (which an M
/// given `p` would steal). Racy, O(Ps); async-signal-safe.
#[inline]
pub(super) fn others_queued(p: &P) -> bool {
    (0..nprocs()).any(|id| id != p.id && !allp(id).runq.is_empty())
}
