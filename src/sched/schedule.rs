//! Switching, and finding work.
//!
//! A goroutine that blocks, yields or exits switches *directly* to the next
//! runnable goroutine of its P when one is at hand (one context switch, no
//! lock), and to its M's scheduler context ("g0", the thread's own stack,
//! running `m_loop`) otherwise. The work that must happen only once the
//! leaving goroutine's registers are saved (requeueing it, releasing the
//! lock that makes it wakeable, freeing it) travels in `M::tail` and is
//! done by whatever context runs next (`finish_switch`), as Linux does in
//! `finish_task_switch`. This is what makes it safe for a waker on another
//! thread to resume a goroutine the moment it can see it.
//!
//! Finding work (`find_runnable`, on g0): timers due on this P, the wake
//! queue, the global queue every 61st tick (fairness), the local queue, the
//! global queue, then stealing half of another P's queue. An M that finds
//! nothing gives its P back and parks (see `idle`).

use core::ptr;
use core::sync::atomic::Ordering;

use super::g::{self, G, G_RUNNABLE, G_RUNNING};
use super::idle::{
    acquirep, hand_p, handoffp, park_m, pidleget, pidleput, releasep, reset_spinning, stop_p, stopm, wakep,
};
use super::m::{self, M, Tail};
use super::p::{HANDOFF_NONE, P};
use super::runq::{globrunq_get, globrunq_put, runq_put, wakeq_get};
use super::{SCHED, allp, lock, nprocs, sysmon};
use crate::{arch, clock, fastrand_n, trace};

/// Check the global queue first every this many schedules, so goroutines
/// there are not starved by a busy local queue (Go uses the same prime).
const GLOBAL_CHECK_EVERY: u32 = 61;

/// Leaves `g`, the goroutine running on `m`, for the next one on this P,
/// or for g0; `tail` runs once the goroutine's context is saved. Returns
/// when the goroutine is resumed, possibly on another M. Inlined, so that
/// each caller's constant `tail` becomes plain stores.
#[inline(always)]
pub(super) fn switch_away(m: &'static M, g: &'static G, tail: Tail) {
    // SAFETY: m is this thread's M (the caller runs g on it).
    unsafe { m.set_tail(tail) };
    switch_out(m, g);
}

fn switch_out(m: &'static M, g: &'static G) {
    let p = m.p().unwrap();
    trace::go_stop(p, g);
    // SAFETY: g is the running goroutine, so its context slot is ours to
    // write; `next`'s saved context is valid while it sits in a run queue,
    // and ours to read once we took it off; g0's slot belongs to this
    // thread (m is its M).
    unsafe {
        match fast_next(m, p) {
            Some((next, inherit)) => {
                run_prepare(m, p, next, inherit);
                arch::switch(g.ctx.as_ptr(), next.ctx.get());
            }
            None => {
                m.curg.store(None, Ordering::Relaxed);
                arch::switch(g.ctx.as_ptr(), m.g0_sp.get());
            }
        }
    }
    finish_switch(m::current().unwrap());
}

/// The goroutine to switch to without going through g0, if the decision is
/// simple: local work, nothing urgent or due elsewhere.
#[inline]
fn fast_next(m: &M, p: &P) -> Option<(&'static G, bool)> {
    if !m.lockedg.is_none(Ordering::Relaxed)
        || SCHED.stw_active.load(Ordering::Relaxed)
        || SCHED.wakeq_len.load(Ordering::Relaxed) > 0
        || p.schedtick.load(Ordering::Relaxed).is_multiple_of(GLOBAL_CHECK_EVERY)
    {
        return None;
    }
    let next_timer = p.timers.next_when();
    if next_timer != i64::MAX && next_timer <= clock::now() {
        return None;
    }
    let (g, inherit) = p.runq.get_noting_next()?;
    if g.bound_m.load(Ordering::Relaxed).is_some_and(|b| !ptr::eq(b, m)) {
        // SAFETY: m is this thread's M (switch_out runs on it).
        unsafe { m.pending.set(Some(g)) };
        return None;
    }
    Some((g, inherit))
}

/// Makes `g` the running goroutine. A goroutine taken from the `next` slot
/// (a hand-off: ping-pong partners, a woken receiver) inherits the time
/// slice: the P's schedtick does not move, so a pair that hands off back and
/// forth looks to sysmon and the preemption timer like one goroutine running
/// on, and is preempted after a slice instead of starving the rest of the
/// queue (Go's `inheritTime`).
fn run_prepare(m: &M, p: &P, g: &'static G, inherit: bool) {
    m.curg.store(Some(g), Ordering::Relaxed);
    g.status.store(G_RUNNING, Ordering::Relaxed);
    g.preempt.store(false, Ordering::Relaxed);
    if !inherit {
        p.tick();
    }
    // Whatever was readied, this P is running goroutines again.
    // SAFETY: m, this thread's M, holds p.
    unsafe {
        if p.handoff.get() != HANDOFF_NONE {
            p.handoff.set(HANDOFF_NONE);
        }
    }
    trace::go_start(p, g);
}

