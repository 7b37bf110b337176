//! Go's runtime semaphore: a counter in user memory plus a parking lot of
//! waiters keyed by the counter's address, so that the synchronisation
//! objects built on it (`gort_mutex`, `gort_waitgroup`) are plain words whose
//! zero value is ready to use.
//!
//! Waiters are `Parker`s (goroutines or plain threads) in 251 hashed
//! buckets, each a FIFO list behind its own lock. `nwait` lets a release
//! skip the bucket lock when nobody waits; the Dekker pair "release adds to
//! the counter, then reads nwait" / "acquire adds to nwait, then reads the
//! counter" is sequentially consistent, so one of the two always sees the
//! other.

use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

use crossbeam_utils::CachePadded;

use crate::futex::Locked;
use crate::sched::g::WaitReason;
use crate::sched::park::Parker;

const BUCKETS: usize = 251;

struct Bucket {
    nwait: AtomicU32,
    waiters: Locked<Waiters>,
}

/// A FIFO of waiters, linked through `Waiter::next`.
struct Waiters {
    head: *mut Waiter,
    tail: *mut Waiter,
}

// SAFETY: the waiters are reached only under the bucket's lock, and each
// stays alive until dequeued and unparked.
unsafe impl Send for Waiters {}

struct Waiter {
    addr: usize,
    parker: Parker,
    next: *mut Waiter,
    /// Set by a releaser that handed the unit straight to this waiter.
    handed: AtomicU32,
}

static TABLE: [CachePadded<Bucket>; BUCKETS] = [const {
    CachePadded::new(Bucket {
        nwait: AtomicU32::new(0),
        waiters: Locked::new(Waiters { head: ptr::null_mut(), tail: ptr::null_mut() }),
    })
}; BUCKETS];

fn bucket(addr: &AtomicU32) -> &'static Bucket {
    &TABLE[(addr as *const AtomicU32 as usize >> 3) % BUCKETS]
}

fn try_acquire(addr: &AtomicU32) -> bool {
    addr.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

/// Waits until `*addr > 0`, then decrements it. With `lifo`, a waiter that
/// has waited before goes to the front (the mutex's starvation logic).
/// On a goroutine, the caller must be inside the runtime (`sched::enter`).
pub fn acquire(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    if try_acquire(addr) {
        return;
    }
    let b = bucket(addr);
    loop {
        let mut waiters = b.waiters.lock();
        b.nwait.fetch_add(1, Ordering::SeqCst);
        if try_acquire(addr) {
            b.nwait.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let mut w = Waiter {
            addr: addr as *const AtomicU32 as usize,
            parker: Parker::current(),
            next: ptr::null_mut(),
            handed: AtomicU32::new(0),
        };
        // SAFETY: w stays on our stack until unparked (then dequeued).
        unsafe { waiters.enqueue(&mut w, lifo) };
        waiters.leak(); // the park's tail unlocks
        // SAFETY: unlock_bucket is called once, with the bucket locked above.
        unsafe { w.parker.park(reason, unlock_bucket, ptr::from_ref(b).cast_mut().cast(), None) };
        if w.handed.load(Ordering::Acquire) != 0 || try_acquire(addr) {
            return;
        }
    }
}

/// # Safety
/// `b` is a `Bucket` whose lock the caller holds with its guard leaked.
unsafe fn unlock_bucket(b: *mut ()) {
    // SAFETY: per the caller.
    unsafe { (*b.cast::<Bucket>()).waiters.unlock() };
}

impl Waiters {
    /// Queues `w` at the back, or with `lifo` at the front.
    ///
    /// # Safety
    /// `w` is valid and stays alive until dequeued and unparked.
    unsafe fn enqueue(&mut self, w: *mut Waiter, lifo: bool) {
        // SAFETY: w is valid per the caller; queued waiters are alive.
        unsafe {
            if self.head.is_null() {
                self.head = w;
                self.tail = w;
            } else if lifo {
                (*w).next = self.head;
                self.head = w;
            } else {
                (*self.tail).next = w;
                self.tail = w;
            }
        }
    }
}

/// Adds `n` to `*addr` and wakes up to `n` of its waiters. With `handoff`,
/// each woken waiter is given a unit directly (no barging). Touches `addr`
/// only before waking anyone, so a waiter may free it as soon as it wakes.
pub fn release(addr: &AtomicU32, n: u32, handoff: bool) {
    let key = addr as *const AtomicU32 as usize;
    addr.fetch_add(n, Ordering::SeqCst);
    let b = bucket(addr);
    if b.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    // Taking a runtime lock and readying goroutines: inside the runtime,
    // where the preemption handler leaves us alone.
    let _rt = crate::sched::enter();
    let mut waiters = b.waiters.lock();
    // Take up to n waiters for addr out of the bucket, keeping order.
    let mut woken: *mut Waiter = ptr::null_mut();
    let mut woken_tail: *mut Waiter = ptr::null_mut();
    let mut taken = 0;
    let mut prev: *mut Waiter = ptr::null_mut();
    let mut cur = waiters.head;
    // SAFETY: bucket lock held; queued waiters are alive until unparked.
    unsafe {
        while !cur.is_null() && taken < n {
            let next = (*cur).next;
            if (*cur).addr == key {
                if prev.is_null() {
                    waiters.head = next;
                } else {
                    (*prev).next = next;
                }
                if waiters.tail == cur {
                    waiters.tail = prev;
                }
                (*cur).next = ptr::null_mut();
                if woken.is_null() {
                    woken = cur;
                } else {
                    (*woken_tail).next = cur;
                }
                woken_tail = cur;
                taken += 1;
            } else {
                prev = cur;
            }
            cur = next;
        }
    }
    b.nwait.fetch_sub(taken, Ordering::SeqCst);
    drop(waiters);
    while !woken.is_null() {
        // SAFETY: dequeued waiters stay alive until we unpark them; read
        // `next` first, as the waiter may leave the moment it is unparked.
        unsafe {
            let w = woken;
            woken = (*w).next;
            if handoff && try_acquire(addr) {
                (*w).handed.store(1, Ordering::Release);
            }
            (*w).parker.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_wakes_a_blocked_acquirer_and_units_are_counted() {
        static S: AtomicU32 = AtomicU32::new(0);
        release(&S, 2, false);
        acquire(&S, false, WaitReason::Mutex);
        acquire(&S, false, WaitReason::Mutex);
        assert_eq!(S.load(Ordering::Relaxed), 0);
        let waiter = std::thread::spawn(|| acquire(&S, false, WaitReason::Mutex));
        // Wait until it is queued, then hand it a unit directly.
        while bucket(&S).nwait.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        release(&S, 1, true);
        waiter.join().unwrap();
        assert_eq!(S.load(Ordering::Relaxed), 0);
        assert_eq!(bucket(&S).nwait.load(Ordering::SeqCst), 0);
    }
}
