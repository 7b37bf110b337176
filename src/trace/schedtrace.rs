//! `GORTDEBUG=schedtrace=N[,scheddetail=1]`: what the runtime prints every N
//! ms (sysmon asks, the chores thread prints: it holds no P and nobody waits
//! for it, so taking the scheduler lock and allocating here stall nobody).
//!
//! The summary line is Go's, field for field:
//!
//! ```text
//! SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [4 3]
//! ```
//!
//! `threads` counts Ms (sysmon excluded), `runqueue` the global and wake
//! queues, and each bracket entry one P's local queue (ring plus `next`).
//!
//! With `scheddetail=1` the summary is followed by one line per P, per M and
//! per goroutine the runtime can name without stopping anything, in Go's
//! shape but only with fields gort really has (Go's `syscalltick`,
//! `gfreecnt`, `mallocing`, `throwing`, `locks`... have no counterpart or
//! cannot be read without owning the P, so they are left out):
//!
//! ```text
//!   P0: status=1 schedtick=1234 m=3 runqsize=1
//!   M3: p=0 curg=17 spinning=false lockedg=-1 state=user
//!   G17: status=2(running) m=3 lockedm=-1 name=hog
//! ```
//!
//! - P `status` uses Go's numbers: 0 idle, 1 running, 3 stopped for a
//!   stop-the-world (`_Pgcstop`). `m` is -1 when no M holds the P; a
//!   running P with `m=-1` is being handed from one M to another (released
//!   by a preemption handler, a blocking call or sysmon, not yet picked up).
//! - M `state` is the M's `ustate`: `runtime` (in the scheduler or a
//!   runtime call), `user` (running goroutine code with its P), `lost`
//!   (running goroutine code after its P was taken: blocked in C), or
//!   `blocking` (inside `gort_blocking_begin/end`, P handed off). An M with
//!   no P and no goroutine is parked (idle or spare).
//! - G lines cover the goroutines the scheduler can reach: those the Ms
//!   run or are bound to (`gort_lock_os_thread`, or stopped by a preemption
//!   signal with their registers held by their M), then those in each P's
//!   run queue, then those in the global and wake queues (at most
//!   `MAX_QUEUED` of these, followed by a line saying how many more there
//!   are). `status` is gort's: 1 runnable, 2 running, 3 waiting, 4
//!   preempted (stopped, bound to its M); the parentheses hold the state,
//!   or the wait reason (`status=3(chan receive)`). Goroutines parked on
//!   channels, timers or mutexes are in no queue and are not listed (the
//!   runtime keeps no list of all goroutines).
//!
//! Everything is read with relaxed atomic loads while the scheduler runs, so
//! one block is not an atomic snapshot (Go's isn't either).

use core::fmt::Write as _;
use core::ptr;
use core::sync::atomic::Ordering;

use crate::sched::g::{G, G_IDLE, G_PREEMPTED, G_RUNNABLE, G_RUNNING, G_WAITING, NAME_LEN};
use crate::sched::m::{M, U_BLOCKING, U_LOST, U_RUNTIME, U_USER, ustate_kind};
use crate::sched::p::{P_IDLE, P_RUNNING, P_STOPPED};
use crate::sched::{SCHED, all_ms, allp, nprocs};

/// Most goroutines listed from the global and wake queues per block.
const MAX_QUEUED: usize = 1000;

/// One `schedtrace` block on stderr, written with a single write(2) so it
/// is not interleaved with other output at line granularity.
pub fn schedtrace(uptime_ns: i64, detail: bool) {
    let mut out = String::with_capacity(if detail { 4096 } else { 128 });
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
        uptime_ns / 1_000_000,
        nprocs(),
        SCHED.npidle.load(Ordering::Relaxed),
        SCHED.nthreads.load(Ordering::Relaxed),
        SCHED.nmspinning.load(Ordering::Relaxed),
        SCHED.nmidle.load(Ordering::Relaxed),
        SCHED.runq_len.load(Ordering::Relaxed) + SCHED.wakeq_len.load(Ordering::Relaxed),
    );
    for id in 0..nprocs() {
        let p = allp(id);
        let _ = write!(out, "{}{}", if id > 0 { " " } else { "" }, p.runq.len() + p.runq.has_next() as u32);
    }
    out.push_str("]\n");
    if detail {
        detail_lines(&mut out);
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), out.as_bytes());
}

