//! Diagnostics: goroutine dumps (`gort_dump`).
//!
//! A dump shows every goroutine in Go's traceback shape (see `format`):
//! its state, and its stack as functions with file and line.
//!
//! # Never waiting for malloc
//!
//! Stacks must be read while their goroutines cannot run, so a dump stops
//! the world; and a goroutine stopped inside `malloc` keeps malloc's lock
//! for as long as the world stays stopped. Nothing that runs while the world
//! is stopped may therefore allocate or take a libc lock. A dump runs in
//! three steps:
//!
//! 1. With the world running, it prepares: lists the loaded objects and
//!    copies their unwind tables (`unwind`), and allocates the records and
//!    the frame arena (`snapshot`). Done as user code (outside the runtime),
//!    so a wait for malloc's lock here is an ordinary wait: sysmon hands the
//!    caller's P to another thread meanwhile, and the goroutine holding the
//!    lock gets to run.
//! 2. It stops the world, copies every goroutine's state and walks its stack
//!    into those buffers (framehop with a rule cache made in step 1: no
//!    allocation), and starts the world again.
//! 3. It symbolizes (`symbolize`: addr2line, which reads files and
//!    allocates), formats and writes.
//!
//! # Modules
//!
//! - `unwind`: loaded objects and stack walking;
//! - `symbolize`: addresses to functions, files and lines;
//! - `snapshot`: what is copied while the world is stopped;
//! - `format`: the text;
//! - `debugger`: the layout `tools/gort-gdb.py` reads (no dump involved).

mod debugger;
mod format;
mod snapshot;
mod symbolize;
mod unwind;

use self::snapshot::{Current, Snapshot};
use self::symbolize::Symbolizer;
use self::unwind::Objects;
use crate::sched;
use crate::sync::mutex::Mutex;

/// One dump at a time: they would only stop the world in turn.
static DUMPING: Mutex = Mutex::new();

/// `gort_dump`: writes every goroutine to `fd`. Returns 0 or an errno:
/// EBADF (not a descriptor), EDEADLK (the caller holds the world stopped:
/// the dump could not stop it, and must not allocate inside it), or what
/// write(2) said.
pub fn dump(fd: i32) -> i32 {
    // SAFETY: F_GETFL only queries the descriptor.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFL) } < 0 {
        return libc::EBADF;
    }
    if crate::world::held_by_caller() {
        return libc::EDEADLK;
    }
    let text = {
        DUMPING.lock();
        let text = take();
        DUMPING.unlock();
        text
    };
    write_all(fd, text.as_bytes())
}

/// Takes a dump: prepares, stops the world, collects, starts it, and
/// formats (the module comment's three steps).
fn take() -> String {
    let mut objects = Objects::load();
    let mut snap = Snapshot::for_live_goroutines();
    crate::world::stop();
    let current = sched::current_g().map_or(Current::None, Current::Caller);
    snap.collect(&mut objects, current, false);
    crate::world::start();
    let mut sym = Symbolizer::new(&objects.list);
    let mut out = String::with_capacity(snap.records.len() * 256);
    format::dump(&mut out, &snap, &mut sym);
    out
}

/// write(2) until everything is written. 0 or an errno.
fn write_all(fd: i32, mut bytes: &[u8]) -> i32 {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
            if e == libc::EINTR {
                continue;
            }
            return e;
        }
        bytes = &bytes[n as usize..];
    }
    0
}
