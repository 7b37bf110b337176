//! x86-64 System V: context switch, first frame of a goroutine, the runtime's
//! thread-local slot, `ucontext_t` access and Valgrind client requests.
//!
//! A saved context is one word: the stack pointer. Everything else is pushed
//! on the stack it points to, by `switch` itself:
//!
//! ```text
//!   sp+56  return address  (where the resumed context continues)
//!   sp+48  rbp
//!   sp+40  rbx
//!   sp+32  r12
//!   sp+24  r13
//!   sp+16  r14
//!   sp+8   r15
//!   sp+4   x87 control word (16 bits; precision and rounding)
//!   sp+0   MXCSR            (32 bits; SSE rounding, exception masks, DAZ/FTZ)
//! ```
//!
//! Only callee-saved state is saved: to the compiler `switch` is an ordinary
//! call, so every caller-saved register is already dead across it. The two
//! floating-point control words are callee-saved in the SysV ABI, so a
//! goroutine that changes its rounding mode keeps it wherever it runs next.
//! `errno` is handled one level up (sched), not here.
//!
//! The thread-local slot is a single 8-byte initial-exec TLS variable defined
//! in assembly: reading it is two instructions, it is allocated with the
//! thread (so a signal handler may read it without risking a lazy
//! `__tls_get_addr` allocation), and an `asm!` read can never be cached by the
//! compiler across a stack switch, which moves a goroutine between threads.

use core::arch::{asm, global_asm, naked_asm};

global_asm!(
    ".section .tbss,\"awT\",@nobits",
    ".p2align 3",
    ".globl gort_tls_current_m",
    ".hidden gort_tls_current_m",
    ".type gort_tls_current_m, @object",
    ".size gort_tls_current_m, 8",
    "gort_tls_current_m:",
    ".zero 8",
    ".text",
);

/// Reads this thread's runtime slot (the current M, or 0 on a plain thread).
/// Async-signal-safe.
#[inline(always)]
pub fn tls_get() -> usize {
    let v: usize;
    // SAFETY: reads the 8-byte static-TLS slot defined above; every thread
    // has it from creation, zero-initialised.
    unsafe {
        asm!(
            "mov {tmp}, qword ptr [rip + gort_tls_current_m@GOTTPOFF]",
            "mov {v}, qword ptr fs:[{tmp}]",
            tmp = out(reg) _,
            v = lateout(reg) v,
            options(nostack, readonly, preserves_flags),
        );
    }
    v
}

/// Writes this thread's runtime slot.
#[inline(always)]
pub fn tls_set(v: usize) {
    // SAFETY: writes the thread's own static-TLS slot defined above.
    unsafe {
        asm!(
            "mov {tmp}, qword ptr [rip + gort_tls_current_m@GOTTPOFF]",
            "mov qword ptr fs:[{tmp}], {v}",
            tmp = out(reg) _,
            v = in(reg) v,
            options(nostack, preserves_flags),
        );
    }
}

/// Saves the current context on the current stack, stores its stack pointer
/// in `*save`, and resumes the context whose stack pointer is `load`.
/// Returns when some other context switches back to the one saved here.
///
/// # Safety
/// `load` must be a stack pointer saved by `switch` or built by
/// [`init_stack`], and nothing else may be running on that stack.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(save: *mut usize, load: usize) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "stmxcsr [rsp]",
        "fnstcw [rsp + 4]",
        "mov [rdi], rsp",
        // From here on we run on the other context's stack.
        "mov rsp, rsi",
        "ldmxcsr [rsp]",
        "fldcw [rsp + 4]",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

// First instruction of every goroutine: `switch` "returns" here with the
// argument for `start` in r12. The CFI marks the return address undefined so
// debuggers and unwinders stop at the bottom of a goroutine's stack.
global_asm!(
    ".text",
    ".p2align 4",
    // Global but hidden: code in other codegen units computes its address
    // (`trampoline_range`), which a file-local symbol would not allow.
    ".globl gort_goroutine_trampoline",
    ".hidden gort_goroutine_trampoline",
    ".type gort_goroutine_trampoline, @function",
    "gort_goroutine_trampoline:",
    ".cfi_startproc",
    ".cfi_undefined rip",
    "mov rdi, r12",
    "call {start}",
    "ud2",
    ".cfi_endproc",
    ".size gort_goroutine_trampoline, . - gort_goroutine_trampoline",
    start = sym crate::sched::goroutine_main,
);

fn trampoline_address() -> u64 {
    let addr: u64;
    // SAFETY: computes an address; touches no memory.
    unsafe {
        asm!("lea {}, [rip + gort_goroutine_trampoline]", out(reg) addr, options(nomem, nostack, preserves_flags));
    }
    addr
}

/// Default MXCSR (all exceptions masked, round to nearest) and x87 control
/// word (extended precision, round to nearest), packed as `switch` saves them.
const DEFAULT_FP_CONTROL: u64 = 0x1F80 | (0x037F << 32);

