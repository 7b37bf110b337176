//! Channels, after Go's `chan.go`: a lock per channel, a ring buffer, and
//! queues of waiting senders and receivers (see `wait`). A sender that finds
//! a waiting receiver copies straight into the receiver's buffer and readies
//! it (into the current P's `next` slot, so ping-pong stays on one P), and
//! symmetrically; a receive from a full buffer takes the head and moves the
//! first waiting sender's value into the freed slot. Close wakes everyone.
//!
//! Goroutines and plain threads use the same queues: their `Parker` decides
//! whether waiting parks a goroutine or blocks a thread on a futex.
//!
//! Lifetime: `make` returns one reference; the last `release` frees the
//! channel, unless a waiter will still come back to it (a select unlinking
//! its losing cases, a timed-out wait unlinking itself: see "Returning
//! waiters" in `wait`). Then the channel is left orphaned, and the last of
//! those waiters frees it after unlinking. So releasing the last user
//! reference while goroutines are blocked is safe, and blocked operations
//! need no reference count traffic. A plain blocked send or receive never
//! looks at the channel again once queued: only a waker holding a
//! reference can complete it, and if the last reference goes, it stays
//! blocked forever, as a goroutine on an unreachable channel does in Go.
//!
//! Resuming. A goroutine that blocked here resumes by returning from the
//! context switch, then from every frame between the switch and the C code
//! that called us. The CPU predicts those returns from its return stack
//! buffer, which holds the frames of the goroutine that switched away, so
//! each return whose address differs from its counterpart there is a
//! mispredicted branch (~15-20 cycles). So the blocking paths (`wait_locked`,
//! `select`) are inlined into the C entry points, which call the
//! scheduler's `switch_out` directly: a ping-pong partner blocked in a
//! receive against one blocked in a select then costs two mispredictions
//! per resume instead of four. On the two-case select ping-pong that was 142 -> 122 ns
//! per round trip at 1 P, with almost no change in instruction count.

pub mod select;
mod wait;

use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::alloc::Layout;

use self::wait::{Sudog, TIMED_OUT, Wait, WaitQ};
use crate::clock;
use crate::futex::{Locked, LockedGuard};
use crate::sched::g::WaitReason;
use crate::sched::timer::Timer;
use crate::sched::{self, m, sysmon};

const MAGIC: u32 = 0x6368_616e; // "chan"
const DEAD: u32 = 0xdead_c4a2;
/// Go's limit too: larger elements belong behind a pointer.
const MAX_ELEM_SIZE: usize = 1 << 16;
const BUF_ALIGN: usize = 16;

/// `repr(C)` with the magic and the lock first: a freed channel's first
/// words are where malloc keeps its free-list links, so a use after free
/// fails the magic check or finds the lock taken, loudly, instead of
/// quietly working on stale memory.
#[repr(C)]
pub struct Chan {
    magic: AtomicU32,
    /// The channel's lock (first, see above) and what it guards.
    st: Locked<State>,
    refs: AtomicUsize,
    elem_size: usize,
    cap: usize,
    /// Buffered elements; written under the lock, read racily by `len`.
    count: AtomicUsize,
}

struct State {
    closed: bool,
    /// Released by its users, kept for waiters that will come back.
    orphaned: bool,
    buf: *mut u8,
    sendx: usize,
    recvx: usize,
    sendq: WaitQ,
    recvq: WaitQ,
}

// SAFETY: shared fields are atomics or guarded by the lock; `State`'s raw
// pointers (the buffer, queued waiters) are reached only under it.
unsafe impl Sync for Chan {}
// SAFETY: as above.
unsafe impl Send for Chan {}

/// How long an operation may block.
#[derive(Clone, Copy, PartialEq)]
pub enum Block {
    Never,
    Forever,
    Until(i64),
}

impl Block {
    /// From the C API's relative timeout: < 0 forever, 0 never.
    pub fn from_timeout(ns: i64) -> Block {
        match ns {
            ..0 => Block::Forever,
            0 => Block::Never,
            _ => Block::Until(clock::deadline_after(ns)),
        }
    }

    fn deadline(self) -> Option<i64> {
        match self {
            Block::Until(d) => Some(d),
            _ => None,
        }
    }
}

