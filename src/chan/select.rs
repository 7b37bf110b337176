//! `gort_select`, after Go's `selectgo`: lock every channel involved in
//! address order (each once, however many cases name it), take a ready case
//! chosen uniformly at random among the ready ones; otherwise queue a sudog on
//! every case's channel, all sharing one `Wait`, and park. The first party
//! to claim the wait (a sender, receiver, closer or the timeout) decides the
//! case; after waking, the select unlinks its other sudogs (which also
//! keeps their channels alive until then: see "Returning waiters" in
//! `wait`).

use core::mem::MaybeUninit;

use super::wait::{Sudog, TIMED_OUT, Wait};
use super::{Block, Chan, block_on};
use crate::mapvec::MapVec;
use crate::sched::{self, g::WaitReason};

/// One select case, validated by the C API layer.
#[derive(Clone, Copy)]
pub struct Case<'a> {
    /// None: never ready (Go's nil channel).
    pub chan: Option<&'a Chan>,
    pub send: bool,
    pub elem: *mut u8,
}

impl Case<'_> {
    pub const NEVER: Case<'static> = Case { chan: None, send: false, elem: core::ptr::null_mut() };
}

/// Selects among `cases`. Returns `Ok((index, result))` for the case that
/// completed (`result` 0 or EPIPE), or `Err(EAGAIN)` (nothing ready and no
/// blocking allowed) / `Err(ETIMEDOUT)`. Inlined into the C entry point,
/// which then resumes straight into its caller (see "Resuming" in `chan`).
#[inline(always)]
pub fn select(cases: &[Case], block: Block) -> Result<(usize, i32), i32> {
    let _rt = sched::enter();
    let (mut locks_inline, mut locks_heap) = ([const { MaybeUninit::uninit() }; INLINE_CASES], None);
    let locks = lock_order(cases, &mut locks_inline, &mut locks_heap);
    lock_all(locks);

    // Pass 1: take a ready case, chosen uniformly among the ready ones (Go
    // polls in a random order instead). Readiness is checked in case order,
    // so that the usual select, with at most one case ready, takes no
    // branch that depends on a random number: on the two-case select
    // ping-pong that was 6% of a round trip. A case may look ready and not
    // be, when its queue holds only waiters claimed through other channels;
    // trying it drops those, so the next look finds it not ready.
    loop {
        let (mut nready, mut last) = (0, 0);
        for (i, case) in cases.iter().enumerate() {
            if looks_ready(case) {
                nready += 1;
                last = i;
            }
        }
        let i = match nready {
            0 => break,
            1 => last,
            // Nothing changed since the count: the k-th ready case exists.
            _ => {
                let k = crate::fastrand_n(nready) as usize;
                cases.iter().enumerate().filter(|(_, c)| looks_ready(c)).nth(k).map_or(last, |(i, _)| i)
            }
        };
        let case = &cases[i];
        let c = case.chan.expect("a ready case has a channel");
        // SAFETY: c is locked (lock_all) and nothing else refers to its state.
        let st = unsafe { c.st.data() };
        let done = if case.send { c.try_send_locked(st, case.elem) } else { c.try_recv_locked(st, case.elem) };
        if let Some((r, waiter)) = done {
            unlock_all(locks);
            if let Some(w) = waiter {
                // SAFETY: claimed in try_*_locked.
                unsafe { (*w).wait().complete((*w).case, false) };
            }
            return Ok((i, r));
        }
    }
    if block == Block::Never {
        unlock_all(locks);
        return Err(libc::EAGAIN);
    }

    // Pass 2: wait on every case.
    let wait = Wait::new(true);
    let (mut sudogs_inline, mut sudogs_heap) = ([const { MaybeUninit::uninit() }; INLINE_CASES], None);
    let sudogs = scratch(&mut sudogs_inline, &mut sudogs_heap, cases.len(), |_| MaybeUninit::<Sudog>::uninit());
    for (i, case) in cases.iter().enumerate() {
        let Some(c) = case.chan else { continue };
        let sd = sudogs[i].write(Sudog::new(&wait, case.elem, i, true));
        // SAFETY: c is locked (lock_all) and nothing else refers to its
        // state; the sudog lives in this frame until unlinked below.
        unsafe {
            let st = c.st.data();
            if case.send { st.sendq.enqueue(sd) } else { st.recvq.enqueue(sd) }
        }
    }
    block_on(&wait, locks, block.deadline(), WaitReason::Select);

    // Unlink the other cases' sudogs (the winner's waker unlinked it), one
    // channel lock at a time: unlike Go, the winning channel is not locked
    // again, which halves the locking of a two-case select. These visits
    // are what keeps a channel released meanwhile alive (see `wait`).
    let fired = wait.fired.get();
    for (i, case) in cases.iter().enumerate() {
        let Some(c) = case.chan else { continue };
        if i != fired {
            // SAFETY: sudogs[i] was queued on c in pass 2, returning, and
            // not claimed (case i did not fire).
            unsafe { c.unlink_returning(sudogs[i].as_mut_ptr(), case.send) };
        }
    }
    match fired {
        TIMED_OUT => Err(libc::ETIMEDOUT),
        i => Ok((i, if wait.closed.get() { libc::EPIPE } else { 0 })),
    }
}