/// Lays out the first frame of a goroutine just below `top` and returns the
/// stack pointer to `switch` to. The goroutine starts in
/// `sched::goroutine_main(arg)`.
///
/// # Safety
/// `top` must be the writable top of an otherwise unused stack with at least
/// 128 bytes below it.
pub unsafe fn init_stack(top: usize, arg: usize) -> usize {
    let base = top & !15;
    // After `ret` pops the trampoline address, rsp = sp + 64, which must be
    // 16-byte aligned for the trampoline's `call`. Two zero words above it
    // give unwinders a null frame to stop on.
    let sp = base - 64 - 16;
    let words = sp as *mut u64;
    // SAFETY: the caller guarantees [sp, base) lies in an unused stack.
    unsafe {
        words.add(0).write(DEFAULT_FP_CONTROL);
        for i in 1..=6 {
            words.add(i).write(0); // r15 r14 r13 r12 rbx rbp
        }
        words.add(4).write(arg as u64); // r12
        words.add(7).write(trampoline_address());
        words.add(8).write(0);
        words.add(9).write(0);
    }
    sp
}

/// What an unwinder needs to start walking a stack: the program counter,
/// the stack pointer and the frame pointer (x86-64 CFI never needs more to
/// find return addresses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Regs {
    pub pc: usize,
    pub sp: usize,
    pub bp: usize,
}

/// Where `switch` leaves a saved context, as offsets from the saved stack
/// pointer (see the module comment). Read by goroutine dumps and, through
/// the debugger descriptor, by tools/gort-gdb.py.
pub mod switch_frame {
    pub const R15: usize = 8;
    pub const R14: usize = 16;
    pub const R13: usize = 24;
    pub const R12: usize = 32;
    pub const RBX: usize = 40;
    pub const RBP: usize = 48;
    pub const RET: usize = 56;
    /// Bytes `switch` pushes: the stack pointer once it has returned is
    /// the saved one plus this.
    pub const SIZE: usize = 64;
}

/// The registers of a context that `switch` saved at stack pointer `sp`, as
/// they will be the moment it resumes (just after `switch` returns into its
/// caller). `read` fetches a stack word, or None outside the stack.
pub fn switched_out_regs(sp: usize, read: impl Fn(usize) -> Option<usize>) -> Option<Regs> {
    Some(Regs { pc: read(sp + switch_frame::RET)?, sp: sp + switch_frame::SIZE, bp: read(sp + switch_frame::RBP)? })
}

/// Fills `*out` with the state its caller will have when this call
/// returns: the return address, the stack pointer above it, and rbp.
#[unsafe(naked)]
unsafe extern "C" fn capture_regs(out: *mut Regs) {
    naked_asm!(
        "mov rax, [rsp]",
        "mov [rdi], rax",
        "lea rax, [rsp + 8]",
        "mov [rdi + 8], rax",
        "mov [rdi + 16], rbp",
        "ret"
    )
}

/// The body of a naked `extern "C"` function taking `$nargs` integer
/// arguments (2 or 3): calls `$target` with the same arguments and its own
/// caller's return address after them, and returns what it returns (a
/// tail jump: `$target` returns straight to the caller).
macro_rules! call_with_return_address {
    (2, $target:path) => {
        core::arch::naked_asm!("mov rdx, [rsp]", "jmp {f}", f = sym $target)
    };
    (3, $target:path) => {
        core::arch::naked_asm!("mov rcx, [rsp]", "jmp {f}", f = sym $target)
    };
}
pub(crate) use call_with_return_address;

/// The calling function's registers, as at the instruction after this call:
/// an unwinder started from them walks the caller's stack. The program
/// counter is a return address (look its line up one byte earlier).
#[inline(always)]
pub fn here() -> Regs {
    let mut regs = Regs::default();
    // SAFETY: writes three words into `regs`; touches nothing else.
    unsafe { capture_regs(&mut regs) };
    regs
}

/// The goroutine trampoline's code range: the outermost frame of every
/// goroutine stack, where unwinding stops.
pub fn trampoline_range() -> core::ops::Range<usize> {
    let start = trampoline_address() as usize;
    start..start + 16
}

/// Registers of the context interrupted by a signal.
///
/// # Safety
/// `uc` must be the `ucontext_t` the kernel passed to a SA_SIGINFO handler.
pub unsafe fn ucontext_regs(uc: *const libc::c_void) -> Regs {
    // SAFETY: per the caller, uc points to a valid ucontext_t.
    let gregs = unsafe { &(*(uc as *const libc::ucontext_t)).uc_mcontext.gregs };
    Regs {
        pc: gregs[libc::REG_RIP as usize] as usize,
        sp: gregs[libc::REG_RSP as usize] as usize,
        bp: gregs[libc::REG_RBP as usize] as usize,
    }
}

/// Issues a Valgrind client request; returns `default` when not running
/// under Valgrind (the magic sequence is a no-op on real hardware).
pub fn valgrind_request(default: usize, request: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let args: [usize; 6] = [request, a1, a2, a3, 0, 0];
    let result: usize;
    // SAFETY: the rotate sequence leaves rdi unchanged (3+13+61+51 = 128) and
    // `xchg rbx, rbx` is a no-op; Valgrind recognises the pattern.
    unsafe {
        asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") default => result,
            out("rdi") _,
            options(nostack, preserves_flags),
        );
    }
    result
}
