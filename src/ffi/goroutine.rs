//! Goroutines: spawning, yielding, sleeping, identity, thread locking,
//! preemption and blocking-call markers.

use core::ffi::{CStr, c_char, c_int, c_void};
use core::ptr;

use super::{EBUG, call};
use crate::config::MAX_STACK;
use crate::sched::{self, park};
use crate::sync::waitgroup::WaitGroup;

/// A goroutine's entry point.
pub type gort_func = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// Options for `gort_go_attr`.
#[repr(C)]
pub struct gort_attr {
    /// Stack size in bytes; 0 means the default (`GORTDEBUG=stacksize`,
    /// 256 KiB). Rounded up to a page and to the 16 KiB minimum; sizes
    /// other than the default round up to a power of two. Above 1 GiB: EINVAL.
    pub stack_size: usize,
    /// Shown in traces, scheddetail and crash messages; may be NULL; copied.
    pub name: *const c_char,
}

// gort_go, gort_go_attr and gort_main record where they were called from,
// for goroutine dumps ("created by main at main.c:12"). Rust cannot name a
// function's return address, so each is a two-instruction shim that adds
// it as one more argument and jumps to the function that does the work.

/// Spawns a goroutine running `fn(arg)`. Returns 0, EINVAL (fn is NULL) or
/// ENOMEM.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn gort_go(func: gort_func, arg: *mut c_void) -> c_int {
    crate::arch::call_with_return_address!(2, go)
}

extern "C" fn go(func: gort_func, arg: *mut c_void, creator: usize) -> c_int {
    call(EBUG, || match func {
        Some(f) => sched::spawn(f, arg, 0, None, creator),
        None => libc::EINVAL,
    })
}

/// Like `gort_go`, with a stack size and a name. `attr` may be NULL.
/// Returns 0, EINVAL (fn NULL, stack_size above 1 GiB) or ENOMEM.
///
/// # Safety
/// `attr`, if not NULL, points to a valid `gort_attr` whose `name` is NULL
/// or a NUL-terminated string.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gort_go_attr(func: gort_func, arg: *mut c_void, attr: *const gort_attr) -> c_int {
    crate::arch::call_with_return_address!(3, go_attr)
}

/// # Safety
/// As `gort_go_attr`.
unsafe extern "C" fn go_attr(func: gort_func, arg: *mut c_void, attr: *const gort_attr, creator: usize) -> c_int {
    call(EBUG, || {
        let Some(f) = func else { return libc::EINVAL };
        // SAFETY: per the caller.
        let Some(attr) = (unsafe { attr.as_ref() }) else { return sched::spawn(f, arg, 0, None, creator) };
        if attr.stack_size > MAX_STACK {
            return libc::EINVAL;
        }
        // SAFETY: per the caller, name is NULL or a C string.
        let name = (!attr.name.is_null()).then(|| unsafe { CStr::from_ptr(attr.name) }.to_bytes());
        sched::spawn(f, arg, attr.stack_size, name, creator)
    })
}

/// Runs `fn(arg)` as a goroutine and waits until it returns. Returns 0,
/// EINVAL (fn NULL) or ENOMEM.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn gort_main(func: gort_func, arg: *mut c_void) -> c_int {
    crate::arch::call_with_return_address!(2, main)
}

extern "C" fn main(func: gort_func, arg: *mut c_void, creator: usize) -> c_int {
    #[repr(C)]
    struct MainCall {
        func: unsafe extern "C" fn(*mut c_void),
        arg: *mut c_void,
        done: WaitGroup,
    }
    /// # Safety
    /// `call` is gort_main's MainCall.
    unsafe extern "C" fn trampoline(call: *mut c_void) {
        // SAFETY: gort_main's frame outlives the goroutine (it waits on `done`).
        let call = unsafe { &*(call as *const MainCall) };
        // SAFETY: the user's entry point.
        unsafe { (call.func)(call.arg) };
        call.done.add(-1);
    }
    call(EBUG, || {
        let Some(func) = func else { return libc::EINVAL };
        let main = MainCall { func, arg, done: WaitGroup::new() };
        main.done.add(1);
        let err = sched::spawn(trampoline, ptr::from_ref(&main).cast_mut().cast(), 0, None, creator);
        if err == 0 {
            main.done.wait();
        }
        err
    })
}

/// Lets other goroutines run (Go's `runtime.Gosched`); on a plain thread,
/// `sched_yield`.
#[unsafe(no_mangle)]
pub extern "C" fn gort_yield() {
    call((), sched::yield_now)
}

/// Sleeps at least `ns` nanoseconds (never less); `ns <= 0` returns at once.
/// Parks a goroutine, blocks a plain thread. Returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn gort_sleep(ns: i64) -> c_int {
    call(EBUG, || {
        park::sleep(ns);
        0
    })
}

/// Monotonic time in nanoseconds.
#[unsafe(no_mangle)]
pub extern "C" fn gort_now() -> i64 {
    crate::clock::now()
}

/// The current goroutine's id (> 0), or 0 on a plain thread.
#[unsafe(no_mangle)]
pub extern "C" fn gort_self() -> u64 {
    sched::current_g().map_or(0, |g| g.id())
}

/// `n <= 0` queries the number of Ps; `n > 0` sets it (capped at 1024),
/// inside a stopped world. Returns the previous value.
#[unsafe(no_mangle)]
pub extern "C" fn gort_maxprocs(n: c_int) -> c_int {
    call(-EBUG, || crate::world::maxprocs(n))
}

/// Live goroutines.
#[unsafe(no_mangle)]
pub extern "C" fn gort_num_goroutines() -> usize {
    call(0, || sched::num_goroutines() as usize)
}

/// Pins the calling goroutine to its OS thread until the matching unlock
/// (nestable): it runs only there, and the thread runs nothing else.
/// EPERM on a plain thread.
#[unsafe(no_mangle)]
pub extern "C" fn gort_lock_os_thread() -> c_int {
    call(EBUG, sched::lock_os_thread)
}

/// Undoes one `gort_lock_os_thread`. EPERM on a plain thread or when the
/// goroutine is not locked.
#[unsafe(no_mangle)]
pub extern "C" fn gort_unlock_os_thread() -> c_int {
    call(EBUG, sched::unlock_os_thread)
}

/// Until the matching `gort_nopreempt_end` (nestable), the calling goroutine
/// is not preempted asynchronously (it still yields at runtime calls when
/// asked). No effect on a plain thread.
#[unsafe(no_mangle)]
pub extern "C" fn gort_nopreempt_begin() {
    sched::nopreempt_begin()
}

#[unsafe(no_mangle)]
pub extern "C" fn gort_nopreempt_end() {
    sched::nopreempt_end()
}

/// Marks the start of a blocking C call (nestable): the goroutine's P goes
/// to another thread at once, and no preemption signal is sent here, so the
/// call never sees EINTR from gort. No effect on a plain thread.
#[unsafe(no_mangle)]
pub extern "C" fn gort_blocking_begin() {
    call((), sched::blocking_begin)
}

/// Ends a blocking C call: takes a P back, waiting for one if needed.
#[unsafe(no_mangle)]
pub extern "C" fn gort_blocking_end() {
    call((), sched::blocking_end)
}
