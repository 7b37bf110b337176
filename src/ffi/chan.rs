//! Channels and select.

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::mem::MaybeUninit;

use super::{EBUG, call};
use crate::chan::select::{self, Case};
use crate::chan::{Block, Chan};

/// A channel (opaque, reference counted).
pub struct gort_chan {
    _private: [u8; 0],
}

/// `gort_case.op` values.
#[repr(C)]
pub enum gort_op {
    GORT_SEND = 1,
    GORT_RECV = 2,
}

/// One case of `gort_select`.
#[repr(C)]
pub struct gort_case {
    /// NULL: this case is never ready (Go's nil channel).
    pub chan: *mut gort_chan,
    /// GORT_SEND or GORT_RECV.
    pub op: c_int,
    /// Value to send, or buffer to receive into (may be NULL for RECV).
    pub elem: *mut c_void,
    /// Set for the chosen case: 0, or EPIPE (channel closed).
    pub result: c_int,
}

fn chan<'a>(c: *const gort_chan) -> Option<&'a Chan> {
    // SAFETY: C hands us NULL or a pointer from gort_chan_make.
    unsafe { Chan::from_ptr(c as *const Chan) }
}

/// A value pointer for a channel with elements of `size` bytes: NULL is
/// only valid when there is nothing to copy.
fn elem_ok(c: &Chan, p: *const c_void) -> bool {
    !p.is_null() || c.elem_size() == 0
}

/// Makes a channel of `cap` elements of `elem_size` bytes (`cap` 0:
/// unbuffered; `elem_size` 0 is allowed). Returns NULL and sets errno on
/// failure: EINVAL (element over 64 KiB), ENOMEM.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_make(elem_size: usize, cap: usize) -> *mut gort_chan {
    let made = call(Err(EBUG), || Chan::make(elem_size, cap));
    match made {
        Ok(c) => c as *mut gort_chan,
        Err(e) => {
            // SAFETY: the documented exception: make reports through errno.
            unsafe { *libc::__errno_location() = e };
            core::ptr::null_mut()
        }
    }
}

/// Takes another reference. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_retain(c: *mut gort_chan) {
    if let Some(c) = chan(c) {
        c.retain();
    }
}

/// Drops a reference; the channel is freed with the last one (blocked
/// operations keep it alive while they need it). NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_release(c: *mut gort_chan) {
    if let Some(c) = chan(c) {
        // SAFETY: the caller gives up a reference it owns.
        unsafe { c.release() };
    }
}

/// Sends `*elem`, waiting for a receiver or buffer space. EPIPE if closed,
/// EINVAL for a NULL channel (or NULL elem with a non-zero element size).
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_send(c: *mut gort_chan, elem: *const c_void) -> c_int {
    gort_chan_send_timeout(c, elem, -1)
}

/// Receives into `*out` (`out` may be NULL). EPIPE once closed and drained
/// (`out` zero-filled), EINVAL for a NULL channel.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_recv(c: *mut gort_chan, out: *mut c_void) -> c_int {
    gort_chan_recv_timeout(c, out, -1)
}

/// Sends without blocking: EAGAIN if it would block.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_try_send(c: *mut gort_chan, elem: *const c_void) -> c_int {
    gort_chan_send_timeout(c, elem, 0)
}

/// Receives without blocking: EAGAIN if it would block.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_try_recv(c: *mut gort_chan, out: *mut c_void) -> c_int {
    gort_chan_recv_timeout(c, out, 0)
}

/// Sends, giving up with ETIMEDOUT once at least `timeout_ns` passed
/// (< 0 waits forever, 0 never blocks: EAGAIN). A send that times out sent
/// nothing.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_send_timeout(c: *mut gort_chan, elem: *const c_void, timeout_ns: i64) -> c_int {
    call(EBUG, || match chan(c) {
        Some(c) if elem_ok(c, elem) => c.send(elem as *const u8, Block::from_timeout(timeout_ns)),
        _ => libc::EINVAL,
    })
}

/// Receives, giving up with ETIMEDOUT once at least `timeout_ns` passed
/// (< 0 waits forever, 0 never blocks: EAGAIN). A receive that times out
/// took nothing.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_recv_timeout(c: *mut gort_chan, out: *mut c_void, timeout_ns: i64) -> c_int {
    call(EBUG, || match chan(c) {
        Some(c) => c.recv(out as *mut u8, Block::from_timeout(timeout_ns)),
        None => libc::EINVAL,
    })
}

/// Closes the channel: wakes every blocked sender (EPIPE) and receiver
/// (EPIPE, zero-filled). EPIPE if already closed; EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_close(c: *mut gort_chan) -> c_int {
    call(EBUG, || match chan(c) {
        Some(c) => c.close(),
        None => libc::EINVAL,
    })
}

/// Buffered elements now (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_len(c: *const gort_chan) -> usize {
    chan(c).map_or(0, Chan::len)
}

/// Buffer capacity (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_cap(c: *const gort_chan) -> usize {
    chan(c).map_or(0, Chan::cap)
}

/// The `elem_size` the channel was made with (0 for NULL), so that code
/// adopting a channel from elsewhere can check its element type.
#[unsafe(no_mangle)]
pub extern "C" fn gort_chan_elem_size(c: *const gort_chan) -> usize {
    chan(c).map_or(0, Chan::elem_size)
}

/// Waits until one of `cases` can proceed and performs it. Returns its
/// index (its `result` set to 0 or EPIPE), `-EAGAIN` (timeout 0 and
/// nothing ready: Go's `default`), `-ETIMEDOUT`, or `-EINVAL` (cases NULL
/// with n > 0, an unknown op, a NULL elem for a send of a non-empty type).
/// Among ready cases one is chosen uniformly at random. NULL-channel cases
/// never fire; `n == 0` with a negative timeout blocks forever, as Go's
/// `select {}`.
///
/// # Safety
/// `cases` points to `n` valid cases whose channels are NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gort_select(cases: *mut gort_case, n: usize, timeout_ns: i64) -> c_int {
    call(-EBUG, || {
        if cases.is_null() && n > 0 {
            return -libc::EINVAL;
        }
        let cases: &mut [gort_case] = if n == 0 {
            &mut []
        } else {
            // SAFETY: per the caller, `cases` holds n cases.
            unsafe { core::slice::from_raw_parts_mut(cases, n) }
        };
        let parse = |gc: &gort_case| -> Option<Case> {
            let send = match gc.op {
                x if x == gort_op::GORT_SEND as c_int => true,
                x if x == gort_op::GORT_RECV as c_int => false,
                _ => return None,
            };
            let chan = match chan(gc.chan) {
                _ if gc.chan.is_null() => None,
                Some(c) if !send || elem_ok(c, gc.elem) => Some(c),
                _ => return None,
            };
            Some(Case { chan, send, elem: gc.elem as *mut u8 })
        };
        let bad = Cell::new(false);
        let (mut inline, mut heap) = ([const { MaybeUninit::uninit() }; select::INLINE_CASES], None);
        let parsed = select::scratch(&mut inline, &mut heap, n, |i| {
            parse(&cases[i]).unwrap_or_else(|| {
                bad.set(true);
                Case::NEVER
            })
        });
        if bad.get() {
            return -libc::EINVAL;
        }
        let result = select::select(parsed, Block::from_timeout(timeout_ns));
        match result {
            Ok((i, r)) => {
                cases[i].result = r;
                i as c_int
            }
            Err(e) => -e,
        }
    })
}