/// Whether the case's channel (locked) would let it proceed now.
#[inline(always)]
fn looks_ready(case: &Case) -> bool {
    // SAFETY: the channel is locked (lock_all); the reference lives for the call.
    case.chan.is_some_and(|c| c.ready_locked(unsafe { c.st.data() }, case.send))
}

/// The distinct channels of `cases` in address order, the order in which
/// every select locks them (nil cases are left out).
fn lock_order<'c, 's>(
    cases: &[Case<'c>],
    inline: &'s mut Inline<&'c Chan>,
    heap: &'s mut Option<MapVec<&'c Chan>>,
) -> &'s [&'c Chan] {
    let chans = cases.iter().filter_map(|c| c.chan);
    if cases.len() > INLINE_CASES {
        let v = heap.insert(MapVec::new());
        for c in chans {
            v.push(c);
        }
        v.sort_unstable_by_key(|c| *c as *const Chan);
        let mut k = 0;
        for i in 0..v.len() {
            if k == 0 || !core::ptr::eq(v[k - 1], v[i]) {
                v[k] = v[i];
                k += 1;
            }
        }
        return &v[..k];
    }
    // Insertion sort: a select has a handful of cases.
    let mut k = 0;
    'next: for c in chans {
        let mut j = k;
        while j > 0 {
            // SAFETY: slots below k are initialised.
            let prev = unsafe { inline[j - 1].assume_init() };
            if core::ptr::eq(prev, c) {
                continue 'next;
            }
            if (prev as *const Chan) < (c as *const Chan) {
                break;
            }
            inline[j].write(prev);
            j -= 1;
        }
        inline[j].write(c);
        k += 1;
    }
    // SAFETY: the first k slots were initialised above.
    unsafe { &*(&inline[..k] as *const [MaybeUninit<&'c Chan>] as *const [&'c Chan]) }
}

/// Locks every channel of `locks`, keeping the locks past their guards:
/// `unlock_all`, or the park's tail (`block_on`), releases them.
fn lock_all(locks: &[&Chan]) {
    for c in locks {
        c.st.lock().leak();
    }
}

fn unlock_all(locks: &[&Chan]) {
    for c in locks {
        // SAFETY: locked by lock_all; no reference to the state survives.
        unsafe { c.st.unlock() };
    }
}

/// Up to this many cases, select's scratch space lives on the stack.
pub const INLINE_CASES: usize = 16;

/// Stack space for the scratch arrays of a small select.
pub type Inline<T> = [MaybeUninit<T>; INLINE_CASES];

/// A scratch array of `n` values `f(0)`, ..., `f(n - 1)`: in the caller's
/// `inline` array for small selects, else in `heap`, from `MapVec` (not
/// malloc: see mapvec.rs for why the runtime avoids it). The caller owns
/// both, so nothing large is moved around.
#[inline(always)]
pub fn scratch<'a, T: Copy>(
    inline: &'a mut Inline<T>,
    heap: &'a mut Option<MapVec<T>>,
    n: usize,
    f: impl Fn(usize) -> T,
) -> &'a mut [T] {
    if n > INLINE_CASES {
        let v = heap.insert(MapVec::filled(n, f(0)));
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = f(i);
        }
        return v;
    }
    for (i, slot) in inline[..n].iter_mut().enumerate() {
        slot.write(f(i));
    }
    // SAFETY: the first n slots were just initialised.
    unsafe { &mut *(&mut inline[..n] as *mut [MaybeUninit<T>] as *mut [T]) }
}
