//! A goroutine's life: spawned onto its spawner's P (the `next` slot, so it
//! runs soon and on a warm cache) or, from a plain thread, onto the global
//! queue; started by `goroutine_main` on its own stack; parked (`park`) and
//! readied (`ready`) as it waits; yielding; and exiting back to the pool of
//! free Gs (`g`). Also the per-goroutine states the C API sets: locked to
//! its thread, and inside the `gort_nopreempt_*` and `gort_blocking_*`
//! brackets.

use core::ptr;
use core::sync::atomic::Ordering;

use super::enter::{enter, leave};
use super::g::{self, G, G_RUNNABLE, G_WAITING, GoFn, WaitReason};
use super::idle::wakep;
use super::m::{self, Tail};
use super::p::{HANDOFF_READIED, P};
use super::runq::{self, globrunq_put, others_waiting, runq_put, wakeq_put};
use super::schedule::{finish_switch, switch_away};
use super::{SCHED, allp, lock, sysmon};
use crate::{arch, clock, trace};

/// Spawns a goroutine. Returns 0 or an errno (ENOMEM).
pub fn spawn(entry: GoFn, arg: *mut libc::c_void, stack_size: usize, name: Option<&[u8]>, creator: usize) -> i32 {
    let rt = enter();
    let p = rt.as_ref().and_then(|_| m::current().unwrap().p());
    let (class, _) = g::class_for(stack_size);
    let Some(g) = g::get(p, class) else { return libc::ENOMEM };
    // SAFETY: the calling thread's M holds p, if any.
    g.id.store(unsafe { next_goid(p) }, Ordering::Relaxed);
    // SAFETY: a free G is the spawner's until queued: its entry, argument,
    // name, context and stack are ours to write.
    unsafe {
        g.entry.set(Some(entry));
        g.arg.set(arg);
        g.set_name(name);
        g.ctx.set(arch::init_stack(g.stack_top(), ptr::from_ref(g) as usize));
    }
    g.schedlink.store(None, Ordering::Relaxed);
    g.bound_m.store(None, Ordering::Relaxed);
    g.locked.store(0, Ordering::Relaxed);
    g.nopreempt.store(0, Ordering::Relaxed);
    g.blocking.store(0, Ordering::Relaxed);
    g.preempt.store(false, Ordering::Relaxed);
    g.wait_reason.store(WaitReason::None as u32, Ordering::Relaxed);
    g.create_pc.store(creator, Ordering::Relaxed);
    g.status.store(G_RUNNABLE, Ordering::Release);
    trace::go_create(g);
    match p {
        Some(p) => {
            P::bump(&p.nspawned);
            runq_put(p, g, true);
            wakep();
            // Back-pressure: a goroutine that fills its P's queue with new
            // goroutines lets them run before it makes more. They would
            // have to run anyway, and running them while their stacks are
            // still in cache beats spilling them to the global queue and
            // finding them cold later (a spawn loop keeps ~128 goroutines
            // alive instead of all of them).
            let m = m::current().unwrap();
            if p.runq.len() >= SPAWN_YIELD_AT && m.lockedg.is_none(Ordering::Relaxed) {
                let (m, me) = rt.as_ref().expect("a P is held only on a goroutine").current();
                switch_away(m, me, Tail::Requeue(me));
            }
        }
        None => {
            SCHED.nspawned_nop.fetch_add(1, Ordering::Relaxed);
            globrunq_put(&mut lock(), g);
            wakep();
        }
    }
    0
}

/// Local queue length at which a spawning goroutine yields (see `spawn`).
const SPAWN_YIELD_AT: u32 = runq::RUNQ_SIZE as u32 / 2;

/// A new goroutine id, from `p`'s cache of them if a P is given.
///
/// # Safety
/// The calling thread's M holds `p`.
unsafe fn next_goid(p: Option<&P>) -> u64 {
    const BATCH: u64 = 16;
    let Some(p) = p else { return SCHED.goid_gen.fetch_add(1, Ordering::Relaxed) };
    // SAFETY: the holder of p owns its id cache (caller).
    let (next, end) = unsafe { p.goid_cache.get() };
    let (id, cache) = if next < end {
        (next, (next + 1, end))
    } else {
        let base = SCHED.goid_gen.fetch_add(BATCH, Ordering::Relaxed);
        (base, (base + 1, base + BATCH))
    };
    // SAFETY: as above.
    unsafe { p.goid_cache.set(cache) };
    id
}

/// Where every goroutine starts: called by the arch trampoline on its
/// stack, with the G that `spawn` gave `arch::init_stack`.
pub extern "C" fn goroutine_main(g: &'static G) -> ! {
    finish_switch(m::current().unwrap());
    // SAFETY: a running goroutine owns its entry and argument (its spawner
    // wrote them before queueing it).
    let (entry, arg) = unsafe { (g.entry.get().unwrap(), g.arg.get()) };
    leave(m::current().unwrap(), g);
    // SAFETY: a fresh goroutine starts with errno 0, like a fresh thread.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: the user's entry point, called as documented.
    unsafe { entry(arg) };
    let rt = enter();
    core::mem::forget(rt);
    goexit(g)
}

/// `g`, the running goroutine, returned from its entry point.
fn goexit(g: &'static G) -> ! {
    let m = m::current().unwrap();
    if g.locked.load(Ordering::Relaxed) > 0 {
        // Like Go, a goroutine may exit while locked; unlike Go we keep the
        // thread and let it run other goroutines (documented).
        g.locked.store(0, Ordering::Relaxed);
        m.lockedg.store(None, Ordering::Relaxed);
    }
    match m.p() {
        Some(p) => P::bump(&p.nexited),
        None => {
            SCHED.nexited_nop.fetch_add(1, Ordering::Relaxed);
        }
    }
    trace::go_end(m, g);
    switch_away(m, g, Tail::Exit(g));
    unreachable!("an exited goroutine was resumed");
}