impl Chan {
    /// Allocates a channel. Errors: EINVAL (element over 64 KiB), ENOMEM.
    pub fn make(elem_size: usize, cap: usize) -> Result<*mut Chan, i32> {
        if elem_size > MAX_ELEM_SIZE {
            return Err(libc::EINVAL);
        }
        let bytes = elem_size.checked_mul(cap).ok_or(libc::ENOMEM)?;
        let buf = if bytes == 0 {
            ptr::null_mut()
        } else {
            let layout = Layout::from_size_align(bytes, BUF_ALIGN).map_err(|_| libc::ENOMEM)?;
            // SAFETY: non-zero size.
            let buf = unsafe { std::alloc::alloc(layout) };
            if buf.is_null() {
                return Err(libc::ENOMEM);
            }
            buf
        };
        let c = Box::new(Chan {
            magic: AtomicU32::new(MAGIC),
            refs: AtomicUsize::new(1),
            elem_size,
            cap,
            count: AtomicUsize::new(0),
            st: Locked::new(State {
                closed: false,
                orphaned: false,
                buf,
                sendx: 0,
                recvx: 0,
                sendq: WaitQ::new(),
                recvq: WaitQ::new(),
            }),
        });
        Ok(Box::into_raw(c))
    }

    /// Checks a pointer from C: non-null and (as far as can be told) a live
    /// channel.
    ///
    /// # Safety
    /// `c` is null or was returned by `make`.
    pub unsafe fn from_ptr<'a>(c: *const Chan) -> Option<&'a Chan> {
        // SAFETY: per the caller.
        let c = unsafe { c.as_ref()? };
        (c.magic.load(Ordering::Relaxed) == MAGIC).then_some(c)
    }