/// Finishes the switch that brought us here: the previous goroutine's tail.
pub(super) fn finish_switch(m: &'static M) {
    // SAFETY: m is this thread's M.
    match unsafe { m.take_tail() } {
        Tail::None => {}
        // The previous G, now fully switched out.
        Tail::Requeue(g) => {
            g.status.store(G_RUNNABLE, Ordering::Relaxed);
            runq_put(m.p().unwrap(), g, false);
        }
        Tail::RequeueGlobal(g) => {
            g.status.store(G_RUNNABLE, Ordering::Relaxed);
            globrunq_put(&mut lock(), g);
            wakep();
        }
        // SAFETY: the parker's unlock function and argument.
        Tail::Park(Some((unlock, arg))) => unsafe { unlock(arg) },
        Tail::Park(None) => {}
        Tail::Exit(g) => g::put(m.p(), g),
    }
}

/// The scheduler loop of an M, on its own stack.
pub(super) fn m_loop(m: &'static M) -> ! {
    loop {
        finish_switch(m);
        let g = next_g(m);
        let p = m.p().unwrap();
        run_prepare(m, p, g, false);
        // SAFETY: g is runnable and ours; g0's slot is this thread's.
        unsafe { arch::switch(m.g0_sp.as_ptr(), g.ctx.get()) };
    }
}

