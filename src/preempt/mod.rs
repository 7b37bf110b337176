//! Asynchronous preemption by hand-off: how gort stops a goroutine that
//! never calls into the runtime, without disturbing libc or the program.
//!
//! Go injects a call into the preempted goroutine and may resume it on any
//! thread. That is unsafe for C: compilers cache the address of `errno` and
//! of `__thread` variables across instructions, the goroutine may hold a
//! libc lock owned by its thread, and live data sits in the red zone and in
//! every vector register. So gort never moves a preempted goroutine:
//!
//! 1. Each worker M has a CPU-time timer (`CLOCK_THREAD_CPUTIME_ID`,
//!    `SIGEV_THREAD_ID`) that sends it SIGURG every slice of CPU it burns.
//!    The kernel raises such signals only on the way back to user mode, so
//!    they never interrupt a blocking system call: no EINTR by construction.
//!    On-demand requests (stop the world, wake-up preemption) set a flag and
//!    signal the thread only if /proc says it is running.
//! 2. The handler (`sigurg.rs`) checks the rules below. When it accepts, it
//!    queues the goroutine *bound to this thread*, hands the thread's P to
//!    another M, and waits on a futex inside the handler. The goroutine's
//!    registers, vector state, red zone, errno and TLS stay exactly where the
//!    kernel saved them. When a scheduler later picks the goroutine, it hands
//!    a P to this thread; the handler returns and sigreturn restores
//!    everything. No assembly trampoline, no register shuffling.
//!
//! Rules (all checked without locks or allocation):
//! - not our signal (not our timer, no request for this thread): forward it
//!   to the handler installed before ours, with that handler's flags;
//! - the goroutine has not used up its slice and nothing asked: return;
//! - the thread is in the runtime (`ustate` RUNTIME: it may hold a runtime
//!   lock), in `gort_blocking_*` or `gort_nopreempt_*`, or its stack pointer
//!   is not on the goroutine's stack: refuse;
//! - the PC is in libc, ld.so, the vDSO, libgcc/libstdc++, libpython or gort
//!   (`textmap`): refuse and retry one tick later; after `FORCE_AFTER`
//!   refusals in a row preempt anyway. A long `qsort` must not hog a P, and
//!   the hand-off keeps even that safe: another thread that wants the same
//!   libc lock blocks in the kernel, and sysmon takes its P away.
//!
//! Costs: a preemption is two futex hand-offs, and every preempted goroutine
//! holds its thread until it runs again. Threads are capped
//! (`GORTDEBUG=maxthreads`); at the cap, or with no spare M to take the P,
//! preemption is refused and counted.

mod sigurg;
mod textmap;

use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched::m::{M, U_BLOCKING, U_LOST, U_RUNTIME, U_USER, user_state, ustate_kind};
use crate::sched::{SCHED, Stats, cfg, others_waiting, stop_preempted};
use crate::{arch, clock};

/// PC-in-system-library refusals in a row before preempting anyway.
const FORCE_AFTER: u32 = 3;
/// After a refusal, the CPU timer fires again this soon (rounded up to the
/// kernel tick) instead of a whole slice later.
const RETRY_NS: i64 = 1_000_000;
/// Signal stack per M. AT_MINSIGSTKSZ is 3376 bytes with AVX-512 state.
const ALTSTACK_SIZE: usize = 64 << 10;

static ASYNC: AtomicBool = AtomicBool::new(false);

/// Per-M preemption state. Owner: the M's thread and its signal handler.
pub struct MSignalState {
    timer: Option<libc::timer_t>,
    /// The P's schedtick at the previous timer signal.
    last_tick: u32,
    /// PC-in-system-library refusals in a row.
    refusals: u32,
}

// SAFETY: timer_t is an opaque kernel id, not a pointer we dereference.
unsafe impl Send for MSignalState {}

impl MSignalState {
    pub const fn new() -> MSignalState {
        MSignalState { timer: None, last_tick: 0, refusals: 0 }
    }
}

/// Whether preemption signals are in use.
pub fn async_enabled() -> bool {
    ASYNC.load(Ordering::Relaxed)
}

/// Called once at start, before any M exists.
pub fn init() {
    if cfg().async_preempt_off {
        return;
    }
    // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches all objects.
    let tsan = !unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__tsan_init".as_ptr()) }.is_null();
    if tsan || arch::on_valgrind() {
        let tool = if tsan { "ThreadSanitizer" } else { "Valgrind" };
        eprintln!(
            "gort: running under {tool}, which cannot follow signal-time switches: asynchronous preemption is off"
        );
        return;
    }
    textmap::refresh();
    sigurg::install_handler();
    ASYNC.store(true, Ordering::Relaxed);
}

/// Re-reads the loaded objects' code ranges if objects were loaded/unloaded.
pub fn refresh_textmap() {
    if async_enabled() {
        textmap::refresh();
    }
}

/// The signal part of a new M's set-up, on its own thread: the signal
/// stack, the CPU-time timer, and the signal mask.
pub fn thread_init(m: &'static M) {
    crate::signal::install_altstack(ALTSTACK_SIZE);
    if async_enabled() {
        // SAFETY: the M's own thread owns its signal state.
        let st = unsafe { m.sig.get_mut() };
        st.timer = sigurg::create_cpu_timer(m);
        arm_timer(st, cfg().preempt_ns, cfg().preempt_ns);
    }
    crate::signal::set_worker_mask();
}

