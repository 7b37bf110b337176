//! Waiting parties on channels: a `Wait` is one blocked operation (a send,
//! a receive or a whole select), shared by its `Sudog`s, one per channel
//! case it waits on (Go's `sudog`).
//!
//! Claiming. A waiter can be completed by a sender, a receiver, a closer or
//! its own timeout, possibly at once on different channels: whoever wants to
//! complete it first wins `done` with one CAS, records the outcome, and
//! unparks it. Losers treat the sudog as stale: a waker that dequeues a
//! sudog it cannot claim drops it and looks at the next one. After waking,
//! the waiter removes its remaining sudogs from their queues.
//!
//! Everything here lives on the waiter's stack; a sudog is linked into a
//! queue only under its channel's lock, and its `Wait` outlives every queue
//! it is in.
//!
//! Returning waiters. A select's losing cases, and a timed wait that timed
//! out, come back to their channels after waking to unlink their sudogs
//! (`remove`). Each queue counts those future visits (`returning`): the
//! count goes up when such a sudog is queued and down when it is claimed
//! through this queue (its owner will not come back here) or when its
//! owner removes it. A sudog dropped as stale stays counted until its owner
//! comes. The channel is not freed while the count is non-zero (see
//! `Chan::release`), which makes a select safe against the release of a
//! channel it waits on without a reference count write per case.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::sched;
use crate::sched::park::Parker;
use crate::sched::timer::Timer;

/// `Wait::fired` for a wait that ended by timing out.
pub const TIMED_OUT: usize = usize::MAX;

#[repr(C)]
pub struct Wait {
    /// First field: the timer's fire function finds its Wait from it.
    pub timer: Timer,
    pub parker: Parker,
    done: AtomicU32,
    /// Several parties may race to claim this wait (a select, or a wait with
    /// a timeout). Otherwise only holders of its one channel's lock can, so
    /// claiming needs no atomic read-modify-write.
    contested: bool,
    /// Written by the claimer before unparking; read by the waiter after.
    pub fired: Cell<usize>,
    pub closed: Cell<bool>,
    /// Set by the park's tail as its very last step. Arming the timeout and
    /// unlocking the channels make the waiter wakeable while the tail still
    /// reads its context, so the waiter does not leave before this is set.
    pub tail_done: AtomicBool,
}

impl Wait {
    pub fn new(contested: bool) -> Wait {
        Wait {
            timer: Timer::new(fire_timeout),
            parker: Parker::current(),
            done: AtomicU32::new(0),
            contested,
            fired: Cell::new(TIMED_OUT),
            closed: Cell::new(false),
            tail_done: AtomicBool::new(false),
        }
    }

    /// Tries to become the party that completes this wait.
    pub fn claim(&self) -> bool {
        if !self.contested {
            // Only the holder of the channel lock gets here, once.
            self.done.store(1, Ordering::Relaxed);
            return true;
        }
        // AcqRel: the winner's outcome writes follow; the waiter's sudog
        // setup precedes.
        self.done.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Completes a claimed wait: records the case and wakes the waiter.
    ///
    /// # Safety
    /// The caller claimed this wait; it may be gone once this returns.
    pub unsafe fn complete(&self, case: usize, closed: bool) {
        self.record(case, closed);
        self.parker.unpark();
    }

    /// The claimer's outcome, for the waiter to read once woken.
    fn record(&self, case: usize, closed: bool) {
        self.fired.set(case);
        self.closed.set(closed);
    }
}

/// A goroutine's timeout fired: claim the wait and wake the waiter, which
/// then unlinks its sudogs itself (no channel lock is taken here).
///
/// # Safety
/// `t` is the timer of a live Wait, firing (see `FireFn`).
unsafe fn fire_timeout(t: *const Timer) {
    // SAFETY: the timer is the first field of a live Wait (the waiter stops
    // the timer before its Wait goes away), and only goroutines arm timers.
    unsafe {
        let w = &*t.cast::<Wait>();
        if !w.claim() {
            Timer::fire_done(t);
            return;
        }
        w.record(TIMED_OUT, false);
        let g = w.parker.goroutine().expect("only goroutines arm timers");
        Timer::fire_done(t);
        sched::ready(g);
    }
}

#[derive(Clone, Copy)]
pub struct Sudog {
    pub wait: *const Wait,
    /// Send: the value to send. Receive: where to put it (may be null).
    pub elem: *mut u8,
    /// Index of the select case (0 for a plain send or receive).
    pub case: usize,
    next: *mut Sudog,
    prev: *mut Sudog,
    /// Linked into a queue. Owner: that queue's channel lock.
    queued: bool,
    /// The owner comes back to unlink this sudog unless it is claimed
    /// through its queue (see "Returning waiters").
    returns: bool,
}

impl Sudog {
    pub fn new(wait: &Wait, elem: *mut u8, case: usize, returns: bool) -> Sudog {
        Sudog { wait, elem, case, next: ptr::null_mut(), prev: ptr::null_mut(), queued: false, returns }
    }