/// The next goroutine this M should run, with a P held.
fn next_g(m: &'static M) -> &'static G {
    loop {
        if let Some(locked) = m.lockedg.load(Ordering::Relaxed) {
            // Our goroutine cannot run now: lend our P out until someone
            // picks the goroutine and hands a P back.
            handoffp(releasep(m));
            park_m(m);
            return locked;
        }
        // SAFETY: m is this thread's M.
        let g = match unsafe { m.pending.replace(None) } {
            Some(g) => g,
            None => find_runnable(m),
        };
        if m.spinning.load(Ordering::Relaxed) {
            reset_spinning(m);
        }
        if let Some(bound) = g.bound_m.load(Ordering::Relaxed)
            && !ptr::eq(bound, m)
        {
            bound.steer_here(); // we are about to sleep: let it run here
            hand_p(bound, releasep(m));
            stopm(m);
            continue;
        }
        return g;
    }
}

/// Finds a runnable goroutine, parking the M while there is none.
fn find_runnable(m: &'static M) -> &'static G {
    'top: loop {
        let p = m.p().unwrap();
        if SCHED.stw_active.load(Ordering::Acquire) {
            stop_for_world(m);
            continue;
        }
        run_timers(p);
        if SCHED.wakeq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = wakeq_get(&mut lock())
        {
            return g;
        }
        if p.schedtick.load(Ordering::Relaxed).is_multiple_of(GLOBAL_CHECK_EVERY)
            && SCHED.runq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = globrunq_get(&mut lock(), p, false)
        {
            return g;
        }
        if let Some(g) = p.runq.get() {
            return g;
        }
        if SCHED.runq_len.load(Ordering::Relaxed) > 0
            && let Some(g) = globrunq_get(&mut lock(), p, true)
        {
            return g;
        }
        if let Some(g) = steal_work(m, p) {
            return g;
        }

        // Nothing to do: give the P back.
        let mut lk = lock();
        if SCHED.stw_active.load(Ordering::Relaxed) {
            drop(lk);
            continue;
        }
        if let Some(g) = wakeq_get(&mut lk).or_else(|| globrunq_get(&mut lk, p, true)) {
            return g;
        }
        releasep(m);
        pidleput(&mut lk, p);
        drop(lk);
        if p.timers.next_when() != i64::MAX {
            sysmon::wake();
        }

        // A spinner must look again after it stops spinning: work queued
        // meanwhile by someone who saw it spinning (and so woke nobody)
        // would be stranded (Go's "delicate dance", go.dev/issue/43997).
        if m.spinning.swap(false, Ordering::Relaxed) {
            SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
            let mut lk = lock();
            if (lk.runq.len > 0 || lk.wakeq.len > 0)
                && !SCHED.stw_active.load(Ordering::Relaxed)
                && let Some(p) = pidleget(&mut lk)
            {
                let g = wakeq_get(&mut lk).or_else(|| globrunq_get(&mut lk, p, true)).unwrap();
                drop(lk);
                acquirep(m, p);
                m.spinning.store(true, Ordering::Relaxed);
                SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
                return g;
            }
            drop(lk);
            for id in 0..nprocs() {
                if !allp(id).runq.is_empty() {
                    let got = pidleget(&mut lock());
                    if let Some(p) = got {
                        acquirep(m, p);
                        m.spinning.store(true, Ordering::Relaxed);
                        SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
                        continue 'top;
                    }
                    break;
                }
            }
        }
        stopm(m);
    }
}

/// How long a spinning M keeps looking for work before it parks. While one
/// spins, readying a goroutine wakes nobody (`wakep` sees the spinner), so
/// this bounds how often a busy P pays for a futex wake-up; Go's spinners
/// last about as long (their 3 µs usleep is ~50 µs with Linux timer slack).
const SPIN_NS: i64 = 50_000;
/// Pause between stealing rounds. Each round reads the victims' run queue
/// cache lines, which their owners write on every switch: polling them
/// continuously would slow the very Ps we hope to help.
const SPIN_ROUND_NS: i64 = 3_000;
/// A goroutine must sit in a busy P's `next` slot this long before a thief
/// takes it (see `steal_work`).
const NEXT_GRACE_NS: i64 = 40_000;

/// Steals from other Ps (and runs their overdue timers) as a spinning M,
/// for up to `SPIN_NS`, also watching the global and wake queues.
///
/// A victim's `next` slot is taken only if the same goroutine sat there,
/// with no switch on the victim, for `NEXT_GRACE_NS`: it was readied by a
/// hand-off and its P will run it as soon as the readier blocks, and
/// stealing it would split a producer/consumer pair across Ps and make them
/// fight over the channel's cache lines. (Go's thief waits "3 µs", which
/// Linux timer slack stretches to ~50 µs.)
fn steal_work(m: &M, p: &'static P) -> Option<&'static G> {
    let n = nprocs();
    if n == 1 {
        return None;
    }
    if !m.spinning.load(Ordering::Relaxed) {
        let busy = n - SCHED.npidle.load(Ordering::Relaxed);
        // Don't let more than half the busy Ps spin: spinning burns CPU.
        if 2 * SCHED.nmspinning.load(Ordering::Relaxed) >= busy {
            return None;
        }
        m.spinning.store(true, Ordering::Relaxed);
        SCHED.nmspinning.fetch_add(1, Ordering::SeqCst);
    }
    let until = clock::now() + SPIN_NS;
    let start = fastrand_n(n);
    // (victim id, its next goroutine, its schedtick), and since when.
    let mut seen_next: Option<((u32, *const G, u32), i64)> = None;
    loop {
        let mut candidate = None;
        for i in 0..n {
            let victim = allp((start + i) % n);
            if core::ptr::eq(victim, p) {
                continue;
            }
            if victim.timers.next_when() <= clock::now() {
                victim.timers.run(clock::now());
                if let Some(g) = p.runq.get() {
                    return Some(g);
                }
            }
            if let Some(g) = p.runq.steal_from(&victim.runq) {
                return Some(g);
            }
            if let Some(next) = victim.runq.peek_next()
                && candidate.is_none()
            {
                let key = (victim.id, ptr::from_ref(next), victim.schedtick.load(Ordering::Relaxed));
                let since = match seen_next {
                    Some((k, since)) if k == key => since,
                    _ => clock::now(),
                };
                if clock::now() - since >= NEXT_GRACE_NS && victim.runq.take_next(next) {
                    return Some(next);
                }
                candidate = Some((key, since));
            }
        }
        seen_next = candidate;
        if SCHED.runq_len.load(Ordering::Relaxed) + SCHED.wakeq_len.load(Ordering::Relaxed) > 0
            || SCHED.stw_active.load(Ordering::Relaxed)
            || clock::now() > until
        {
            return None; // the caller looks at the global queues (or stops)
        }
        let pause_until = clock::now() + SPIN_ROUND_NS;
        while clock::now() < pause_until && !SCHED.stw_active.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
    }
}

/// Runs this P's due timers (a clock read only when it has timers).
fn run_timers(p: &P) {
    let next = p.timers.next_when();
    if next != i64::MAX {
        p.timers.run(clock::now());
    }
}

/// A stop-the-world is in progress: hand over our P and park until the
/// world starts again and gives us one.
fn stop_for_world(m: &'static M) {
    let mut lk = lock();
    if !SCHED.stw_active.load(Ordering::Relaxed) {
        return; // the world started again meanwhile
    }
    if m.spinning.swap(false, Ordering::Relaxed) {
        SCHED.nmspinning.fetch_sub(1, Ordering::SeqCst);
    }
    let p = releasep(m);
    stop_p(&mut lk, p);
    drop(lk);
    stopm(m);
}
