//! `gort_debug_info`: where a debugger finds the goroutines.
//!
//! `tools/gort-gdb.py` lists goroutines and shows their stacks in gdb, on a
//! live process or a core file, from memory alone: no call into the
//! process (a core cannot run code, and a live process may be stopped
//! holding any lock), and no Rust debug information (release builds carry
//! line tables only). Everything it needs to know about the runtime's
//! layout is in this one exported symbol: addresses of the runtime's tables
//! and offsets of the fields it reads, each a 64-bit word, with their names
//! in a string the descriptor points to, so the script matches fields by
//! name and a layout change here needs no change there. (CPython 3.13's
//! `_Py_DebugOffsets` does the same for its debuggers.)
//!
//! What the script does with it: every stack slot (`regions`, `nregions`;
//! `region_*` are a region's field offsets and size) has its G at the top
//! (`slot top - g_size`); a G's fields are at the `g_*` offsets (`g_status`,
//! `g_wait_reason`, `g_locked`, `g_name_len` and the M fields `m_id`,
//! `m_tid`, `m_ustate` are 32-bit, the rest 64-bit; `g_name` is a byte
//! array); `status_*` are the status values and `wait_reasons` an array of
//! `nwait_reasons` C strings indexed by the wait reason. A parked goroutine's
//! registers are on its stack at `g_ctx` plus the `switch_*` offsets; after
//! the switch returns its stack pointer is `g_ctx + switch_size`. Ms are a
//! list from `allm` through `m_alllink`; an M's `m_curg` is the goroutine
//! its thread (`m_tid`) runs.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use crate::arch::switch_frame;
use crate::sched::SCHED;
use crate::sched::g::{self, G, NAME_LEN};
use crate::sched::m::M;
use crate::stack::{NREGIONS, REGIONS, Region};

/// An address in the descriptor (a pointer: statics may not hold addresses
/// as integers).
#[repr(transparent)]
pub struct Addr(*const c_void);

// SAFETY: the descriptor is read-only, and read by debuggers only.
unsafe impl Sync for Addr {}

const fn addr<T>(p: *const T) -> Addr {
    Addr(p as *const c_void)
}

/// The C strings of `g::WAIT_REASON_NAMES`.
static WAIT_REASONS: [Addr; g::WAIT_REASON_NAMES.len()] = {
    let mut out = [const { Addr(core::ptr::null()) }; g::WAIT_REASON_NAMES.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = addr(g::WAIT_REASON_NAMES[i].as_ptr());
        i += 1;
    }
    out
};

/// Declares the descriptor's fields once: the struct, the name string and
/// the exported value come from the same list.
macro_rules! descriptor {
    ($($name:ident: $ty:ty = $value:expr,)*) => {
        #[repr(C)]
        pub struct DebugInfo {
            $(pub $name: $ty,)*
        }

        const FIELD_NAMES: &str = concat!($(stringify!($name), " ",)* "\0");

        /// Read by debuggers (see the module comment).
        #[unsafe(no_mangle)]
        #[used]
        pub static gort_debug_info: DebugInfo = DebugInfo { $($name: $value,)* };
    };
}

descriptor! {
    magic: u64 = u64::from_be_bytes(*b"GORTDBG1"),
    names: Addr = addr(FIELD_NAMES.as_ptr()),
    nfields: usize = size_of::<DebugInfo>() / 8,
    regions: Addr = addr(&REGIONS),
    nregions: Addr = addr(&NREGIONS),
    region_size: usize = size_of::<Region>(),
    region_base: usize = offset_of!(Region, base),
    region_slot_size: usize = offset_of!(Region, slot_size),
    region_nslots: usize = offset_of!(Region, nslots),
    g_size: usize = size_of::<G>().next_multiple_of(64),
    g_ctx: usize = offset_of!(G, ctx),
    g_status: usize = offset_of!(G, status),
    g_id: usize = offset_of!(G, id),
    g_wait_reason: usize = offset_of!(G, wait_reason),
    g_locked: usize = offset_of!(G, locked),
    g_name: usize = offset_of!(G, name),
    g_name_len: usize = NAME_LEN,
    g_stack_lo: usize = offset_of!(G, stack_lo),
    g_entry: usize = offset_of!(G, entry),
    status_idle: usize = g::G_IDLE as usize,
    status_runnable: usize = g::G_RUNNABLE as usize,
    status_running: usize = g::G_RUNNING as usize,
    status_waiting: usize = g::G_WAITING as usize,
    status_preempted: usize = g::G_PREEMPTED as usize,
    wait_reasons: Addr = addr(&WAIT_REASONS),
    nwait_reasons: usize = g::WAIT_REASON_NAMES.len(),
    switch_rbx: usize = switch_frame::RBX,
    switch_rbp: usize = switch_frame::RBP,
    switch_r12: usize = switch_frame::R12,
    switch_r13: usize = switch_frame::R13,
    switch_r14: usize = switch_frame::R14,
    switch_r15: usize = switch_frame::R15,
    switch_ret: usize = switch_frame::RET,
    switch_size: usize = switch_frame::SIZE,
    allm: Addr = addr(&SCHED.allm),
    m_id: usize = offset_of!(M, id),
    m_curg: usize = offset_of!(M, curg),
    m_alllink: usize = offset_of!(M, alllink),
    m_tid: usize = offset_of!(M, tid),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_fields() {
        let names: Vec<&str> = FIELD_NAMES.trim_end_matches('\0').split_whitespace().collect();
        assert_eq!(names.len(), gort_debug_info.nfields);
        assert_eq!(size_of::<DebugInfo>(), 8 * names.len(), "every field is one 64-bit word");
        assert_eq!(names[0], "magic");
    }
}