    pub fn wait(&self) -> &Wait {
        // SAFETY: a sudog never outlives its Wait.
        unsafe { &*self.wait }
    }
}

/// A FIFO of sudogs. All operations need the owning channel's lock.
pub struct WaitQ {
    first: *mut Sudog,
    last: *mut Sudog,
    /// Owners that will come back to `remove` a sudog of theirs.
    returning: usize,
}

impl WaitQ {
    pub const fn new() -> WaitQ {
        WaitQ { first: ptr::null_mut(), last: ptr::null_mut(), returning: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_null()
    }

    /// How many owners will still come back to this queue.
    pub fn returning(&self) -> usize {
        self.returning
    }

    /// # Safety
    /// Channel lock held; `s` stays alive while queued.
    pub unsafe fn enqueue(&mut self, s: *mut Sudog) {
        // SAFETY: per the caller.
        unsafe {
            (*s).next = ptr::null_mut();
            (*s).prev = self.last;
            (*s).queued = true;
            self.returning += (*s).returns as usize;
            if self.last.is_null() {
                self.first = s;
            } else {
                (*self.last).next = s;
            }
            self.last = s;
        }
    }

    /// Takes the first sudog whose wait we manage to claim, dropping stale
    /// ones (already claimed through another case or by a timeout).
    ///
    /// # Safety
    /// Channel lock held.
    pub unsafe fn dequeue_claimed(&mut self) -> Option<*mut Sudog> {
        while !self.first.is_null() {
            let s = self.first;
            // SAFETY: queued sudogs are alive (their waiter is blocked).
            unsafe {
                self.unlink(s);
                if (*s).wait().claim() {
                    self.returning -= (*s).returns as usize;
                    return Some(s);
                }
            }
        }
        None
    }

    /// Unlinks the first sudog without claiming it (for a closer's private
    /// list of waiters it already claimed).
    ///
    /// # Safety
    /// The queue's owner has exclusive access.
    pub unsafe fn pop_front(&mut self) -> Option<*mut Sudog> {
        let s = self.first;
        if s.is_null() {
            return None;
        }
        // SAFETY: per the caller.
        unsafe { self.unlink(s) };
        Some(s)
    }

    /// The owner's visit: removes its returning sudog `s` if it is still
    /// queued here.
    ///
    /// # Safety
    /// Channel lock held; `s` was queued here with `returns` set and was not
    /// claimed through this queue.
    pub unsafe fn remove(&mut self, s: *mut Sudog) {
        // SAFETY: per the caller.
        unsafe {
            debug_assert!((*s).returns);
            if (*s).queued {
                self.unlink(s);
            }
        }
        self.returning -= 1;
    }

    /// # Safety
    /// Channel lock held; `s` is queued here.
    unsafe fn unlink(&mut self, s: *mut Sudog) {
        // SAFETY: s is queued here; lock held.
        unsafe {
            let (prev, next) = ((*s).prev, (*s).next);
            if prev.is_null() {
                self.first = next;
            } else {
                (*prev).next = next;
            }
            if next.is_null() {
                self.last = prev;
            } else {
                (*next).prev = prev;
            }
            (*s).next = ptr::null_mut();
            (*s).prev = ptr::null_mut();
            (*s).queued = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dequeues every sudog it can claim, returning their cases.
    fn claim_all(q: &mut WaitQ) -> Vec<usize> {
        // SAFETY: the queue is ours alone (it stands for the channel lock),
        // and its sudogs outlive it in the caller's frame.
        core::iter::from_fn(|| unsafe { q.dequeue_claimed() }).map(|s| unsafe { (*s).case }).collect()
    }

    #[test]
    fn a_returning_waiter_unlinks_itself_from_the_middle() {
        let wait = Wait::new(true);
        let mut sd: Vec<Sudog> = (0..3).map(|case| Sudog::new(&wait, ptr::null_mut(), case, true)).collect();
        let mut q = WaitQ::new();
        // SAFETY: sudogs outlive the queue's use of them; one context only.
        unsafe {
            for s in sd.iter_mut() {
                q.enqueue(s);
            }
            assert_eq!(q.returning(), 3);
            q.remove(&mut sd[1]);
        }
        assert_eq!(q.returning(), 2);
        assert!(!sd[1].queued);
        // The first claim wins the shared wait; the other sudog is stale.
        assert_eq!(claim_all(&mut q), [0]);
        assert!(q.is_empty());
        // Claimed through this queue: its owner will not come back here.
        assert_eq!(q.returning(), 1);
        // The stale one's owner still comes back, and finds it unlinked.
        // SAFETY: as above; sd[2] was queued with `returns` and not claimed.
        unsafe { q.remove(&mut sd[2]) };
        assert_eq!(q.returning(), 0);
    }

    #[test]
    fn waiters_are_claimed_in_fifo_order_and_stale_ones_dropped() {
        let waits: Vec<Wait> = (0..4).map(|_| Wait::new(true)).collect();
        let mut sd: Vec<Sudog> =
            waits.iter().enumerate().map(|(case, w)| Sudog::new(w, ptr::null_mut(), case, false)).collect();
        let mut q = WaitQ::new();
        // SAFETY: as in the test above.
        unsafe {
            for s in sd.iter_mut() {
                q.enqueue(s);
            }
        }
        // Waiter 1 was completed elsewhere (another case, its timeout).
        assert!(waits[1].claim());
        assert_eq!(claim_all(&mut q), [0, 2, 3]);
        assert_eq!(q.returning(), 0);
    }

    #[test]
    fn a_closer_unlinks_its_private_list_front_first() {
        let wait = Wait::new(false);
        let mut sd: Vec<Sudog> = (0..3).map(|case| Sudog::new(&wait, ptr::null_mut(), case, false)).collect();
        let mut q = WaitQ::new();
        // SAFETY: as in the tests above.
        let order: Vec<usize> = unsafe {
            for s in sd.iter_mut() {
                q.enqueue(s);
            }
            core::iter::from_fn(|| q.pop_front()).map(|s| (*s).case).collect()
        };
        assert_eq!(order, [0, 1, 2]);
        assert!(q.is_empty() && sd.iter().all(|s| !s.queued));
    }

    #[test]
    fn an_uncontested_wait_is_claimed_by_its_only_claimer() {
        let wait = Wait::new(false);
        assert!(wait.claim());
        // Contested: exactly one claim wins.
        let wait = Wait::new(true);
        assert!(wait.claim());
        assert!(!wait.claim());
    }
}