fn arm_timer(st: &MSignalState, first_ns: i64, interval_ns: i64) {
    if let Some(t) = st.timer {
        let spec =
            libc::itimerspec { it_interval: clock::timespec_at(interval_ns), it_value: clock::timespec_at(first_ns) };
        // SAFETY: a timer we created; timer_settime is async-signal-safe.
        unsafe { libc::timer_settime(t, 0, &spec, core::ptr::null_mut()) };
    }
}

/// Asks the goroutine running on `m` to stop soon (sysmon, stop-the-world):
/// the cooperative flag always, plus a signal if `m`'s thread is on a CPU.
/// Threads blocked in the kernel are never signalled (no EINTR); the result
/// says which it is: false for a thread blocked in the kernel, whose P the
/// caller may take without a signal.
pub fn request(m: &M) -> bool {
    if let Some(g) = m.curg.load(Ordering::Relaxed) {
        g.preempt.store(true, Ordering::Relaxed);
    }
    if !async_enabled() {
        return m.thread_running();
    }
    // One signal per request: until the handler consumes it (any of our
    // SIGURGs does), another would only sit pending, where SIGURG, a
    // standard signal, swallows the program's own SIGURGs. A request in
    // flight also spares a second look at the thread's state (a procfs
    // read: several microseconds).
    if m.preempt_req.swap(1, Ordering::AcqRel) != 0 {
        return true;
    }
    if m.thread_running() {
        sigurg::send_request(m);
        true
    } else {
        m.preempt_req.store(0, Ordering::Relaxed); // not sent: nothing outstanding
        false
    }
}

/// Our SIGURG arrived on `m`'s thread (`tick`: from its CPU timer, else an
/// on-demand request). Runs in the signal handler: no locks except the
/// scheduler's (see `futex::lock`), no allocation.
fn on_signal(m: &'static M, tick: bool, uc: *mut libc::c_void) {
    // SAFETY: the handler runs on m's own thread.
    let st = unsafe { m.sig.get_mut() };
    let requested = m.preempt_req.swap(0, Ordering::Acquire) != 0 || SCHED.stw_active.load(Ordering::Relaxed);
    if SCHED.stw_active.load(Ordering::Relaxed) && m.curg.load(Ordering::Relaxed).is_some_and(crate::world::is_stopper)
    {
        return; // the goroutine that stopped the world runs on alone
    }
    let ustate = m.ustate.load(Ordering::Acquire);
    let kind = ustate_kind(ustate);
    let p = if kind == U_USER { m.p() } else { None };
    let slice_used = tick
        && match p {
            Some(p) => {
                let t = p.schedtick.load(Ordering::Relaxed);
                let same = t == st.last_tick;
                st.last_tick = t;
                same
            }
            None => kind == U_LOST,
        };
    if !requested && !slice_used {
        return;
    }
    Stats::bump(&SCHED.stats.preempt_signals);
    let Some(gr) = m.curg.load(Ordering::Relaxed) else { return refuse(st, false) };
    if kind == U_BLOCKING {
        return refuse(st, false);
    }
    if kind == U_RUNTIME {
        // It will leave the runtime soon: have it yield there.
        gr.preempt.store(true, Ordering::Relaxed);
        return refuse(st, true);
    }
    if gr.nopreempt.load(Ordering::Relaxed) > 0 || gr.blocking.load(Ordering::Relaxed) > 0 {
        return refuse(st, false);
    }
    // SAFETY: uc is the handler's ucontext.
    let regs = unsafe { arch::ucontext_regs(uc) };
    let arch::Regs { pc, sp, .. } = regs;
    if sp < gr.stack_lo || sp >= gr.stack_top() {
        return refuse(st, false);
    }
    match textmap::classify(pc) {
        textmap::Code::User => st.refusals = 0,
        textmap::Code::System => {
            st.refusals += 1;
            if st.refusals < FORCE_AFTER {
                return refuse(st, true);
            }
        }
        textmap::Code::Runtime => return refuse(st, true),
    }
    if !requested && p.is_some_and(|p| !others_waiting(p)) {
        return; // nobody else wants this P
    }
    // Claim the M's state: sysmon may be taking the P at this very moment.
    let claimed = m.claim_runtime();
    if claimed != ustate {
        // The P was just taken: run on without it; a later tick stops us.
        m.set_ustate(claimed);
        return refuse(st, true);
    }
    // Where the goroutine stopped, for a dump taken while we wait.
    m.held.set(regs, true);
    if !stop_preempted(m, gr, p) {
        m.set_ustate(ustate);
        return refuse(st, true);
    }
    // Resumed because the world started. If another stop began meanwhile
    // (a stopper that stops again at once), stop again right here: going
    // back to user code would cost that stopper a signal and a wait.
    while SCHED.stw_active.load(Ordering::Relaxed) && !crate::world::is_stopper(gr) {
        stop_preempted(m, gr, m.p());
    }
    st.refusals = 0;
    Stats::bump(&SCHED.stats.preempt_async);
    let p = m.p().expect("resumed without a P");
    st.last_tick = p.schedtick.load(Ordering::Relaxed);
    if tick {
        arm_timer(st, cfg().preempt_ns, cfg().preempt_ns);
    }
    m.set_ustate(user_state(p));
}

/// Not now. With `retry`, the CPU timer fires again soon rather than a whole
/// slice later; the cooperative flag catches the next runtime call anyway.
fn refuse(st: &MSignalState, retry: bool) {
    Stats::bump(&SCHED.stats.preempt_unsafe);
    if retry {
        arm_timer(st, RETRY_NS, cfg().preempt_ns);
    }
}
