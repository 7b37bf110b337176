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

use core::sync::atomic::{AtomicU32, Ordering};

use super::g::G;
use super::p::P;
use super::{SCHED, SchedGuard, allp, lock, nprocs};
use crate::cell::AtomicRef;

pub const RUNQ_SIZE: usize = 256;

pub struct RunQueue {
    head: AtomicU32,
    tail: AtomicU32,
    next: AtomicRef<G>,
    /// Slots below `tail` hold Gs (a slot is filled before `tail` covers
    /// it and never emptied).
    buf: [AtomicRef<G>; RUNQ_SIZE],
}

/// What `put` could not fit: half of the ring plus the new goroutine, to go
/// to the global queue as one batch, linked through `schedlink`.
pub struct Overflow {
    pub head: &'static G,
    pub tail: &'static G,
    pub n: u32,
}

impl RunQueue {
    pub const fn new() -> RunQueue {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            next: AtomicRef::none(),
            buf: [const { AtomicRef::none() }; RUNQ_SIZE],
        }
    }

    /// Owner only. Queues `g`; with `next`, `g` takes the `next` slot and the
    /// goroutine it displaces goes to the ring's tail. When the ring is full,
    /// returns the overflow batch for the global queue.
    pub fn put(&self, mut g: &'static G, next: bool) -> Option<Overflow> {
        if next {
            // Others only ever CAS `next` from a goroutine to null, so an
            // empty slot stays empty until we fill it: a plain store then
            // (the common case, a hand-off), else a swap.
            if self.next.is_none(Ordering::Relaxed) {
                // Release: a thief that takes g sees it fully readied.
                self.next.store(Some(g), Ordering::Release);
                return None;
            }
            match self.next.swap(Some(g), Ordering::AcqRel) {
                None => return None,
                Some(old) => g = old,
            }
        }
        loop {
            // Acquire: slots consumers freed are really free.
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Relaxed);
            if t.wrapping_sub(h) < RUNQ_SIZE as u32 {
                self.buf[t as usize % RUNQ_SIZE].store(Some(g), Ordering::Relaxed);
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
    fn take_half_for_overflow(&self, g: &'static G, h: u32, t: u32) -> Option<Overflow> {
        let n = t.wrapping_sub(h) / 2;
        debug_assert_eq!(n as usize, RUNQ_SIZE / 2);
        let mut batch = [None; RUNQ_SIZE / 2];
        let batch = &mut batch[..n as usize];
        for (i, slot) in batch.iter_mut().enumerate() {
            *slot = Some(self.slot(h.wrapping_add(i as u32)));
        }
        // AcqRel: commits the consumption against concurrent thieves.
        if self.head.compare_exchange(h, h.wrapping_add(n), Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return None;
        }
        // Link the batch, then g, in queue order: the batch is ours now.
        let mut head = g;
        g.schedlink.store(None, Ordering::Relaxed);
        for x in batch.iter().rev() {
            let x = x.expect("a run queue slot below tail holds a G");
            x.schedlink.store(Some(head), Ordering::Relaxed);
            head = x;
        }
        Some(Overflow { head, tail: g, n: n + 1 })
    }

    /// Ring slot `i`, which is below a value of `tail` the caller read.
    #[inline(always)]
    fn slot(&self, i: u32) -> &'static G {
        let g = self.buf[i as usize % RUNQ_SIZE].load(Ordering::Relaxed);
        // SAFETY: the owner fills a slot before `tail` covers it and never
        // empties it, so every slot below a tail anyone has read holds a G
        // (maybe one a consumer has taken since: the CAS on `head` that
        // follows every read tells).
        unsafe { g.unwrap_unchecked() }
    }

    /// Owner (or a thief on its own queue). Takes `next` first, then the head.
    pub fn get(&self) -> Option<&'static G> {
        self.get_noting_next().map(|(g, _)| g)
    }

    /// Like `get`, also saying whether the goroutine came from `next` (it
    /// then inherits the current time slice, see `schedule::run_prepare`).
    pub fn get_noting_next(&self) -> Option<(&'static G, bool)> {
        if let Some(next) = self.next.load(Ordering::Relaxed)
            && self.next.compare_exchange(Some(next), None, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            return Some((next, true));
        }
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            if t == h {
                return None;
            }
            let g = self.slot(h);
            // AcqRel: claims the slot read above.
            if self.head.compare_exchange(h, h.wrapping_add(1), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return Some((g, false));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ring_is_empty() && self.next.is_none(Ordering::Relaxed)
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
    pub fn for_each(&self, mut f: impl FnMut(&'static G)) {
        if let Some(next) = self.next.load(Ordering::Relaxed) {
            f(next);
        }
        let (h, t) = (self.head.load(Ordering::Acquire), self.tail.load(Ordering::Acquire));
        for i in 0..t.wrapping_sub(h).min(RUNQ_SIZE as u32) {
            f(self.slot(h.wrapping_add(i)));
        }
    }

    pub fn has_next(&self) -> bool {
        !self.next.is_none(Ordering::Relaxed)
    }

    /// The goroutine in the `next` slot, if any (racy: for thieves).
    pub fn peek_next(&self) -> Option<&'static G> {
        self.next.load(Ordering::Acquire)
    }

    /// Takes `g` out of the `next` slot if it is still there.
    pub fn take_next(&self, g: &G) -> bool {
        self.next.compare_exchange(Some(g), None, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Called by the owner of `self` (which must be empty): steals half of
    /// `victim`'s ring into ours and returns one goroutine to run.
    pub fn steal_from(&self, victim: &RunQueue) -> Option<&'static G> {
        let mut batch = [None; RUNQ_SIZE / 2];
        let n = victim.grab(&mut batch);
        if n == 0 {
            return None;
        }
        let g = batch[n - 1].expect("a run queue slot below tail holds a G");
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
    fn grab(&self, batch: &mut [Option<&'static G>; RUNQ_SIZE / 2]) -> usize {
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
                *slot = Some(self.slot(h.wrapping_add(i as u32)));
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
    head: Option<&'static G>,
    tail: Option<&'static G>,
    pub len: u32,
}

impl GQueue {
    pub const fn new() -> GQueue {
        GQueue { head: None, tail: None, len: 0 }
    }

    /// Appends `g`, which no other list or queue holds.
    pub fn push(&mut self, g: &'static G) {
        g.schedlink.store(None, Ordering::Relaxed);
        self.push_list(g, g, 1);
    }

    /// Appends a list `head..=tail` of `n` Gs linked through `schedlink`
    /// (`tail`'s link None).
    pub fn push_list(&mut self, head: &'static G, tail: &'static G, n: u32) {
        match self.tail {
            None => self.head = Some(head),
            Some(last) => last.schedlink.store(Some(head), Ordering::Relaxed),
        }
        self.tail = Some(tail);
        self.len += n;
    }

    pub fn pop(&mut self) -> Option<&'static G> {
        let g = self.head?;
        self.head = g.schedlink.load(Ordering::Relaxed);
        if self.head.is_none() {
            self.tail = None;
        }
        self.len -= 1;
        Some(g)
    }

    /// Removes and returns the first G for which `f` holds.
    pub fn take_first(&mut self, f: impl Fn(&G) -> bool) -> Option<&'static G> {
        let mut prev: Option<&'static G> = None;
        let mut cur = self.head;
        while let Some(g) = cur {
            let next = g.schedlink.load(Ordering::Relaxed);
            if f(g) {
                match prev {
                    None => self.head = next,
                    Some(prev) => prev.schedlink.store(next, Ordering::Relaxed),
                }
                if self.tail.is_some_and(|t| core::ptr::eq(t, g)) {
                    self.tail = prev;
                }
                self.len -= 1;
                return Some(g);
            }
            prev = cur;
            cur = next;
        }
        None
    }

    /// The queued Gs, head first (for scheddetail; the caller holds the
    /// queue's lock).
    pub fn iter(&self) -> impl Iterator<Item = &'static G> + '_ {
        core::iter::successors(self.head, |g| g.schedlink.load(Ordering::Relaxed))
    }

    /// The head, without removing it.
    pub fn peek(&self) -> Option<&'static G> {
        self.head
    }
}

#[inline]
pub fn globrunq_put(lk: &mut SchedGuard, g: &'static G) {
    lk.runq.push(g);
    SCHED.runq_len.fetch_add(1, Ordering::Relaxed);
}

#[inline]
pub(super) fn wakeq_put(lk: &mut SchedGuard, g: &'static G) {
    lk.wakeq.push(g);
    SCHED.wakeq_len.fetch_add(1, Ordering::Relaxed);
}

/// Pops the global queue's head. With `batch` (the local queue is empty),
/// also moves a fair share of the rest into `p`'s local queue.
#[inline]
pub(super) fn globrunq_get(lk: &mut SchedGuard, p: &P, batch: bool) -> Option<&'static G> {
    let st = &mut *lk;
    let g = st.runq.pop()?;
    let mut moved = 1;
    if batch {
        let share = (st.runq.len / nprocs() + 1).min(RUNQ_SIZE as u32 / 2);
        for _ in 0..share {
            // A goroutine bound to a waiting M (stopped by a preemption
            // signal) stays global, where `startm` and the preemption
            // handler look for one when they have a P and no M for it. In a
            // local queue only the P's holder would find it, and that P may
            // be waiting for the chores thread to make it an M, which may be
            // waiting for malloc's lock, which this goroutine may hold.
            if st.runq.peek().is_none_or(|x| x.bound_m.load(Ordering::Relaxed).is_some()) {
                break;
            }
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
pub(super) fn wakeq_get(lk: &mut SchedGuard) -> Option<&'static G> {
    let g = lk.wakeq.pop()?;
    SCHED.wakeq_len.fetch_sub(1, Ordering::Relaxed);
    Some(g)
}

/// Queues `g` on `p`, spilling to the global queue when the ring is full.
#[inline]
pub(super) fn runq_put(p: &P, g: &'static G, next: bool) {
    if let Some(batch) = p.runq.put(g, next) {
        let mut lk = lock();
        lk.runq.push_list(batch.head, batch.tail, batch.n);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gs(n: usize) -> Vec<&'static G> {
        (0..n).map(|_| G::leak_for_test()).collect()
    }

    fn same(a: &G, b: &G) -> bool {
        core::ptr::eq(a, b)
    }

    /// Everything `q` holds, taken with `get`.
    fn drain(q: &RunQueue) -> Vec<&'static G> {
        core::iter::from_fn(|| q.get()).collect()
    }

    fn assert_order(got: &[&'static G], want: &[&'static G]) {
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(same(a, b), "position {i} differs");
        }
    }

    #[test]
    fn ring_is_fifo_and_next_runs_first() {
        let q = RunQueue::new();
        let g = gs(4);
        assert!(q.is_empty() && q.get().is_none());
        for &x in &g[..3] {
            assert!(q.put(x, false).is_none());
        }
        assert!(q.put(g[3], true).is_none());
        assert_eq!(q.len(), 3);
        assert!(q.has_next() && !q.ring_is_empty());
        let (first, from_next) = q.get_noting_next().unwrap();
        assert!(same(first, g[3]) && from_next);
        let (second, from_next) = q.get_noting_next().unwrap();
        assert!(same(second, g[0]) && !from_next);
        assert_order(&drain(&q), &g[1..3]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_new_next_sends_the_old_one_to_the_tail() {
        let q = RunQueue::new();
        let g = gs(3);
        q.put(g[0], false);
        q.put(g[1], true);
        q.put(g[2], true);
        assert!(same(q.peek_next().unwrap(), g[2]));
        assert_order(&drain(&q), &[g[2], g[0], g[1]]);
    }

    #[test]
    fn take_next_takes_only_the_goroutine_named() {
        let q = RunQueue::new();
        let g = gs(2);
        q.put(g[0], true);
        assert!(!q.take_next(g[1]));
        assert!(q.take_next(g[0]));
        assert!(!q.take_next(g[0]));
        assert!(q.is_empty());
    }

    #[test]
    fn a_full_ring_overflows_half_of_itself_and_the_newcomer_in_order() {
        let q = RunQueue::new();
        let g = gs(RUNQ_SIZE + 1);
        for &x in &g[..RUNQ_SIZE] {
            assert!(q.put(x, false).is_none());
        }
        assert_eq!(q.len() as usize, RUNQ_SIZE);
        let batch = q.put(g[RUNQ_SIZE], false).expect("a full ring overflows");
        assert_eq!(batch.n as usize, RUNQ_SIZE / 2 + 1);
        assert!(same(batch.head, g[0]) && same(batch.tail, g[RUNQ_SIZE]));
        // The batch is linked through schedlink, oldest first, ending in None.
        let linked: Vec<_> =
            core::iter::successors(Some(batch.head), |x| x.schedlink.load(Ordering::Relaxed)).collect();
        let want: Vec<_> = g[..RUNQ_SIZE / 2].iter().copied().chain([g[RUNQ_SIZE]]).collect();
        assert_order(&linked, &want);
        // The ring keeps the younger half, still in order.
        assert_order(&drain(&q), &g[RUNQ_SIZE / 2..RUNQ_SIZE]);
    }

    #[test]
    fn a_thief_takes_the_older_half_and_runs_the_youngest_of_it() {
        let (victim, thief) = (RunQueue::new(), RunQueue::new());
        let g = gs(11);
        for &x in &g[..10] {
            victim.put(x, false);
        }
        victim.put(g[10], true);
        let got = thief.steal_from(&victim).expect("something to steal");
        // Half of 10, rounded up: 5 taken, the fifth returned to run.
        assert!(same(got, g[4]));
        assert_order(&drain(&thief), &g[..4]);
        // The victim keeps the rest, its `next` slot untouched.
        assert!(same(victim.peek_next().unwrap(), g[10]));
        assert_order(&drain(&victim), &[g[10], g[5], g[6], g[7], g[8], g[9]]);
    }

    #[test]
    fn a_thief_never_takes_the_next_slot() {
        let (victim, thief) = (RunQueue::new(), RunQueue::new());
        let g = gs(1);
        victim.put(g[0], true);
        assert!(thief.steal_from(&victim).is_none());
        assert!(victim.has_next());
    }

    #[test]
    fn slots_are_reused_round_the_ring() {
        let q = RunQueue::new();
        let g = gs(3);
        // Many times around the ring, with a few goroutines queued each time.
        for round in 0..(3 * RUNQ_SIZE) {
            for &x in &g {
                assert!(q.put(x, false).is_none(), "round {round}");
            }
            assert_order(&drain(&q), &g);
        }
        let mut seen = 0;
        q.put(g[0], true);
        q.put(g[1], false);
        q.for_each(|_| seen += 1);
        assert_eq!(seen, 2);
    }

    #[test]
    fn gqueue_is_fifo_and_appends_lists() {
        let mut q = GQueue::new();
        let g = gs(5);
        assert!(q.pop().is_none() && q.peek().is_none());
        q.push(g[0]);
        q.push(g[1]);
        // A list g2 -> g3 -> g4, as a ring's overflow arrives.
        g[2].schedlink.store(Some(g[3]), Ordering::Relaxed);
        g[3].schedlink.store(Some(g[4]), Ordering::Relaxed);
        g[4].schedlink.store(None, Ordering::Relaxed);
        q.push_list(g[2], g[4], 3);
        assert_eq!(q.len, 5);
        assert!(same(q.peek().unwrap(), g[0]));
        assert_order(&q.iter().collect::<Vec<_>>(), &g);
        assert_order(&core::iter::from_fn(|| q.pop()).collect::<Vec<_>>(), &g);
        assert_eq!(q.len, 0);
        // Empty again: a push starts a fresh list.
        q.push(g[1]);
        assert!(same(q.pop().unwrap(), g[1]));
        assert!(q.pop().is_none());
    }

    #[test]
    fn gqueue_take_first_unlinks_from_anywhere() {
        let mut q = GQueue::new();
        let g = gs(4);
        for &x in &g {
            q.push(x);
        }
        let is = |want: &'static G| move |x: &G| same(x, want);
        assert!(same(q.take_first(is(g[1])).unwrap(), g[1])); // middle
        assert!(same(q.take_first(is(g[3])).unwrap(), g[3])); // tail
        assert!(q.take_first(is(g[3])).is_none());
        // The tail moved back: pushing links after g2.
        let extra = G::leak_for_test();
        q.push(extra);
        assert!(same(q.take_first(is(g[0])).unwrap(), g[0])); // head
        assert_eq!(q.len, 2);
        assert_order(&core::iter::from_fn(|| q.pop()).collect::<Vec<_>>(), &[g[2], extra]);
    }
}
