//! M: an OS thread the runtime owns. An M runs goroutines while it holds a
//! P; without one it parks on its note until another thread hands it a P
//! (`nextp`) and wakes it.
//!
//! Each M has a scheduler context ("g0": the thread's own stack, where
//! `m_loop` runs), a signal stack, and, with asynchronous preemption on, a
//! CPU-time timer that sends it SIGURG every time slice of CPU it burns.
//! Every runtime thread (Ms, sysmon, the chores thread) is created here
//! (`spawn_thread`).
//!
//! `ustate` tells what the M is doing, and is how other threads take a P
//! away from an M that is stuck outside the runtime:
//!
//! - `RUNTIME`: in the scheduler or a runtime call. Its P (if any) is its own
//!   and nobody else may touch it; the preemption handler refuses to stop it.
//! - `USER | P id`: running goroutine code while holding that P. Sysmon (or a
//!   stop-the-world) may take the P with one CAS to `LOST` when the thread is
//!   blocked in the kernel; the M notices at its next runtime call.
//! - `LOST`: running goroutine code, but its P was taken.
//! - `BLOCKING`: inside `gort_blocking_begin/end`; the P was given away.
//!
//! Encoding the P's id in the USER value makes a taker's CAS against a stale
//! view fail instead of taking a P the M no longer holds.
//!
//! Entering the runtime must never race with a taker: both would believe
//! they own the P. An atomic swap would settle it, but every runtime call
//! pays for it. Instead the M uses a plain store (`claim_runtime`) and the
//! rare taker pays (`take_p`): it announces itself in `take`, then issues
//! `membarrier(PRIVATE_EXPEDITED)`, which runs a full barrier on every thread
//! of the process, then CASes `ustate`. Either the M's RUNTIME store is
//! visible to that CAS (which fails), or the M's check of `take`, after its
//! store, sees the announcement and waits for the verdict: Dekker's
//! algorithm with the expensive fence on one side only. Without membarrier
//! (old kernels, seccomp) the M swaps instead.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicUsize, Ordering};

use super::g::G;
use super::p::P;
use crate::cell::{AtomicRef, OwnedCell};
use crate::futex::Note;

pub const U_RUNTIME: u32 = 0;
pub const U_USER: u32 = 1;
pub const U_LOST: u32 = 2;
pub const U_BLOCKING: u32 = 3;

pub fn user_state(p: &P) -> u32 {
    ((p.id + 1) << 2) | U_USER
}

pub fn ustate_kind(v: u32) -> u32 {
    v & 3
}

/// `M::take` values.
const TAKE_NONE: u32 = 0;
const TAKE_DECIDING: u32 = 1;
const TAKE_TAKEN: u32 = 2;

/// Whether `membarrier(PRIVATE_EXPEDITED)` is available (see the module
/// comment); decided once at start.
static ASYMMETRIC: AtomicBool = AtomicBool::new(false);

const MEMBARRIER_CMD_QUERY: i32 = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 1 << 4;

/// Registers for expedited private membarriers; falls back to swaps if the
/// kernel cannot.
pub fn init_membarrier() {
    // SAFETY: plain membarrier queries and registration.
    let ok = unsafe {
        let cmds = libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
        cmds > 0
            && cmds as i32 & MEMBARRIER_CMD_PRIVATE_EXPEDITED != 0
            && libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0
    };
    ASYMMETRIC.store(ok, Ordering::Relaxed);
}

/// A function and its argument, run once a parked goroutine's context is
/// saved (see `Tail::Park`).
pub type Unlock = (unsafe fn(*mut ()), *mut ());

