//! sysmon: the runtime's watchdog thread. It has no P and runs no
//! goroutines. It wakes every 20 µs after taking a P from a blocked thread,
//! backing off to 1 ms when every P is busy and 10 ms when some are idle,
//! and earlier for timers; it parks entirely when the runtime is idle, and
//! only looks every 1 ms while the world is stopped. It runs at a higher
//! priority where the process may raise one (`raise_priority`). Each round
//! it:
//!
//! 1. fires timers that are due, on Ps too busy (or too idle) to do it;
//! 2. watches each running P: a goroutine past its time slice gets the
//!    cooperative preemption flag (checked at every runtime call); a P held
//!    by a thread blocked in the kernel while others wait for a P is taken
//!    away *without a signal* and handed to another M;
//! 3. wake-up preemption: a goroutine readied while every P is busy must
//!    not wait a whole slice, so the goroutine that has run longest past
//!    1 ms is asked to stop now (preempt flag plus an on-demand signal);
//! 4. wakes a spinning M when goroutines wait in a queue no running M will
//!    look at soon while a P is idle (a hand-off whose readier ran on: see
//!    `sched::ready`), looking again within 1 ms while that lasts;
//! 5. keeps spare Ms parked, because the preemption handler needs a thread
//!    to hand its P to and cannot create one itself;
//! 6. trims stacks of free goroutines, and has the chores thread refresh
//!    the map of system library code and print `schedtrace` lines;
//! 7. refreshes the coarse clock (`clock::coarse_now`).
//!
//! When the runtime goes idle, before parking, it looks for a deadlock
//! (`diag::deadlock`); the chores thread reports one.
//!
//! sysmon never allocates, never creates threads and never takes a libc
//! lock: a goroutine preempted inside malloc may hold malloc's lock, and
//! sysmon is what gets it a P back (see chores.rs).
//!
//! Blocked-thread detection: the holder's CPU clock (`clock_gettime` on
//! `pthread_getcpuclockid`) advanced by less than half the wall time between
//! two looks (so a loop of short sleeps counts, not only a frozen clock), and
//! `/proc/self/task/TID/stat` does not say R (a runnable thread waiting for
//! a CPU is not blocked). The P is taken with one CAS on the M's `ustate`
//! (see `m`); the thread keeps running its C code without a P when it wakes,
//! until its next runtime call or its CPU timer fires.

use core::sync::atomic::{AtomicI64, Ordering};

use super::m::user_state;
use super::p::{P_RUNNING, Watch};
use super::{SCHED, Stats, allp, cfg, handoffp, nprocs, others_waiting};
use crate::futex::Note;
use crate::{clock, preempt, trace};

/// A P held this long without a switch may be retaken if blocked.
const RETAKE_AFTER: i64 = 20_000;
/// Wake-up preemption stops goroutines that ran at least this long.
const WAKEUP_GRANULARITY: i64 = 1_000_000;
const MIN_DELAY: i64 = 20_000;
const BUSY_MAX_DELAY: i64 = 1_000_000;
const IDLE_MAX_DELAY: i64 = 10_000_000;
const SCAVENGE_EVERY: i64 = 100_000_000;
/// After a wake-up preemption request, look again this soon.
const REQUEST_RECHECK: i64 = 250_000;
/// A P holder's CPU clock is sampled at most this often (two samples tell
/// a blocked thread from a busy one; each is a system call).
const CPU_SAMPLE_EVERY: i64 = 500_000;
const TEXTMAP_EVERY: i64 = 1_000_000_000;

static NOTE: Note = Note::new();
/// When sysmon plans to wake next (i64::MAX while parked: the runtime is
/// idle and sysmon waits for `poke`).
static WAKE_AT: AtomicI64 = AtomicI64::new(0);

pub fn start() {
    if !super::m::spawn_thread(sysmon_main, core::ptr::null_mut()) {
        eprintln!("gort: cannot create the sysmon thread; preemption and timers of busy Ps will not work");
    }
}

/// Wakes sysmon so it looks again now.
pub fn wake() {
    NOTE.wakeup();
}

/// A P is going back to work: if sysmon parked because everything was
/// idle, it must watch again. One load when sysmon is awake.
#[inline]
pub fn poke() {
    if WAKE_AT.load(Ordering::Relaxed) == i64::MAX {
        NOTE.wakeup();
    }
}

/// A timer was added: make sure sysmon will be awake by `when`.
pub fn timer_added(when: i64) {
    if when < WAKE_AT.load(Ordering::Relaxed) {
        NOTE.wakeup();
    }
}

/// A goroutine was readied from outside any P: if every P is busy, sysmon
/// must consider wake-up preemption soon.
pub fn wakeup_waiting() {
    if SCHED.npidle.load(Ordering::Relaxed) == 0 && WAKE_AT.load(Ordering::Relaxed) > clock::now() + BUSY_MAX_DELAY {
        NOTE.wakeup();
    }
}

