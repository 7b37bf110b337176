//! `gort_mutex` and `gort_waitgroup`: plain structs whose zero value is
//! ready to use. They park goroutines and block plain threads.

use core::ffi::c_int;

use super::{EBUG, call};
use crate::sync::mutex::Mutex;
use crate::sync::waitgroup::WaitGroup;

/// A mutual exclusion lock; zero (`GORT_MUTEX_INIT`) is unlocked. Not
/// recursive; any goroutine or thread may unlock it (as in Go).
#[repr(C)]
pub struct gort_mutex {
    _private: [u32; 2],
}

/// Waits for a collection of goroutines; zero (`GORT_WAITGROUP_INIT`) is
/// ready to use.
#[repr(C)]
pub struct gort_waitgroup {
    _private: [u64; 2],
}

const _: () = assert!(core::mem::size_of::<gort_mutex>() == core::mem::size_of::<Mutex>());
const _: () = assert!(core::mem::align_of::<gort_mutex>() >= core::mem::align_of::<Mutex>());
const _: () = assert!(core::mem::size_of::<gort_waitgroup>() == core::mem::size_of::<WaitGroup>());
const _: () = assert!(core::mem::align_of::<gort_waitgroup>() >= core::mem::align_of::<WaitGroup>());

fn mutex<'a>(m: *mut gort_mutex) -> Option<&'a Mutex> {
    // SAFETY: gort_mutex is Mutex's public twin (same size and alignment,
    // asserted above); a non-null pointer is the caller's object.
    unsafe { (m as *const Mutex).as_ref() }
}

fn waitgroup<'a>(wg: *mut gort_waitgroup) -> Option<&'a WaitGroup> {
    // SAFETY: as for mutex().
    unsafe { (wg as *const WaitGroup).as_ref() }
}

/// Locks `m`, parking the goroutine (blocking the thread) while it is held.
/// EINVAL if `m` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn gort_mutex_lock(m: *mut gort_mutex) -> c_int {
    call(EBUG, || match mutex(m) {
        Some(m) => {
            m.lock();
            0
        }
        None => libc::EINVAL,
    })
}

/// Locks `m` if it is free: 0, or EBUSY. EINVAL if `m` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn gort_mutex_trylock(m: *mut gort_mutex) -> c_int {
    call(EBUG, || match mutex(m) {
        Some(m) if m.try_lock() => 0,
        Some(_) => libc::EBUSY,
        None => libc::EINVAL,
    })
}

/// Unlocks `m`: 0, or EPERM if it was not locked (nothing changes).
/// EINVAL if `m` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn gort_mutex_unlock(m: *mut gort_mutex) -> c_int {
    call(EBUG, || match mutex(m) {
        Some(m) if m.unlock() => 0,
        Some(_) => libc::EPERM,
        None => libc::EINVAL,
    })
}

/// Adds `delta` (may be negative) to the counter; at zero, releases every
/// waiter. EINVAL (nothing changes) if `wg` is NULL or the counter would go
/// negative.
#[unsafe(no_mangle)]
pub extern "C" fn gort_wg_add(wg: *mut gort_waitgroup, delta: i64) -> c_int {
    call(EBUG, || match waitgroup(wg) {
        Some(wg) if wg.add(delta) => 0,
        _ => libc::EINVAL,
    })
}

/// `gort_wg_add(wg, -1)`.
#[unsafe(no_mangle)]
pub extern "C" fn gort_wg_done(wg: *mut gort_waitgroup) -> c_int {
    gort_wg_add(wg, -1)
}

/// Waits until the counter is zero. EINVAL if `wg` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn gort_wg_wait(wg: *mut gort_waitgroup) -> c_int {
    call(EBUG, || match waitgroup(wg) {
        Some(wg) => {
            wg.wait();
            0
        }
        None => libc::EINVAL,
    })
}