/// Work a goroutine leaves for whoever runs next on its M, done once the
/// goroutine's context is saved (so nobody can resume it half-switched).
/// Stored in the M as plain words (see `M::set_tail`): a wide copy of the
/// enum between differently sized stores stalls store forwarding on the
/// hottest path there is.
#[derive(Clone, Copy)]
pub enum Tail {
    None,
    /// Put the goroutine back on this P's run queue (yield).
    Requeue(&'static G),
    /// Put it on the global queue (cooperative preemption).
    RequeueGlobal(&'static G),
    /// It parked: run the unlock function that makes it wakeable.
    Park(Option<Unlock>),
    /// It exited: return it to the free pool.
    Exit(&'static G),
}

pub struct M {
    pub id: u32,
    /// Saved stack pointer of the scheduler context. Owner: this thread.
    pub g0_sp: OwnedCell<usize>,
    /// The goroutine running on this M (None on g0). Written by this thread.
    pub curg: AtomicRef<G>,
    /// The P this M holds (meaningful only while `ustate` is not LOST).
    pub p: AtomicRef<P>,
    /// A P handed to this M while it was parked.
    pub nextp: AtomicRef<P>,
    pub park: Note,
    pub ustate: AtomicU32,
    /// A taker's announcement and verdict (see the module comment).
    take: AtomicU32,
    /// Looking for work to steal; set by whoever wakes the M to spin.
    pub spinning: AtomicBool,
    /// The goroutine locked to this thread, if any.
    pub lockedg: AtomicRef<G>,
    /// The pending `Tail`, as (kind, a, b). Owner: this thread.
    tail_kind: OwnedCell<u8>,
    tail_a: OwnedCell<usize>,
    tail_b: OwnedCell<usize>,
    /// `fastrand` state. Owner: this thread.
    pub rand: OwnedCell<u32>,
    /// This thread's `errno` (its address never changes).
    pub errno_loc: OwnedCell<*mut i32>,
    /// A runnable G found by a goroutine's fast switch that must run
    /// elsewhere; g0 deals with it. Owner: this thread.
    pub pending: OwnedCell<Option<&'static G>>,
    /// Idle list link. Owner: the scheduler lock.
    pub schedlink: AtomicRef<M>,
    /// All-Ms list link (push-only).
    pub alllink: AtomicRef<M>,
    pub tid: AtomicI32,
    /// CPU-time clock of the thread, for sysmon's blocked-thread check.
    pub cpu_clock: AtomicI32,
    /// Open `/proc/self/task/TID/stat`, to tell running from blocked.
    pub stat_fd: AtomicI32,
    /// An on-demand preemption request (stop the world, wake-up preemption).
    pub preempt_req: AtomicU32,
    /// When the world's stopper last asked this M to stop. Owner: the
    /// stopper (one at a time).
    pub stw_asked_at: AtomicI64,
    /// Preemption bookkeeping. Owner: this thread and its signal handler.
    pub sig: OwnedCell<crate::preempt::MSignalState>,
    /// Set by a thread that pinned this (parked) M to its own CPU for a
    /// hand-off; the M restores `saved_affinity` when it wakes. Owner of
    /// `saved_affinity`: whoever set `steered`, until the M clears it.
    pub steered: AtomicBool,
    pub saved_affinity: OwnedCell<libc::cpu_set_t>,
    /// Registers of this M's goroutine while the M holds it out of the
    /// scheduler's hands: stopped in the preemption handler, waiting for a
    /// P on its way back from a blocking call, or inside a blocking call.
    /// For goroutine dumps.
    pub held: HeldRegs,
}

/// Where a goroutine held by its M stopped: written by the M before the
/// goroutine can be seen stopped (the scheduler lock, or `ustate`, publish
/// it), read by a goroutine dump while the world is stopped. Relaxed
/// atomics: a dump that raced with a goroutine resuming walks a stale but
/// bounded stack, nothing worse.
pub struct HeldRegs {
    pc: AtomicUsize,
    sp: AtomicUsize,
    bp: AtomicUsize,
    /// `pc` is an interrupted instruction (a signal context), not a return
    /// address.
    exact: AtomicBool,
}

impl HeldRegs {
    const fn new() -> HeldRegs {
        HeldRegs {
            pc: AtomicUsize::new(0),
            sp: AtomicUsize::new(0),
            bp: AtomicUsize::new(0),
            exact: AtomicBool::new(false),
        }
    }

    pub fn set(&self, regs: crate::arch::Regs, exact: bool) {
        self.pc.store(regs.pc, Ordering::Relaxed);
        self.sp.store(regs.sp, Ordering::Relaxed);
        self.bp.store(regs.bp, Ordering::Relaxed);
        self.exact.store(exact, Ordering::Relaxed);
    }

    /// The registers and whether `pc` is exact.
    pub fn get(&self) -> (crate::arch::Regs, bool) {
        let regs = crate::arch::Regs {
            pc: self.pc.load(Ordering::Relaxed),
            sp: self.sp.load(Ordering::Relaxed),
            bp: self.bp.load(Ordering::Relaxed),
        };
        (regs, self.exact.load(Ordering::Relaxed))
    }
}

// SAFETY: shared fields are atomics; OwnedCell fields document their owner.
unsafe impl Sync for M {}

impl M {
    pub fn new(id: u32) -> M {
        M {
            id,
            g0_sp: OwnedCell::new(0),
            curg: AtomicRef::none(),
            p: AtomicRef::none(),
            nextp: AtomicRef::none(),
            park: Note::new(),
            ustate: AtomicU32::new(U_RUNTIME),
            take: AtomicU32::new(TAKE_NONE),
            spinning: AtomicBool::new(false),
            lockedg: AtomicRef::none(),
            tail_kind: OwnedCell::new(0),
            tail_a: OwnedCell::new(0),
            tail_b: OwnedCell::new(0),
            rand: OwnedCell::new(0),
            errno_loc: OwnedCell::new(ptr::null_mut()),
            pending: OwnedCell::new(None),
            schedlink: AtomicRef::none(),
            alllink: AtomicRef::none(),
            tid: AtomicI32::new(0),
            cpu_clock: AtomicI32::new(0),
            stat_fd: AtomicI32::new(-1),
            preempt_req: AtomicU32::new(0),
            stw_asked_at: AtomicI64::new(0),
            sig: OwnedCell::new(crate::preempt::MSignalState::new()),
            steered: AtomicBool::new(false),
            // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
            saved_affinity: OwnedCell::new(unsafe { core::mem::zeroed() }),
            held: HeldRegs::new(),
        }
    }

    #[inline(always)]
    pub fn p(&self) -> Option<&'static P> {
        self.p.load(Ordering::Relaxed)
    }

    /// Set-up of a new M on its own thread, but for signals (see
    /// `preempt::thread_init`): what sysmon needs to watch it, and the
    /// address of its `errno`.
    pub fn init_thread(&self) {
        // SAFETY: plain system calls on the calling thread, which owns `errno_loc`.
        unsafe {
            self.errno_loc.set(libc::__errno_location());
            let tid = libc::gettid();
            self.tid.store(tid, Ordering::Relaxed);
            let mut clock: libc::clockid_t = 0;
            if libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) == 0 {
                self.cpu_clock.store(clock, Ordering::Relaxed);
            }
            // Formatted into a stack buffer: no malloc on a thread about to hold
            // a P (see mapvec.rs).
            let mut path = [0u8; 64];
            let mut w = crate::fmtbuf::FmtBuf::new(&mut path);
            let _ = core::fmt::Write::write_fmt(&mut w, format_args!("/proc/self/task/{tid}/stat"));
            let fd = libc::open(w.as_cstr(), libc::O_RDONLY | libc::O_CLOEXEC);
            self.stat_fd.store(fd, Ordering::Relaxed);
        }
    }

    /// Whether the thread is on a CPU right now, from
    /// `/proc/self/task/TID/stat` (state R). A few microseconds; sysmon only.
    pub fn thread_running(&self) -> bool {
        let fd = self.stat_fd.load(Ordering::Relaxed);
        if fd < 0 {
            return false;
        }
        let mut buf = [0u8; 512];
        // SAFETY: reading into a local buffer.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n <= 0 {
            return false;
        }
        let buf = &buf[..n as usize];
        // "tid (comm) S ...": comm may contain ')', so use the last one.
        match buf.iter().rposition(|&b| b == b')') {
            Some(i) => buf.get(i + 2) == Some(&b'R'),
            None => false,
        }
    }
}

