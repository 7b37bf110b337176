//! Goroutine stacks: carved out of large anonymous reservations, each with a
//! guard region below it.
//!
//! A region is one `mmap(MAP_NORESERVE | MAP_STACK)` holding up to 256 slots
//! of one size; `MAP_STACK` keeps transparent huge pages off them, and
//! `MAP_NORESERVE` means only touched pages cost memory. Each slot is
//!
//! ```text
//!   low                                                      high
//!   [ guard: GUARD bytes ][ stack ........................ | G ]
//!                                                            ^ slot top
//! ```
//!
//! The goroutine's control block (`G`) lives at the very top of its slot, so
//! a parked goroutine that used little stack costs one resident page.
//!
//! Guards use `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+), which marks the
//! pages without splitting the VMA: a region stays one VMA however many
//! guards it has. Older kernels fall back to `mprotect(PROT_NONE)`, which
//! splits the VMA per guard and lets `vm.max_map_count` cap the number of
//! stacks (about 32k at the default 65530). The guard is 64 KiB rather than
//! one page so a large C frame cannot jump over it into the neighbouring
//! slot's `G`; with guard markers it costs address space only.
//!
//! Regions are never unmapped: slots are pooled by the scheduler (`sched::g`)
//! and their deep pages given back with `MADV_DONTNEED` ([`release_deep`]).
//! Every region is recorded in a lock-free registry so the SIGSEGV handler
//! can tell a guard-page hit ([`guard_hit`]) without taking a lock, and
//! report which goroutine overflowed its stack (`overflow`).

pub mod overflow;

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::futex::Locked;

pub const PAGE: usize = 4096;
pub const GUARD: usize = 64 << 10;
const MADV_GUARD_INSTALL: i32 = 102;
/// Region size the allocator aims for, and the most slots in one region.
const REGION_TARGET: usize = 64 << 20;
const REGION_MAX_SLOTS: usize = 256;
const MAX_REGIONS: usize = 1 << 16;

/// A mapped region of equal slots. Debuggers read the registry too (see
/// `diag::debugger`).
pub(crate) struct Region {
    pub(crate) base: AtomicUsize,
    pub(crate) slot_size: AtomicUsize,
    pub(crate) nslots: AtomicUsize,
}

pub(crate) static REGIONS: [Region; MAX_REGIONS] =
    [const { Region { base: AtomicUsize::new(0), slot_size: AtomicUsize::new(0), nslots: AtomicUsize::new(0) } };
        MAX_REGIONS];
pub(crate) static NREGIONS: AtomicUsize = AtomicUsize::new(0);
/// Serialises registrations (readers need no lock).
static REGISTER_LOCK: Locked<()> = Locked::new(());

const GUARD_UNKNOWN: u8 = 0;
const GUARD_MADVISE: u8 = 1;
const GUARD_MPROTECT: u8 = 2;
static GUARD_KIND: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);

/// Rounds a requested stack size to whole pages, within the supported range.
pub fn round_size(size: usize) -> usize {
    size.clamp(crate::config::MIN_STACK, crate::config::MAX_STACK).next_multiple_of(PAGE)
}

/// Maps a region of slots whose stacks are `size` bytes (a multiple of
/// PAGE, guard not included) and calls `each(top)` with every slot's top
/// address, lowest first. Returns false when memory or the registry is
/// exhausted.
pub fn map_region(size: usize, mut each: impl FnMut(usize)) -> bool {
    debug_assert!(size.is_multiple_of(PAGE));
    let slot_size = size + GUARD;
    let nslots = (REGION_TARGET / slot_size).clamp(1, REGION_MAX_SLOTS);
    let len = slot_size * nslots;
    let Some(base) = map_stack_memory(len) else { return false };
    for i in 0..nslots {
        if !install_guard(base + i * slot_size) {
            // SAFETY: unmapping the region we just mapped and never published.
            unsafe { libc::munmap(base as *mut libc::c_void, len) };
            return false;
        }
    }
    if !register(base, slot_size, nslots) {
        // SAFETY: as above.
        unsafe { libc::munmap(base as *mut libc::c_void, len) };
        return false;
    }
    let on_valgrind = crate::arch::on_valgrind();
    for i in 0..nslots {
        let top = base + (i + 1) * slot_size;
        if on_valgrind {
            // VALGRIND_STACK_REGISTER(lo, hi): lets Valgrind follow our switches.
            crate::arch::valgrind_request(0, 0x1501, top - size, top, 0);
        }
        each(top);
    }
    true
}

