//! Timers: per-P min-heaps of deadlines, each behind its own lock.
//!
//! A `Timer` is embedded in whatever waits on it (a sleeping goroutine's
//! frame, a channel waiter) and is added to the heap of the P its goroutine
//! runs on. Heaps are run by their P's M when it schedules, by thieves, and
//! by sysmon when a P is too busy or idle; whoever pops a timer first fires
//! it. Only goroutines use timers: plain threads wait with futex timeouts.
//!
//! Lifecycle: `IDLE -> QUEUED -> FIRING -> DONE`, or `QUEUED -> IDLE` when
//! stopped in time. The owner of a timer must call [`Timer::stop`] before
//! its memory goes away; `stop` waits out a fire in progress, until the
//! fire function declares itself done with the timer and its enclosing
//! struct ([`Timer::fire_done`]).

use core::ptr;
use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering};

use crate::cell::OwnedCell;
use crate::futex::Locked;
use crate::mapvec::MapVec;

const T_IDLE: u32 = 0;
const T_QUEUED: u32 = 1;
const T_FIRING: u32 = 2;
const T_DONE: u32 = 3;

/// Fire function: called with the timer (first field of its container)
/// after it expired, on whatever thread ran the heap, with no lock held. It
/// must call [`Timer::fire_done`] once, after its last touch of the timer
/// and its container and before it wakes their owner: an owner woken first
/// would only spin in `stop` until then (while the waker finishes a
/// wake-up system call, say).
pub type FireFn = unsafe fn(*const Timer);

#[repr(C)]
pub struct Timer {
    /// Heap index while queued. Owner: the heap lock.
    index: OwnedCell<usize>,
    heap: AtomicPtr<TimerHeap>,
    state: AtomicU32,
    fire: FireFn,
}

impl Timer {
    pub const fn new(fire: FireFn) -> Timer {
        Timer { index: OwnedCell::new(0), heap: AtomicPtr::new(ptr::null_mut()), state: AtomicU32::new(T_IDLE), fire }
    }

    /// Called by the timer's fire function when it is done with the timer
    /// and its container (see [`FireFn`]); they may be gone once it returns.
    ///
    /// # Safety
    /// `t` is firing, and this is its fire function's last touch of it.
    pub unsafe fn fire_done(t: *const Timer) {
        // Release: the fire's reads and writes of the container come first.
        // SAFETY: per the caller, `t` is still valid here.
        unsafe { (*t).state.store(T_DONE, Ordering::Release) };
    }

    /// Removes the timer if still queued. Returns true if it was removed
    /// before firing; otherwise waits until a fire in progress has returned.
    pub fn stop(&self) -> bool {
        loop {
            // Acquire: if we see no heap, we see the FIRING/DONE state that
            // was stored before the heap pointer was cleared.
            let heap = self.heap.load(Ordering::Acquire);
            if heap.is_null() {
                while self.state.load(Ordering::Acquire) == T_FIRING {
                    core::hint::spin_loop();
                }
                return false;
            }
            // SAFETY: heaps live in Ps, which are never freed (and a test's
            // heap outlives its timers).
            let heap = unsafe { &*heap };
            let mut entries = heap.entries.lock();
            if core::ptr::eq(self.heap.load(Ordering::Relaxed), heap) {
                // SAFETY: we hold the heap's lock, which owns the index of
                // its timers, and the timer is in it; its timers are live.
                unsafe { entries.remove(self.index.get()) };
                heap.publish_next(&entries);
                self.heap.store(ptr::null_mut(), Ordering::Relaxed);
                self.state.store(T_IDLE, Ordering::Relaxed);
                return true;
            }
        }
    }
}

/// A queued timer and a copy of its deadline: sifting compares entries of
/// the heap array only. The timers themselves live in goroutine stacks,
/// one page (and TLB entry) apart each; reading their deadlines made every
/// heap operation a string of cache and TLB misses.
#[derive(Clone, Copy)]
struct Entry {
    when: i64,
    timer: *const Timer,
}

/// A heap's entries, in heap order (the earliest deadline first). The
/// heap's lock guards them, and the `index` of every timer among them.
struct Entries(MapVec<Entry>);

// SAFETY: the timers are reached only under the heap's lock, and each
// stays valid while queued (see `TimerHeap::add`).
unsafe impl Send for Entries {}

impl Entries {
    fn earliest(&self) -> i64 {
        self.0.first().map_or(i64::MAX, |e| e.when)
    }

