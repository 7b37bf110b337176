//! The runtime's one clock: CLOCK_MONOTONIC in nanoseconds (a vDSO read, no
//! system call). Timers, timeouts, sysmon and traces all use it.
//!
//! Also a coarse copy of it that sysmon refreshes on every round, for
//! timestamps that need no precision on paths that cannot afford a clock
//! read: a goroutine's park, which a channel ping-pong does twice per round
//! trip, records when it parked from here (a read of the clock there cost
//! 20-30% of a round trip).

use core::sync::atomic::{AtomicI64, Ordering};

/// sysmon's last reading of `now()`, or 0 while it sleeps for longer than a
/// round (then the clock is read instead).
static COARSE: AtomicI64 = AtomicI64::new(0);

/// Monotonic time in nanoseconds. Async-signal-safe.
pub fn now() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// CPU time consumed so far by the thread with CPU clock `clock`.
pub fn cpu_time(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; an invalid clock only yields EINVAL.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return -1;
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// `ns` from now, saturating: deadlines far in the future stay far.
pub fn deadline_after(ns: i64) -> i64 {
    now().saturating_add(ns)
}

/// Converts a monotonic nanosecond instant to a `timespec`.
pub fn timespec_at(ns: i64) -> libc::timespec {
    libc::timespec { tv_sec: (ns / 1_000_000_000) as libc::time_t, tv_nsec: (ns % 1_000_000_000) as _ }
}

/// `now()` as of sysmon's last round: at most its longest round (10 ms)
/// behind while the runtime is busy; exact (a clock read) while sysmon
/// sleeps longer, when the runtime is idle.
#[inline]
pub fn coarse_now() -> i64 {
    match COARSE.load(Ordering::Relaxed) {
        0 => now(),
        t => t,
    }
}

/// sysmon: `now` is the time (0: sysmon is about to sleep for longer than
/// a round, `coarse_now` must read the clock).
pub fn set_coarse(now: i64) {
    COARSE.store(now, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespecs_and_saturating_deadlines() {
        let ts = timespec_at(3_000_000_042);
        assert_eq!((ts.tv_sec, ts.tv_nsec), (3, 42));
        assert_eq!(deadline_after(i64::MAX), i64::MAX);
        let (a, b) = (now(), now());
        assert!(0 < a && a <= b);
    }
}