extern "C" fn sysmon_main(_: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: affects only this thread: precise sleeps for timer deadlines.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1u64) };
    raise_priority();
    let cfg = cfg();
    let mut delay = MIN_DELAY;
    let mut quiet_rounds = 0u32;
    let start = clock::now();
    let (mut last_scavenge, mut last_textmap) = (start, start);
    let mut next_schedtrace =
        if cfg.schedtrace_ms > 0 { start + cfg.schedtrace_ms as i64 * 1_000_000 } else { i64::MAX };
    let mut prev_round = start;
    let mut recheck = i64::MAX;
    let mut deadlocks = crate::diag::DeadlockDetector::new();
    loop {
        let now = clock::now();
        // Nothing to watch while the world is stopped (Go's sysmon sleeps
        // too, and here it would only take CPU from the stopper). It looks
        // again after BUSY_MAX_DELAY rather than being woken by the start: a
        // wake-up per start would put this high-priority thread on the CPU
        // of a stopper that stops again at once.
        let stopped = SCHED.stw_active.load(Ordering::Relaxed);
        let all_idle = SCHED.npidle.load(Ordering::Relaxed) == nprocs();
        let wake_at = if stopped {
            now + BUSY_MAX_DELAY
        } else {
            // Idle: park, unless a deadlock check wants another look later.
            let idle_or_delay =
                if all_idle && quiet_rounds > 50 { deadlocks.look(now, super::chores::want_diag) } else { now + delay };
            // Timers of idle Ps too: sysmon is what fires those.
            idle_or_delay.min(earliest_timer()).min(recheck)
        }
        .min(next_schedtrace);
        WAKE_AT.store(wake_at, Ordering::Relaxed);
        if wake_at > now {
            if wake_at - now > IDLE_MAX_DELAY {
                clock::set_coarse(0); // idle for a while: parks read the clock
            }
            NOTE.sleep_until((wake_at != i64::MAX).then_some(wake_at));
        }
        WAKE_AT.store(0, Ordering::Relaxed);

        let now = clock::now();
        clock::set_coarse(now);
        if now >= next_schedtrace {
            super::chores::want_schedtrace(now - start);
            next_schedtrace = now + cfg.schedtrace_ms as i64 * 1_000_000;
        }
        if SCHED.stw_active.load(Ordering::Relaxed) {
            continue;
        }
        fire_timers(now);
        // Only a retake speeds sysmon up: firing timers (a goroutine
        // sleeping 1 ms in a loop) is paced by the timers themselves.
        let (retook, requested, next_check) = watch(now, prev_round);
        // After asking a goroutine to stop, give it time to: re-checking at
        // full speed would only burn the CPU it needs.
        recheck = if requested { next_check.min(now + REQUEST_RECHECK) } else { next_check };
        prev_round = now;
        let stranded = watch_queues();
        keep_spares();
        if now - last_scavenge >= SCAVENGE_EVERY {
            last_scavenge = now;
            super::g::scavenge();
        }
        if now - last_textmap >= TEXTMAP_EVERY {
            last_textmap = now;
            super::chores::want_textmap();
        }
        if retook {
            quiet_rounds = 0;
            delay = MIN_DELAY;
        } else if stranded {
            // Look again soon: work may be waiting for an idle P.
            delay = delay.min(BUSY_MAX_DELAY);
        } else {
            quiet_rounds = quiet_rounds.saturating_add(1);
            let max = if SCHED.npidle.load(Ordering::Relaxed) == 0 { BUSY_MAX_DELAY } else { IDLE_MAX_DELAY };
            if quiet_rounds > 50 {
                delay = (delay * 2).min(max);
            }
            delay = delay.min(max);
        }
    }
}

/// How much sysmon lowers its nice value, where the process may (root,
/// `CAP_SYS_NICE` or `RLIMIT_NICE`).
const NICE_BOOST: i32 = 10;

/// sysmon must run the moment its sleep ends, but when every CPU runs a
/// hog the kernel often leaves it waiting for the next tick (4 ms at
/// HZ=250): EEVDF does not preempt the running thread for a wakee that is
/// not yet "eligible", and a thread that wakes a thousand times a second is
/// rarely eligible at equal weight. A higher weight fixes that (measured
/// here: sleeper p99 2.9 ms at nice 0, 0.3 ms at nice -10). sysmon sleeps
/// almost all the time, so its weight costs the program nothing. Without
/// the privilege it stays at the process's nice value.
fn raise_priority() {
    // SAFETY: get/setpriority on this thread only (Linux: a TID names a thread).
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
        if *libc::__errno_location() == 0 {
            libc::setpriority(libc::PRIO_PROCESS, tid, (nice - NICE_BOOST).max(-20));
        }
    }
}