    /// # Safety
    /// The heap's lock is held (it is: we are its data), and every queued
    /// timer, `e.timer` included, is valid.
    unsafe fn push(&mut self, e: Entry) {
        self.0.push(e);
        // SAFETY: per the caller.
        unsafe { self.sift_up(self.0.len() - 1) };
    }

    /// Removes the entry at `i`.
    ///
    /// # Safety
    /// As for `push`; `i` is a valid index.
    unsafe fn remove(&mut self, i: usize) {
        let last = self.0.pop().expect("remove from an empty timer heap");
        if i < self.0.len() {
            // The last entry fills the hole, then moves to its place.
            self.0[i] = last;
            // SAFETY: per the caller.
            unsafe {
                if i > 0 && self.0[(i - 1) / 2].when > last.when {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
        }
    }

    /// Moves the entry at `i` up to its place, shifting parents down; each
    /// timer moved learns its new index.
    ///
    /// # Safety
    /// As for `push`.
    unsafe fn sift_up(&mut self, mut i: usize) {
        let heap = &mut self.0;
        let e = heap[i];
        // SAFETY: the timers are valid and their indexes ours (caller).
        unsafe {
            while i > 0 {
                let parent = (i - 1) / 2;
                if heap[parent].when <= e.when {
                    break;
                }
                heap[i] = heap[parent];
                (*heap[i].timer).index.set(i);
                i = parent;
            }
            heap[i] = e;
            (*e.timer).index.set(i);
        }
    }

    /// Moves the entry at `i` down to its place, shifting the smaller child
    /// up at each level.
    ///
    /// # Safety
    /// As for `push`.
    unsafe fn sift_down(&mut self, mut i: usize) {
        let heap = &mut self.0;
        let e = heap[i];
        // SAFETY: the timers are valid and their indexes ours (caller).
        unsafe {
            loop {
                let l = 2 * i + 1;
                if l >= heap.len() {
                    break;
                }
                let r = l + 1;
                let c = if r < heap.len() && heap[r].when < heap[l].when { r } else { l };
                if heap[c].when >= e.when {
                    break;
                }
                heap[i] = heap[c];
                (*heap[i].timer).index.set(i);
                i = c;
            }
            heap[i] = e;
            (*e.timer).index.set(i);
        }
    }
}

pub struct TimerHeap {
    entries: Locked<Entries>,
    /// Earliest deadline in the heap, i64::MAX when empty; read without the
    /// lock to decide whether running the heap is worth it.
    next: AtomicI64,
}

impl TimerHeap {
    pub const fn new() -> TimerHeap {
        TimerHeap { entries: Locked::new(Entries(MapVec::new())), next: AtomicI64::new(i64::MAX) }
    }

    pub fn next_when(&self) -> i64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Publishes the earliest deadline, after a change under the lock.
    fn publish_next(&self, entries: &Entries) {
        self.next.store(entries.earliest(), Ordering::Relaxed);
    }

    /// Queues `t` to fire at `when`.
    ///
    /// # Safety
    /// `t` must be idle and stay valid until it fires or is stopped.
    pub unsafe fn add(&self, t: *const Timer, when: i64) {
        let mut entries = self.entries.lock();
        // SAFETY: t is idle (caller), so we may write its fields; we hold the
        // lock, and queued timers are valid.
        unsafe {
            let tr = &*t;
            tr.state.store(T_QUEUED, Ordering::Relaxed);
            entries.push(Entry { when, timer: t });
            tr.heap.store(ptr::from_ref(self).cast_mut(), Ordering::Release);
        }
        self.publish_next(&entries);
    }

    /// Moves every timer to `to` (a P going away gives its timers to P0).
    pub fn move_into(&self, to: &TimerHeap) {
        let mut from = self.entries.lock();
        let mut into = to.entries.lock();
        for e in from.0.take() {
            // SAFETY: both locks held; queued timers are valid.
            unsafe {
                into.push(e);
                (*e.timer).heap.store(ptr::from_ref(to).cast_mut(), Ordering::Release);
            }
        }
        self.publish_next(&from);
        to.publish_next(&into);
    }

    /// Fires every timer due at `now`. Returns how many fired.
    pub fn run(&self, now: i64) -> usize {
        if self.next_when() > now {
            return 0;
        }
        let mut fired = 0;
        loop {
            let mut entries = self.entries.lock();
            let Some(t) = entries.0.first().filter(|e| e.when <= now).map(|e| e.timer) else { return fired };
            // SAFETY: lock held; t is in the heap, so valid until it fires.
            unsafe {
                entries.remove(0);
                self.publish_next(&entries);
                // FIRING before the heap pointer is cleared (see `stop`).
                (*t).state.store(T_FIRING, Ordering::Relaxed);
                (*t).heap.store(ptr::null_mut(), Ordering::Release);
                drop(entries);
                ((*t).fire)(t);
            }
            fired += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static FIRED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    }

    /// A timer with an id, as a waiter embeds one.
    #[repr(C)]
    struct Tagged {
        timer: Timer,
        id: usize,
    }

    /// # Safety
    /// `t` is the timer of a live Tagged, firing.
    unsafe fn record(t: *const Timer) {
        // SAFETY: every timer in this test is the first field of a Tagged.
        let id = unsafe { (*t.cast::<Tagged>()).id };
        // SAFETY: done with the timer.
        unsafe { Timer::fire_done(t) };
        FIRED.with(|f| f.borrow_mut().push(id));
    }

    /// Deadlines from a fixed pseudo-random sequence, with repeats.
    fn deadline(i: usize) -> i64 {
        ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as i64
    }

    #[test]
    fn fires_in_deadline_order_and_stopped_timers_never() {
        let heap = TimerHeap::new();
        let n = 1000;
        let timers: Vec<Tagged> = (0..n).map(|id| Tagged { timer: Timer::new(record), id }).collect();
        for (i, t) in timers.iter().enumerate() {
            // SAFETY: idle timers that outlive the heap's use of them.
            unsafe { heap.add(ptr::from_ref(t).cast(), deadline(i)) };
        }
        // Stop every third timer (from anywhere in the heap).
        for t in timers.iter().step_by(3) {
            assert!(t.timer.stop());
        }
        assert_eq!(heap.next_when(), (0..n).filter(|i| i % 3 != 0).map(deadline).min().unwrap());
        // Run the heap in steps; each step fires exactly the due timers.
        let mut fired = 0;
        for now in (0..=1024).step_by(64) {
            fired += heap.run(now);
            assert!(heap.next_when() > now);
        }
        assert_eq!(heap.next_when(), i64::MAX);
        let order = FIRED.with(|f| f.take());
        assert_eq!(fired, order.len());
        let mut expected: Vec<usize> = (0..n).filter(|i| i % 3 != 0).collect();
        expected.sort_by_key(|&i| deadline(i));
        let deadlines = |v: &[usize]| v.iter().map(|&i| deadline(i)).collect::<Vec<_>>();
        assert_eq!(deadlines(&order), deadlines(&expected));
        for t in &timers {
            assert!(!t.timer.stop(), "timer {} still queued", t.id);
        }
    }

    fn tagged(ids: core::ops::Range<usize>) -> Vec<Tagged> {
        ids.map(|id| Tagged { timer: Timer::new(record), id }).collect()
    }

    #[test]
    fn stopping_the_earliest_publishes_the_next_deadline() {
        let heap = TimerHeap::new();
        let timers = tagged(0..3);
        for (t, when) in timers.iter().zip([30, 10, 20]) {
            // SAFETY: idle timers that outlive the heap's use of them.
            unsafe { heap.add(ptr::from_ref(t).cast(), when) };
        }
        assert_eq!(heap.next_when(), 10);
        assert!(timers[1].timer.stop());
        assert_eq!(heap.next_when(), 20);
        assert!(!timers[1].timer.stop(), "stopped twice");
        assert_eq!(heap.run(25), 1);
        assert_eq!(FIRED.with(|f| f.take()), [2]);
        assert!(timers[0].timer.stop());
        assert_eq!(heap.next_when(), i64::MAX);
        assert_eq!(heap.run(i64::MAX), 0);
    }

    #[test]
    fn moved_timers_fire_from_their_new_heap() {
        let (from, to) = (TimerHeap::new(), TimerHeap::new());
        let timers = tagged(0..6);
        for (i, t) in timers.iter().enumerate() {
            let heap = if i % 2 == 0 { &from } else { &to };
            // SAFETY: as above.
            unsafe { heap.add(ptr::from_ref(t).cast(), 100 - i as i64) };
        }
        from.move_into(&to);
        assert_eq!(from.next_when(), i64::MAX);
        assert_eq!(to.next_when(), 95);
        // A moved timer is stopped in the heap it moved to.
        assert!(timers[4].timer.stop());
        assert_eq!(from.run(i64::MAX), 0);
        assert_eq!(to.run(i64::MAX), 5);
        assert_eq!(FIRED.with(|f| f.take()), [5, 3, 2, 1, 0]);
    }
}