fn m_id(m: Option<&M>) -> i64 {
    m.map_or(-1, |m| m.id as i64)
}

fn detail_lines(out: &mut String) {
    for id in 0..nprocs() {
        let p = allp(id);
        let status = match p.status.load(Ordering::Relaxed) {
            P_IDLE => 0,
            P_RUNNING => 1,
            P_STOPPED => 3,
            s => 100 + s, // an unknown state: visibly not Go's
        };
        let _ = writeln!(
            out,
            "  P{}: status={} schedtick={} m={} runqsize={}",
            id,
            status,
            p.schedtick.load(Ordering::Relaxed),
            m_id(p.m.load(Ordering::Relaxed)),
            p.runq.len() + p.runq.has_next() as u32,
        );
    }
    let mut known: Vec<&'static G> = Vec::new();
    // Addresses of the Gs in `known`.
    let mut seen = std::collections::HashSet::new();
    let mut note = |g: &'static G| {
        if seen.insert(ptr::from_ref(g)) {
            known.push(g);
        }
    };
    let mut ms: Vec<_> = all_ms().collect();
    ms.sort_by_key(|m| m.id);
    for m in &ms {
        let ustate = m.ustate.load(Ordering::Relaxed);
        let kind = ustate_kind(ustate);
        // m.p is meaningless once the P was taken (LOST).
        let p = if kind == U_LOST { None } else { m.p() };
        let curg = m.curg.load(Ordering::Relaxed);
        let lockedg = m.lockedg.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "  M{}: p={} curg={} spinning={} lockedg={} state={}",
            m.id,
            p.map_or(-1, |p| p.id as i64),
            g_id(curg),
            m.spinning.load(Ordering::Relaxed),
            g_id(lockedg),
            match kind {
                U_RUNTIME => "runtime",
                U_USER => "user",
                U_LOST => "lost",
                U_BLOCKING => "blocking",
                _ => "?",
            },
        );
        curg.into_iter().chain(lockedg).for_each(&mut note);
    }
    // Local run queues: racy walks (the owners keep running).
    for id in 0..nprocs() {
        allp(id).runq.for_each(&mut note);
    }
    // Global and wake queues, under the scheduler lock (a short walk, at
    // most MAX_QUEUED entries listed).
    let mut unlisted = 0u64;
    {
        let mut lk = crate::sched::lock();
        let st = &mut *lk;
        let mut listed = 0;
        for g in st.runq.iter().chain(st.wakeq.iter()) {
            if listed < MAX_QUEUED {
                note(g);
                listed += 1;
            } else {
                unlisted += 1;
            }
        }
    }
    for g in known {
        let status = g.status.load(Ordering::Relaxed);
        let state = match status {
            G_IDLE => "idle",
            G_RUNNABLE => "runnable",
            G_RUNNING => "running",
            G_WAITING => super::wait_str(g.wait_reason.load(Ordering::Relaxed)),
            G_PREEMPTED => "preempted",
            _ => "?",
        };
        let running_on = ms.iter().find(|m| m.curg.is(g, Ordering::Relaxed)).map_or(-1, |m| m.id as i64);
        let locked_to = ms.iter().find(|m| m.lockedg.is(g, Ordering::Relaxed)).map_or(-1, |m| m.id as i64);
        let _ = write!(out, "  G{}: status={}({}) m={} lockedm={}", g.id(), status, state, running_on, locked_to);
        let name = racy_name(g);
        if !name.is_empty() {
            let _ = write!(out, " name={name}");
        }
        out.push('\n');
    }
    if unlisted > 0 {
        let _ = writeln!(out, "  ... {unlisted} more goroutines in the global and wake queues");
    }
}

fn g_id(g: Option<&G>) -> i64 {
    g.map_or(-1, |g| g.id() as i64)
}

/// A goroutine's name read from another thread. The name is written only
/// when a G is (re)spawned; a G seen running here may exit and be reused
/// meanwhile, so this is a diagnostic read that may see a half-written name
/// (Go's scheddetail reads Gs the same way). Bytes cannot tear, and the
/// result is made valid UTF-8.
fn racy_name(g: &G) -> String {
    // SAFETY: G memory is never freed or unmapped; a volatile read of plain
    // bytes. A concurrent respawn can only make the bytes inconsistent.
    let bytes: [u8; NAME_LEN] = unsafe { core::ptr::read_volatile(g.name.as_ptr()) };
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}