/// Maps `len` bytes for stacks (goroutines' or signal stacks): only
/// touched pages cost memory (`MAP_NORESERVE`), and transparent huge pages
/// stay off (`MAP_STACK`). Returns the base address, or None when out of
/// memory.
pub fn map_stack_memory(len: usize) -> Option<usize> {
    // SAFETY: a fresh anonymous mapping; nothing else refers to it.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    (base != libc::MAP_FAILED).then_some(base as usize)
}

fn install_guard(addr: usize) -> bool {
    let kind = GUARD_KIND.load(Ordering::Relaxed);
    if kind != GUARD_MPROTECT {
        // SAFETY: addr..addr+GUARD lies in a mapping we own.
        if unsafe { libc::madvise(addr as *mut libc::c_void, GUARD, MADV_GUARD_INSTALL) } == 0 {
            GUARD_KIND.store(GUARD_MADVISE, Ordering::Relaxed);
            return true;
        }
        if kind == GUARD_MADVISE {
            return false; // it worked before: this is a real failure (ENOMEM)
        }
        GUARD_KIND.store(GUARD_MPROTECT, Ordering::Relaxed);
    }
    // SAFETY: as above.
    unsafe { libc::mprotect(addr as *mut libc::c_void, GUARD, libc::PROT_NONE) == 0 }
}

fn register(base: usize, slot_size: usize, nslots: usize) -> bool {
    let _registering = REGISTER_LOCK.lock();
    let n = NREGIONS.load(Ordering::Relaxed);
    let ok = n < MAX_REGIONS;
    if ok {
        let r = &REGIONS[n];
        r.base.store(base, Ordering::Relaxed);
        r.slot_size.store(slot_size, Ordering::Relaxed);
        r.nslots.store(nslots, Ordering::Relaxed);
        // Release: a reader that sees the new count sees the entry.
        NREGIONS.store(n + 1, Ordering::Release);
    }
    ok
}

/// Gives back the pages of the stack below `hi - keep` (the top `keep`
/// bytes, where the G and the first frames live, stay resident).
pub fn release_deep(lo: usize, hi: usize, keep: usize) {
    let end = (hi - keep) & !(PAGE - 1);
    if end > lo {
        // SAFETY: [lo, end) is stack memory of a free slot we own; guard
        // markers survive MADV_DONTNEED.
        unsafe { libc::madvise(lo as *mut libc::c_void, end - lo, libc::MADV_DONTNEED) };
    }
}

/// Calls `f` with the top address of every stack slot ever made (where its
/// G lives). Async-signal-safe: reads the registry only.
pub fn for_each_slot(mut f: impl FnMut(usize)) {
    let n = NREGIONS.load(Ordering::Acquire);
    for r in &REGIONS[..n] {
        let base = r.base.load(Ordering::Relaxed);
        let slot = r.slot_size.load(Ordering::Relaxed);
        for i in 0..r.nslots.load(Ordering::Relaxed) {
            f(base + (i + 1) * slot);
        }
    }
}

/// If `addr` lies in a stack guard, returns (slot top, stack size) of the
/// slot the guard protects. Async-signal-safe: reads the registry only.
pub fn guard_hit(addr: usize) -> Option<(usize, usize)> {
    let n = NREGIONS.load(Ordering::Acquire);
    REGIONS[..n].iter().find_map(|r| {
        let base = r.base.load(Ordering::Relaxed);
        let slot = r.slot_size.load(Ordering::Relaxed);
        let len = slot * r.nslots.load(Ordering::Relaxed);
        if addr < base || addr >= base + len {
            return None;
        }
        let slot_base = base + (addr - base) / slot * slot;
        (addr < slot_base + GUARD).then_some((slot_base + slot, slot - GUARD))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_to_pages_within_the_limits() {
        use crate::config::{MAX_STACK, MIN_STACK};
        assert_eq!(round_size(0), MIN_STACK);
        assert_eq!(round_size(MIN_STACK + 1), MIN_STACK + PAGE);
        assert_eq!(round_size(usize::MAX), MAX_STACK);
    }

    #[test]
    fn a_fault_in_a_guard_names_the_slot_above_it() {
        let size = 16 << 10;
        let mut tops = Vec::new();
        assert!(map_region(size, |top| tops.push(top)));
        assert!(tops.len() > 2 && tops.windows(2).all(|w| w[1] - w[0] == size + GUARD));
        let top = tops[1];
        let guard_lo = top - size - GUARD;
        assert_eq!(guard_hit(guard_lo), Some((top, size)));
        assert_eq!(guard_hit(top - size - 1), Some((top, size)));
        // The stack itself and the G at its top are no guard.
        assert_eq!(guard_hit(top - size), None);
        assert_eq!(guard_hit(top - 1), None);
        assert_eq!(guard_hit(0), None);
    }
}
