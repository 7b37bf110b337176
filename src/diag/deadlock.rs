//! Deadlock detection (`GORTDEBUG=deadlock=N`): noticing that nothing can
//! ever wake anything.
//!
//! Go knows every thread of its process and reports a deadlock when no M is
//! running and no goroutine can be woken. A C program has threads gort
//! knows nothing about, and any of them could still send on a channel. So
//! the process is deadlocked when, at one consistent moment:
//!
//! - no P runs a goroutine, and no goroutine is runnable (every queue is
//!   empty): every live goroutine is parked;
//! - nothing that wakes goroutines by itself is pending
//!   ([`wake_sources_pending`]): no timer (a sleep, a timed wait), no
//!   goroutine in C code (a blocking call, or running without its P);
//! - every thread of the process (counted in `/proc/self/stat`) is the
//!   runtime's own (its Ms, sysmon, the chores thread) or a plain thread
//!   blocked in a gort call without a timeout; any other thread could still
//!   wake someone;
//! - something is asleep at all: a goroutine, or a plain thread in gort.
//!
//! sysmon looks when the runtime has gone idle, just before it would park
//! ([`Detector::look`]); the report itself (a goroutine dump) is the chores
//! thread's, since it allocates. "Consistent" means that the counters
//! every wake-up moves (scheduling ticks of every P, spawns, plain threads
//! leaving a wait) read the same before and after the look: a look that
//! raced with activity is worthless and is repeated. One episode is
//! reported once: until those counters move, nothing new has happened.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::config::Deadlock;
use crate::sched::park::{plain_threads_blocked, plain_wakes};
use crate::sched::{self, SCHED, all_ms, allp, cfg, nprocs};

/// What every wake-up moves, read as one value (see the module comment).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Activity {
    ticks: u64,
    spawned: u64,
    plain_wakes: u64,
}

fn activity() -> Activity {
    Activity {
        ticks: (0..nprocs()).map(|id| allp(id).schedtick.load(Ordering::Acquire) as u64).sum(),
        spawned: sched::total_spawned(),
        plain_wakes: plain_wakes(),
    }
}

/// What sysmon should do after a look.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Not every goroutine is asleep, or something will wake one: park as
    /// usual (a goroutine running again makes sysmon look again).
    Alive,
    /// Deadlocked, and not reported yet: have it reported.
    Deadlocked(Activity),
    /// Everything in gort sleeps, but a thread outside gort might still
    /// wake someone (or the look raced with activity): look again later.
    Unsure,
}

/// sysmon's memory of its looks.
pub struct Detector {
    reported: Option<Activity>,
    /// The wait before the next look while unsure (doubling).
    backoff: i64,
}

/// First and longest wait between looks while a thread outside gort keeps
/// the verdict open: an idle program with such a thread pays a procfs read
/// at most every 10 s.
const FIRST_BACKOFF_NS: i64 = 50_000_000;
const MAX_BACKOFF_NS: i64 = 10_000_000_000;

impl Detector {
    pub const fn new() -> Detector {
        Detector { reported: None, backoff: FIRST_BACKOFF_NS }
    }

    /// Looks, the runtime being idle as far as sysmon can tell; a deadlock
    /// not reported yet is announced with `report` (the report itself is
    /// `serve`'s, on the chores thread). Returns when to look again:
    /// never (`i64::MAX`: whatever wakes a goroutine wakes sysmon too), or
    /// later while unsure.
    pub fn look(&mut self, now: i64, report: impl FnOnce()) -> i64 {
        match verdict() {
            Verdict::Alive => {
                self.backoff = FIRST_BACKOFF_NS;
                i64::MAX
            }
            Verdict::Deadlocked(a) => {
                if self.reported != Some(a) {
                    self.reported = Some(a);
                    DEADLOCK_WANTED.store(true, Ordering::Release);
                    report();
                }
                i64::MAX
            }
            Verdict::Unsure => {
                let next = now + self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF_NS);
                next
            }
        }
    }
}

/// A deadlock report was asked for (by sysmon, for the chores thread).
pub static DEADLOCK_WANTED: AtomicBool = AtomicBool::new(false);

/// Whether the process is deadlocked now (see the module comment).
pub fn verdict() -> Verdict {
    if cfg().deadlock == Deadlock::Off || SCHED.stw_active.load(Ordering::Acquire) {
        return Verdict::Alive;
    }
    let before = activity();
    if !all_goroutines_parked() || wake_sources_pending() {
        return Verdict::Alive;
    }
    let blocked = plain_threads_blocked();
    if sched::num_goroutines() == 0 && blocked == 0 {
        return Verdict::Alive; // idle, not stuck: nothing waits
    }
    // The runtime's threads: its Ms, sysmon and the chores thread.
    let ours = SCHED.nthreads.load(Ordering::Acquire) as u64 + 2;
    let consistent = activity() == before;
    match process_threads() {
        Some(n) if n == ours + blocked as u64 && consistent => Verdict::Deadlocked(before),
        _ => Verdict::Unsure,
    }
}

/// No P runs a goroutine, none is queued, and no M holds a goroutine (one
/// running C code with or without its P, or stopped by a signal).
fn all_goroutines_parked() -> bool {
    SCHED.npidle.load(Ordering::Acquire) == nprocs()
        && SCHED.runq_len.load(Ordering::Acquire) == 0
        && SCHED.wakeq_len.load(Ordering::Acquire) == 0
        && (0..nprocs()).all(|id| allp(id).runq.is_empty())
        && all_ms().all(|m| m.curg.is_none(Ordering::Acquire))
}

/// Whether something that wakes goroutines by itself is pending: a timer
/// (sleeps and timed waits) or a goroutine in C code (counted in
/// `all_goroutines_parked` already: its M holds it). Wake-up sources that
/// come with new mechanisms (descriptor waits) belong here.
pub fn wake_sources_pending() -> bool {
    (0..nprocs()).any(|id| allp(id).timers.next_when() != i64::MAX)
}

/// Threads of this process (`num_threads` in `/proc/self/stat`), read with
/// system calls only (sysmon must not allocate).
fn process_threads() -> Option<u64> {
    let mut buf = [0u8; 1024];
    // SAFETY: a NUL-terminated path; reads into a stack buffer; closes what
    // it opened.
    let n = unsafe {
        let fd = libc::open(c"/proc/self/stat".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let n = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
        libc::close(fd);
        n
    };
    parse_num_threads(buf.get(..usize::try_from(n).ok()?)?)
}

/// Field 20 of `/proc/PID/stat`: the 18th after the command's closing ')'
/// (the command may itself contain ')' and spaces).
fn parse_num_threads(stat: &[u8]) -> Option<u64> {
    let after = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let field = after.split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(17)?;
    core::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_threads_is_field_20() {
        let stat = b"4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 7 0 12345 1000000 200 rest";
        assert_eq!(parse_num_threads(stat), Some(7));
        assert_eq!(parse_num_threads(b"4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_threads() {
        assert!(process_threads().is_some_and(|n| n >= 1));
    }
}