/// Wakes a spinning M if goroutines wait where no running M will look soon
/// while a P is idle: on the global queues (queued by a preemption
/// handler, which cannot start threads), or in a busy P's local queue
/// (a hand-off whose readier ran on in user code: see `sched::ready`).
/// Returns whether it found such work.
fn watch_queues() -> bool {
    if SCHED.npidle.load(Ordering::Relaxed) == 0 {
        return false;
    }
    if !super::global_work() && (0..nprocs()).all(|id| allp(id).runq.is_empty()) {
        return false;
    }
    super::wakep();
    true
}

fn earliest_timer() -> i64 {
    (0..nprocs()).map(|id| allp(id).timers.next_when()).min().unwrap_or(i64::MAX)
}

fn fire_timers(now: i64) {
    for id in 0..nprocs() {
        allp(id).timers.run(now);
    }
}

/// Looks at every running P (see the module comment). Returns whether it
/// took a P, whether it asked a goroutine to stop, and when it wants to look
/// again (a wake-up preemption candidate reaches the granularity then).
///
/// Run times are upper bounds: a goroutine whose switch-in sysmon notices
/// now may have started any time since sysmon's previous look (`prev`), and
/// is counted from there. Recording switch times exactly would cost a clock
/// read on every switch.
fn watch(now: i64, prev: i64) -> (bool, bool, i64) {
    let cfg = cfg();
    let mut acted = false;
    let mut recheck = i64::MAX;
    let urgent = SCHED.wakeq_len.load(Ordering::Relaxed) > 0;
    let mut victim: Option<(&'static super::m::M, i64)> = None;
    for id in 0..nprocs() {
        let p = allp(id);
        // SAFETY: sysmon owns the watch fields.
        let w = unsafe { p.watch.get_mut() };
        let tick = p.schedtick.load(Ordering::Relaxed);
        if p.status.load(Ordering::Relaxed) != P_RUNNING {
            *w = Watch { schedtick: tick, since: now, cpu: -1, cpu_at: 0 };
            continue;
        }
        if tick != w.schedtick {
            *w = Watch { schedtick: tick, since: prev, cpu: -1, cpu_at: 0 };
            p.run_since.store(prev, Ordering::Relaxed);
        }
        let ran = now - w.since;
        let Some(m) = p.m.load(Ordering::Relaxed) else { continue };
        if m.ustate.load(Ordering::Relaxed) != user_state(p) {
            // In the runtime (it will reach a scheduling point on its own),
            // or not really holding p any more.
            w.cpu = -1;
            continue;
        }
        let Some(g) = m.curg.load(Ordering::Relaxed) else { continue };
        if ran >= cfg.preempt_ns {
            g.preempt.store(true, Ordering::Relaxed);
        }
        // (A stop-the-world takes blocked Ps itself.)
        if ran >= RETAKE_AFTER
            && (w.cpu < 0 || now - w.cpu_at >= CPU_SAMPLE_EVERY)
            && (others_waiting(p) || p.timers.next_when() <= now)
            && !SCHED.stw_active.load(Ordering::Relaxed)
        {
            let cpu = clock::cpu_time(m.cpu_clock.load(Ordering::Relaxed));
            // Mostly blocked since the last look: less than half the wall
            // time on a CPU (a thread polling with short sleeps never shows a
            // frozen clock), and not on (or waiting for) a CPU right now.
            let mostly_blocked = w.cpu >= 0 && cpu >= 0 && 2 * (cpu - w.cpu) < now - w.cpu_at;
            w.cpu = cpu;
            w.cpu_at = now;
            if mostly_blocked && !m.thread_running() && m.take_p(p) {
                // The P is ours now: the M will find out at its next runtime call.
                p.m.store(None, Ordering::Relaxed);
                Stats::bump(&SCHED.stats.handoffs);
                trace::retake(p, m);
                *w = Watch { schedtick: tick, since: now, cpu: -1, cpu_at: 0 };
                handoffp(p);
                acted = true;
                continue;
            }
        }
        if urgent || p.runq.has_next() {
            if ran < WAKEUP_GRANULARITY {
                recheck = recheck.min(w.since + WAKEUP_GRANULARITY);
            } else if victim.is_none_or(|(_, r)| ran > r) {
                victim = Some((m, ran));
            }
        }
    }
    let mut requested = false;
    if let Some((m, _)) = victim
        && SCHED.npidle.load(Ordering::Relaxed) == 0
    {
        preempt::request(m);
        requested = true;
    }
    (acted, requested, recheck)
}

/// Keeps a few parked Ms ready for the preemption handler's hand-offs.
fn keep_spares() {
    if !preempt::async_enabled() || SCHED.npidle.load(Ordering::Relaxed) == nprocs() {
        return;
    }
    let want = nprocs().max(2);
    if SCHED.nmidle.load(Ordering::Relaxed) < want {
        super::chores::want_spares(want);
    }
}