    pub fn elem_size(&self) -> usize {
        self.elem_size
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn retain(&self) {
        self.refs.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops a reference; frees the channel with the last one, or orphans
    /// it if waiters will still come back (the last of them frees it).
    ///
    /// # Safety
    /// The caller owns the reference it drops.
    pub unsafe fn release(&self) {
        // AcqRel: the freeing thread sees every other holder's writes.
        if self.refs.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        self.magic.store(DEAD, Ordering::Relaxed);
        let _rt = sched::enter(); // runtime locks are taken inside the runtime
        let mut st = self.st.lock();
        let returning = st.sendq.returning() + st.recvq.returning();
        st.orphaned = returning > 0;
        drop(st);
        if returning == 0 {
            // SAFETY: no references and no returning waiters: nobody else
            // can reach the channel.
            unsafe { self.free() };
        }
    }

    /// A returning waiter's visit: unlinks its sudog `sd` (from the send or
    /// receive queue), freeing an orphaned channel after the last visit.
    ///
    /// # Safety
    /// `sd` was queued here with `returns` set and not claimed through this
    /// channel; after this the caller must not touch the channel again.
    unsafe fn unlink_returning(&self, sd: *mut Sudog, send: bool) {
        let mut st = self.st.lock();
        // SAFETY: lock held; per the caller.
        unsafe { if send { st.sendq.remove(sd) } else { st.recvq.remove(sd) } }
        let free = st.orphaned && st.sendq.returning() + st.recvq.returning() == 0;
        drop(st);
        if free {
            // SAFETY: orphaned (no references) and this was the last
            // returning waiter.
            unsafe { self.free() };
        }
    }

    /// # Safety
    /// Nobody else can reach the channel any more.
    unsafe fn free(&self) {
        let buf = self.st.lock().buf;
        // SAFETY: nobody else can reach the channel (per the caller); `buf`
        // was allocated by `make` with this layout, and the channel by
        // `make` as a Box.
        unsafe {
            if !buf.is_null() {
                std::alloc::dealloc(buf, Layout::from_size_align_unchecked(self.elem_size * self.cap, BUF_ALIGN));
            }
            drop(Box::from_raw(ptr::from_ref(self).cast_mut()));
        }
    }

    /// Copies one element; a null pointer on either side skips the copy.
    #[inline]
    fn copy(&self, from: *const u8, to: *mut u8) {
        if from.is_null() || to.is_null() {
            return;
        }
        // SAFETY: both point to elem_size bytes (C API contract / our
        // buffer); unaligned accesses for the common word sizes avoid a
        // memcpy call.
        unsafe {
            match self.elem_size {
                0 => {}
                4 => (to as *mut u32).write_unaligned((from as *const u32).read_unaligned()),
                8 => (to as *mut u64).write_unaligned((from as *const u64).read_unaligned()),
                16 => (to as *mut u128).write_unaligned((from as *const u128).read_unaligned()),
                n => ptr::copy_nonoverlapping(from, to, n),
            }
        }
    }

    fn zero(&self, to: *mut u8) {
        if self.elem_size > 0 && !to.is_null() {
            // SAFETY: `to` points to elem_size writable bytes.
            unsafe { ptr::write_bytes(to, 0, self.elem_size) };
        }
    }

    /// The ring index after `i` (no division: a 64-bit `div` costs more
    /// than the rest of a buffered send).
    #[inline]
    fn ring_next(&self, i: usize) -> usize {
        if i + 1 == self.cap { 0 } else { i + 1 }
    }

    fn slot(&self, st: &State, i: usize) -> *mut u8 {
        // SAFETY: i < cap, so the slot is inside the buffer (or the buffer is null for size 0).
        if st.buf.is_null() { ptr::null_mut() } else { unsafe { st.buf.add(i * self.elem_size) } }
    }

    /// The non-blocking part of a send, lock held. Returns None when the
    /// send must wait; otherwise the result and a waiter to wake once the
    /// lock is released.
    #[inline(always)]
    fn try_send_locked(&self, st: &mut State, elem: *const u8) -> Option<(i32, Option<*mut Sudog>)> {
        if st.closed {
            return Some((libc::EPIPE, None));
        }
        // SAFETY: lock held.
        if let Some(r) = unsafe { st.recvq.dequeue_claimed() } {
            // SAFETY: a claimed receiver stays blocked until we complete it.
            self.copy(elem, unsafe { (*r).elem });
            return Some((0, Some(r)));
        }
        if self.count.load(Ordering::Relaxed) < self.cap {
            self.copy(elem, self.slot(st, st.sendx));
            st.sendx = self.ring_next(st.sendx);
            // Written only under the lock: no read-modify-write needed.
            self.count.store(self.count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            return Some((0, None));
        }
        None
    }

    /// The non-blocking part of a receive, lock held (see `try_send_locked`).
    #[inline(always)]
    fn try_recv_locked(&self, st: &mut State, out: *mut u8) -> Option<(i32, Option<*mut Sudog>)> {
        // SAFETY: lock held.
        if let Some(s) = unsafe { st.sendq.dequeue_claimed() } {
            // SAFETY: a claimed sender stays blocked until we complete it.
            let src = unsafe { (*s).elem };
            if self.cap == 0 {
                self.copy(src, out);
            } else {
                // Full buffer: take the head, put the sender's value at the tail.
                let head = self.slot(st, st.recvx);
                self.copy(head, out);
                self.copy(src, head);
                st.recvx = self.ring_next(st.recvx);
                st.sendx = st.recvx;
            }
            return Some((0, Some(s)));
        }
        if self.count.load(Ordering::Relaxed) > 0 {
            self.copy(self.slot(st, st.recvx), out);
            st.recvx = self.ring_next(st.recvx);
            self.count.store(self.count.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
            return Some((0, None));
        }
        if st.closed {
            self.zero(out);
            return Some((libc::EPIPE, None));
        }
        None
    }

    /// Whether a send (or receive) could proceed now, lock held: the
    /// cheap look before `try_*_locked` (which it may still refuse, if the
    /// waiters queued are all claimed elsewhere).
    #[inline(always)]
    fn ready_locked(&self, st: &State, send: bool) -> bool {
        let count = self.count.load(Ordering::Relaxed);
        if send {
            st.closed || !st.recvq.is_empty() || count < self.cap
        } else {
            st.closed || !st.sendq.is_empty() || count > 0
        }
    }

    #[inline(always)]
    pub fn send(&self, elem: *const u8, block: Block) -> i32 {
        self.op(elem as *mut u8, block, true)
    }

    #[inline(always)]
    pub fn recv(&self, out: *mut u8, block: Block) -> i32 {
        self.op(out, block, false)
    }

    #[inline(always)]
    fn op(&self, elem: *mut u8, block: Block, send: bool) -> i32 {
        let _rt = sched::enter();
        let mut st = self.st.lock();
        let done = if send { self.try_send_locked(&mut st, elem) } else { self.try_recv_locked(&mut st, elem) };
        if let Some((r, waiter)) = done {
            drop(st);
            if let Some(w) = waiter {
                // SAFETY: claimed in try_*_locked.
                unsafe { (*w).wait().complete((*w).case, false) };
            }
            return r;
        }
        if block == Block::Never {
            drop(st);
            return libc::EAGAIN;
        }
        self.wait_locked(st, elem, block, send)
    }

    /// The blocking half of a send or receive, entered with the lock held
    /// and nothing ready. Inlined into the C entry point: see "Resuming"
    /// in the module comment.
    #[inline(always)]
    fn wait_locked(&self, mut st: LockedGuard<'_, State>, elem: *mut u8, block: Block, send: bool) -> i32 {
        // A timed wait comes back to unlink itself if it times out.
        let timed = block != Block::Forever;
        let wait = Wait::new(timed);
        let mut sd = Sudog::new(&wait, elem, 0, timed);
        // SAFETY: lock held; `sd` lives until we return, after the wait.
        unsafe { if send { st.sendq.enqueue(&mut sd) } else { st.recvq.enqueue(&mut sd) } }
        let reason = if send { WaitReason::ChanSend } else { WaitReason::ChanRecv };
        st.leak(); // the park's tail unlocks
        block_on(&wait, &[self], block.deadline(), reason);
        if wait.fired.get() == TIMED_OUT {
            // SAFETY: sd is ours, returning, and the timer claimed it.
            unsafe { self.unlink_returning(&mut sd, send) };
            libc::ETIMEDOUT
        } else if wait.closed.get() {
            libc::EPIPE
        } else {
            0
        }
    }

    /// Closes the channel: every blocked receiver gets EPIPE and a zeroed
    /// element, every blocked sender EPIPE. EPIPE if already closed.
    pub fn close(&self) -> i32 {
        let _rt = sched::enter();
        let mut st = self.st.lock();
        if st.closed {
            return libc::EPIPE;
        }
        st.closed = true;
        // Collect the claimed waiters in a list of their own (no allocation:
        // see mapvec.rs), then wake them with the lock released.
        let mut woken = WaitQ::new();
        // SAFETY: lock held; claimed waiters stay blocked until completed.
        unsafe {
            while let Some(r) = st.recvq.dequeue_claimed() {
                self.zero((*r).elem);
                woken.enqueue(r);
            }
            while let Some(s) = st.sendq.dequeue_claimed() {
                woken.enqueue(s);
            }
        }
        drop(st);
        // SAFETY: the list is ours; each waiter stays alive until completed,
        // and we unlink it before completing it.
        unsafe {
            while let Some(w) = woken.pop_front() {
                (*w).wait().complete((*w).case, true);
            }
        }
        0
    }
}

/// Parks the caller on `wait`, whose sudogs are queued on `chans` (all
/// locked on entry; released once the waiter can be woken). Returns when
/// the wait was claimed: by a waker, a closer, or the deadline
/// (`wait.fired == TIMED_OUT`; the caller then unlinks its sudogs).
#[inline(always)]
fn block_on(wait: &Wait, chans: &[&Chan], deadline: Option<i64>, reason: WaitReason) {
    struct Ctx<'a> {
        wait: &'a Wait,
        chans: &'a [&'a Chan],
        deadline: Option<i64>,
    }
    /// The park's tail: arms the timeout and unlocks the channels.
    ///
    /// # Safety
    /// `arg` is the parked waiter's Ctx; its channels are locked with their
    /// guards leaked.
    unsafe fn after_park(arg: *mut ()) {
        // SAFETY: the waiter's Ctx, alive while it is parked.
        let ctx = unsafe { &*arg.cast::<Ctx>() };
        if let Some(d) = ctx.deadline
            && ctx.wait.parker.is_goroutine()
        {
            // The goroutine is switched out: arm its timeout on this P.
            let p = m::current().unwrap().p().unwrap();
            // SAFETY: the timer lives in the parked goroutine's Wait, which
            // stops it before returning. It is the Wait's first field: the
            // pointer to the Wait is the timer's, and lets the fire function
            // reach the whole Wait.
            unsafe { p.timers.add(ptr::from_ref(ctx.wait).cast::<Timer>(), d) };
            sysmon::timer_added(d);
        }
        for c in ctx.chans {
            // SAFETY: the waiter locked every channel and leaked the guards
            // for us; it reads no channel state until woken.
            unsafe { c.st.unlock() };
        }
        // Release: our last touch of the waiter's memory.
        ctx.wait.tail_done.store(true, Ordering::Release);
    }
    let ctx = Ctx { wait, chans, deadline };
    // SAFETY: ctx and wait outlive the park (see `tail_done`).
    let woken = unsafe { wait.parker.park(reason, after_park, ptr::from_ref(&ctx).cast_mut().cast(), deadline) };
    while !wait.tail_done.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    if wait.parker.is_goroutine() {
        if deadline.is_some() {
            wait.timer.stop();
        }
    } else if !woken {
        // A thread's futex timed out: either we claim the timeout, or a
        // waker already claimed us and is about to unpark.
        if !wait.claim() {
            wait.parker.wait_unparked();
        }
    }
}