/// Parks `g`, the running goroutine (which is inside the runtime).
/// `unlock(arg)` runs once its context is saved; until then nobody can find
/// it to wake it.
#[inline]
pub fn park(g: &'static G, reason: WaitReason, unlock: Option<m::Unlock>) {
    let m = m::current().unwrap();
    g.waitsince.store(clock::coarse_now(), Ordering::Relaxed);
    g.wait_reason.store(reason as u32, Ordering::Relaxed);
    g.status.store(G_WAITING, Ordering::Relaxed);
    switch_away(m, g, Tail::Park(unlock));
}

/// Makes a parked goroutine runnable. From a goroutine (or g0) holding a P
/// it goes to that P's `next` slot; from anywhere else to the wake queue.
///
/// A hand-off (the `next` slot is all this P has queued) wakes no spinning
/// M, unlike Go's `ready`: the readier usually blocks at once (a
/// ping-pong, a request and its reply) and its P then runs the goroutine
/// itself, while a spinner costs the readier a futex wake-up and then polls
/// this P's run queue lines for nothing (it may not take `next` for
/// `NEXT_GRACE_NS` anyway). At 2 Ps that was 15-20% of a ping-pong round
/// trip. If the readier instead comes back to the runtime and leaves again
/// without having let the goroutine run, `leave` wakes a spinner; if it
/// runs on in user code, sysmon does (see `sysmon::watch_queues`).
pub fn ready(g: &'static G) {
    g.status.store(G_RUNNABLE, Ordering::Release);
    trace::unpark(g);
    if let Some(p) = m::current().and_then(|m| m.p()) {
        runq_put(p, g, true);
        if p.runq.ring_is_empty() {
            // SAFETY: p is held by this thread's M.
            unsafe { p.handoff.set(HANDOFF_READIED) };
        } else {
            wakep();
        }
        return;
    }
    wakeq_put(&mut lock(), g);
    wakep();
    sysmon::wakeup_waiting();
}

/// `gort_yield`: let other goroutines run; on a plain thread, sched_yield.
pub fn yield_now() {
    let Some(rt) = enter() else {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
        return;
    };
    let (m, g) = rt.current();
    if !others_waiting(m.p().unwrap()) || SCHED.stw_active.load(Ordering::Relaxed) {
        return; // nobody to yield to (in a stopped world, nobody may run)
    }
    switch_away(m, g, Tail::Requeue(g));
}

/// Current goroutine, if the caller is one.
#[inline]
pub fn current_g() -> Option<&'static G> {
    m::current()?.curg.load(Ordering::Relaxed)
}

pub fn lock_os_thread() -> i32 {
    let Some(rt) = enter() else { return libc::EPERM };
    let (m, g) = rt.current();
    let depth = g.locked.load(Ordering::Relaxed) + 1;
    g.locked.store(depth, Ordering::Relaxed);
    if depth == 1 {
        g.bound_m.store(Some(m), Ordering::Relaxed);
        m.lockedg.store(Some(g), Ordering::Relaxed);
    }
    0
}

pub fn unlock_os_thread() -> i32 {
    let Some(rt) = enter() else { return libc::EPERM };
    let (m, g) = rt.current();
    match g.locked.load(Ordering::Relaxed) {
        0 => libc::EPERM,
        1 => {
            g.locked.store(0, Ordering::Relaxed);
            g.bound_m.store(None, Ordering::Relaxed);
            m.lockedg.store(None, Ordering::Relaxed);
            0
        }
        n => {
            g.locked.store(n - 1, Ordering::Relaxed);
            0
        }
    }
}

pub fn blocking_begin() {
    let Some(g) = current_g() else { return };
    if g.blocking.load(Ordering::Relaxed) > 0 {
        g.blocking.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let rt = enter().expect("on a goroutine");
    g.blocking.store(1, Ordering::Relaxed);
    // A dump shows the goroutine as it entered the call (its frames below
    // stay put while the C call runs deeper).
    m::current().unwrap().held.set(arch::here(), false);
    trace::blocking(g, true);
    drop(rt); // leave() gives the P away
}

pub fn blocking_end() {
    let Some(g) = current_g() else { return };
    match g.blocking.load(Ordering::Relaxed) {
        0 => {}
        1 => {
            let rt = enter().expect("on a goroutine"); // BLOCKING: takes a P back first
            g.blocking.store(0, Ordering::Relaxed);
            trace::blocking(g, false);
            drop(rt);
        }
        n => g.blocking.store(n - 1, Ordering::Relaxed),
    }
}

pub fn nopreempt_begin() {
    if let Some(g) = current_g() {
        g.nopreempt.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn nopreempt_end() {
    if let Some(g) = current_g() {
        let _ = g.nopreempt.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Live goroutines: spawned minus exited, summed over Ps. Exits are read
/// before spawns, so a goroutine's exit is never counted without its spawn.
pub fn num_goroutines() -> u64 {
    let exited: u64 = SCHED.nexited_nop.load(Ordering::Acquire)
        + (0..SCHED.nallp.load(Ordering::Acquire)).map(|id| allp(id).nexited.load(Ordering::Acquire)).sum::<u64>();
    total_spawned().saturating_sub(exited)
}

/// Goroutines spawned since the runtime started.
pub fn total_spawned() -> u64 {
    SCHED.nspawned_nop.load(Ordering::Acquire)
        + (0..SCHED.nallp.load(Ordering::Acquire)).map(|id| allp(id).nspawned.load(Ordering::Acquire)).sum::<u64>()
}
