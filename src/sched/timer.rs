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
//! its memory goes away; `stop` waits out a fire in progress, so a fire
//! function may touch the timer's enclosing struct until it returns.

use core::ptr;
use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering};

use super::cell::OwnedCell;
use crate::mapvec::MapVec;
use crate::sync::lock::RtLock;

const T_IDLE: u32 = 0;
const T_QUEUED: u32 = 1;
const T_FIRING: u32 = 2;
const T_DONE: u32 = 3;

/// Fire function: called with the timer (first field of its container)
/// after it expired, on whatever thread ran the heap, with no lock held.
pub type FireFn = unsafe fn(*mut Timer);

#[repr(C)]
pub struct Timer {
    /// Deadline, monotonic ns. Owner: whoever holds the heap lock, or the
    /// timer's owner while it is idle.
    when: OwnedCell<i64>,
    /// Heap index while queued. Owner: the heap lock.
    index: OwnedCell<usize>,
    heap: AtomicPtr<TimerHeap>,
    state: AtomicU32,
    fire: FireFn,
}

impl Timer {
    pub const fn new(fire: FireFn) -> Timer {
        Timer {
            when: OwnedCell::new(0),
            index: OwnedCell::new(0),
            heap: AtomicPtr::new(ptr::null_mut()),
            state: AtomicU32::new(T_IDLE),
            fire,
        }
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
            // SAFETY: heaps live in Ps, which are never freed.
            let heap = unsafe { &*heap };
            heap.lock.lock();
            if core::ptr::eq(self.heap.load(Ordering::Relaxed), heap) {
                // SAFETY: we hold the heap lock and the timer is in it.
                unsafe { heap.remove(self.index.get()) };
                self.heap.store(ptr::null_mut(), Ordering::Relaxed);
                self.state.store(T_IDLE, Ordering::Relaxed);
                // SAFETY: taken above.
                unsafe { heap.lock.unlock() };
                return true;
            }
            // SAFETY: taken above.
            unsafe { heap.lock.unlock() };
        }
    }
}

pub struct TimerHeap {
    lock: RtLock,
    /// Owner: `lock`.
    heap: OwnedCell<MapVec<*mut Timer>>,
    /// Earliest deadline in the heap, i64::MAX when empty; read without the
    /// lock to decide whether running the heap is worth it.
    next: AtomicI64,
}

impl TimerHeap {
    pub const fn new() -> TimerHeap {
        TimerHeap { lock: RtLock::new(), heap: OwnedCell::new(MapVec::new()), next: AtomicI64::new(i64::MAX) }
    }

    pub fn next_when(&self) -> i64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Queues `t` to fire at `when`.
    ///
    /// # Safety
    /// `t` must be idle and stay valid until it fires or is stopped.
    pub unsafe fn add(&self, t: *mut Timer, when: i64) {
        self.lock.lock();
        // SAFETY: t is idle (caller), so we may write its fields; we hold the lock.
        unsafe {
            let tr = &*t;
            tr.when.set(when);
            tr.state.store(T_QUEUED, Ordering::Relaxed);
            let heap = self.heap.get_mut();
            heap.push(t);
            tr.index.set(heap.len() - 1);
            self.sift_up(heap.len() - 1);
            tr.heap.store(self as *const _ as *mut _, Ordering::Release);
            self.publish_next();
            self.lock.unlock();
        }
    }

    /// Moves every timer to `to` (a P going away gives its timers to P0).
    pub fn move_into(&self, to: &TimerHeap) {
        self.lock.lock();
        to.lock.lock();
        // SAFETY: both locks held; queued timers are live.
        unsafe {
            let moved = self.heap.get_mut().take();
            for t in moved {
                let heap = to.heap.get_mut();
                heap.push(t);
                (*t).index.set(heap.len() - 1);
                to.sift_up(heap.len() - 1);
                (*t).heap.store(to as *const _ as *mut _, Ordering::Release);
            }
            self.publish_next();
            to.publish_next();
            to.lock.unlock();
            self.lock.unlock();
        }
    }

    /// Fires every timer due at `now`. Returns how many fired.
    pub fn run(&self, now: i64) -> usize {
        if self.next_when() > now {
            return 0;
        }
        let mut fired = 0;
        loop {
            self.lock.lock();
            // SAFETY: lock held.
            let heap = unsafe { self.heap.get_mut() };
            let due = heap.first().copied().filter(|&t| unsafe { (*t).when.get() } <= now);
            let Some(t) = due else {
                // SAFETY: taken above.
                unsafe { self.lock.unlock() };
                return fired;
            };
            // SAFETY: lock held; t is in the heap.
            unsafe {
                self.remove(0);
                // FIRING before the heap pointer is cleared (see `stop`).
                (*t).state.store(T_FIRING, Ordering::Relaxed);
                (*t).heap.store(ptr::null_mut(), Ordering::Release);
                self.lock.unlock();
                ((*t).fire)(t);
                (*t).state.store(T_DONE, Ordering::Release);
            }
            fired += 1;
        }
    }

    /// # Safety
    /// Lock held; `i` is a valid index.
    unsafe fn remove(&self, i: usize) {
        // SAFETY: lock held per the caller.
        let heap = unsafe { self.heap.get_mut() };
        let last = heap.len() - 1;
        if i != last {
            heap.swap(i, last);
            // SAFETY: heap entries are live timers.
            unsafe { (*heap[i]).index.set(i) };
        }
        heap.pop();
        if i < heap.len() {
            // SAFETY: lock held.
            unsafe {
                self.sift_down(i);
                self.sift_up(i);
            }
        }
        self.publish_next();
    }

    fn publish_next(&self) {
        // SAFETY: called with the lock held.
        let heap = unsafe { self.heap.get_mut() };
        let next = heap.first().map_or(i64::MAX, |&t| unsafe { (*t).when.get() });
        self.next.store(next, Ordering::Relaxed);
    }

    /// # Safety
    /// Lock held.
    unsafe fn sift_up(&self, mut i: usize) {
        // SAFETY: lock held per the caller; entries are live timers.
        unsafe {
            let heap = self.heap.get_mut();
            while i > 0 {
                let parent = (i - 1) / 2;
                if (*heap[parent]).when.get() <= (*heap[i]).when.get() {
                    break;
                }
                heap.swap(i, parent);
                (*heap[i]).index.set(i);
                (*heap[parent]).index.set(parent);
                i = parent;
            }
        }
    }

    /// # Safety
    /// Lock held.
    unsafe fn sift_down(&self, mut i: usize) {
        // SAFETY: lock held per the caller; entries are live timers.
        unsafe {
            let heap = self.heap.get_mut();
            loop {
                let (l, r) = (2 * i + 1, 2 * i + 2);
                let mut min = i;
                if l < heap.len() && (*heap[l]).when.get() < (*heap[min]).when.get() {
                    min = l;
                }
                if r < heap.len() && (*heap[r]).when.get() < (*heap[min]).when.get() {
                    min = r;
                }
                if min == i {
                    break;
                }
                heap.swap(i, min);
                (*heap[i]).index.set(i);
                (*heap[min]).index.set(min);
                i = min;
            }
        }
    }
}