impl M {
    /// Called on the M's own thread (or its signal handler) to enter the
    /// runtime: sets `ustate` to RUNTIME and returns what it was, with a
    /// USER whose P a taker just took reported as LOST.
    #[inline(always)]
    pub fn claim_runtime(&self) -> u32 {
        if !ASYMMETRIC.load(Ordering::Relaxed) {
            return self.ustate.swap(U_RUNTIME, Ordering::AcqRel);
        }
        let prev = self.ustate.load(Ordering::Relaxed);
        if prev == U_RUNTIME {
            return prev;
        }
        self.ustate.store(U_RUNTIME, Ordering::Relaxed);
        // Keeps the compiler from hoisting the check above the store; the
        // hardware side is the taker's membarrier.
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
        if self.take.load(Ordering::Relaxed) != TAKE_NONE {
            return self.claim_slow(prev);
        }
        prev
    }

    #[cold]
    fn claim_slow(&self, prev: u32) -> u32 {
        loop {
            match self.take.load(Ordering::Acquire) {
                TAKE_DECIDING => core::hint::spin_loop(),
                TAKE_TAKEN => {
                    self.take.store(TAKE_NONE, Ordering::Relaxed);
                    return U_LOST;
                }
                _ => return prev,
            }
        }
    }

    /// Called by another thread (sysmon, a stop-the-world) that saw this M
    /// running user code while holding `p`: takes `p` from it. Returns true
    /// if `p` is now the caller's; the M finds out at its next runtime call.
    pub fn take_p(&self, p: &P) -> bool {
        let user = user_state(p);
        if !ASYMMETRIC.load(Ordering::Relaxed) {
            return self.ustate.compare_exchange(user, U_LOST, Ordering::AcqRel, Ordering::Relaxed).is_ok();
        }
        if self.ustate.load(Ordering::Relaxed) != user
            || self.take.compare_exchange(TAKE_NONE, TAKE_DECIDING, Ordering::AcqRel, Ordering::Relaxed).is_err()
        {
            return false;
        }
        // SAFETY: registered at start; runs a barrier on every thread of ours.
        unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) };
        let taken = self.ustate.compare_exchange(user, U_LOST, Ordering::AcqRel, Ordering::Relaxed).is_ok();
        self.take.store(if taken { TAKE_TAKEN } else { TAKE_NONE }, Ordering::Release);
        taken
    }

    /// Back to user code (or a blocking call): the M's own thread only.
    #[inline(always)]
    pub fn set_ustate(&self, v: u32) {
        // Release: whoever takes our P later sees our runtime writes.
        self.ustate.store(v, Ordering::Release);
    }

    /// Leaves `tail` for whoever runs next on this M.
    ///
    /// # Safety
    /// Called on this M's own thread (which owns the tail).
    #[inline(always)]
    pub unsafe fn set_tail(&self, tail: Tail) {
        let (kind, a, b) = match tail {
            Tail::None => (0, 0, 0),
            Tail::Requeue(g) => (1, ptr::from_ref(g) as usize, 0),
            Tail::RequeueGlobal(g) => (2, ptr::from_ref(g) as usize, 0),
            Tail::Park(None) => (3, 0, 0),
            Tail::Park(Some((f, arg))) => (4, f as usize, arg as usize),
            Tail::Exit(g) => (5, ptr::from_ref(g) as usize, 0),
        };
        // SAFETY: this thread owns the tail (caller).
        unsafe {
            self.tail_kind.set(kind);
            self.tail_a.set(a);
            self.tail_b.set(b);
        }
    }

    /// The pending tail, cleared.
    ///
    /// # Safety
    /// As for `set_tail`.
    #[inline(always)]
    pub unsafe fn take_tail(&self) -> Tail {
        // SAFETY: this thread owns the tail (caller).
        unsafe {
            let tail = self.tail();
            self.tail_kind.set(0);
            tail
        }
    }

    /// The pending tail (trace reads it to tell why a goroutine stopped).
    ///
    /// # Safety
    /// As for `set_tail`.
    #[inline(always)]
    pub unsafe fn tail(&self) -> Tail {
        // SAFETY: this thread owns the tail (caller).
        let (kind, a, b) = unsafe { (self.tail_kind.get(), self.tail_a.get(), self.tail_b.get()) };
        // SAFETY: for the kinds that carry a G, `a` was stored from a
        // `&'static G` by set_tail.
        let g = || unsafe { &*(a as *const G) };
        match kind {
            0 => Tail::None,
            1 => Tail::Requeue(g()),
            2 => Tail::RequeueGlobal(g()),
            3 => Tail::Park(None),
            // SAFETY: stored from a function pointer of this type by set_tail.
            4 => Tail::Park(Some((unsafe { core::mem::transmute::<usize, unsafe fn(*mut ())>(a) }, b as *mut ()))),
            _ => Tail::Exit(g()),
        }
    }

    /// Makes this parked M, about to be handed a P by the calling thread
    /// (which is about to block), run on the caller's CPU: that CPU is about
    /// to go idle, while the kernel would often wake the M on a busy one and
    /// leave it waiting for a tick (docs/design.md, "CPU steering"). The M puts its
    /// own affinity back when it wakes (`unsteer`). Async-signal-safe: raw
    /// system calls only.
    pub fn steer_here(&self) {
        let size = core::mem::size_of::<libc::cpu_set_t>();
        let tid = self.tid.load(Ordering::Relaxed);
        // SAFETY: getcpu and the affinity calls write only our buffers; the
        // M is parked, so its saved_affinity is ours until `steered` is read.
        unsafe {
            let mut cpu: u32 = 0;
            if libc::syscall(libc::SYS_getcpu, &mut cpu, core::ptr::null_mut::<u32>(), 0usize) != 0 {
                return;
            }
            if libc::syscall(libc::SYS_sched_getaffinity, tid, size, self.saved_affinity.as_ptr()) <= 0 {
                return;
            }
            if !libc::CPU_ISSET(cpu as usize, &*self.saved_affinity.as_ptr()) {
                return; // its own mask excludes this CPU: respect it
            }
            let mut here: libc::cpu_set_t = core::mem::zeroed();
            libc::CPU_SET(cpu as usize, &mut here);
            if libc::syscall(libc::SYS_sched_setaffinity, tid, size, &here) == 0 {
                self.steered.store(true, Ordering::Release);
            }
        }
    }

    /// Called by the M itself after waking: undoes `steer_here`.
    pub fn unsteer(&self) {
        if self.steered.swap(false, Ordering::Acquire) {
            // SAFETY: restores the mask saved by the steering thread.
            unsafe {
                libc::syscall(
                    libc::SYS_sched_setaffinity,
                    0,
                    core::mem::size_of::<libc::cpu_set_t>(),
                    self.saved_affinity.as_ptr(),
                );
            }
        }
    }
}

/// Creates a detached runtime thread (an M, sysmon, the chores thread)
/// running `f(arg)`, with every signal blocked until the thread sets up its
/// own mask.
pub fn spawn_thread(f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void, arg: *mut libc::c_void) -> bool {
    crate::signal::with_all_blocked(|| {
        // SAFETY: attr is initialised before use and destroyed after.
        unsafe {
            let mut attr: libc::pthread_attr_t = core::mem::zeroed();
            libc::pthread_attr_init(&mut attr);
            libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
            libc::pthread_attr_setstacksize(&mut attr, 1 << 20);
            let mut t: libc::pthread_t = 0;
            let ok = libc::pthread_create(&mut t, &attr, f, arg) == 0;
            libc::pthread_attr_destroy(&mut attr);
            ok
        }
    })
}

/// Makes `m` the M of the calling thread (a new M's first step).
pub fn set_current(m: &'static M) {
    crate::arch::tls_set(ptr::from_ref(m) as usize);
}

/// Returns the M running on this thread, if it is one of ours.
#[inline]
pub fn current() -> Option<&'static M> {
    // SAFETY: the slot holds 0 or an M stored by `set_current`: leaked, never freed.
    unsafe { (crate::arch::tls_get() as *const M).as_ref() }
}
