//! Where system library code lives: the executable ranges of libc, ld.so,
//! the vDSO, libgcc, libstdc++, libpython and gort itself. The preemption
//! handler prefers not to stop a goroutine there (it may hold a libc lock).
//!
//! The map is computed outside any handler (at start and by sysmon when
//! objects are loaded or unloaded: `dl_iterate_phdr` takes the loader lock,
//! which a handler must never do) and published as an immutable snapshot.
//! Old snapshots are leaked on purpose: a handler may still be reading one.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::cell::AtomicRef;

struct Snapshot {
    /// (start, end, is gort's own code), sorted by start.
    ranges: Vec<(usize, usize, bool)>,
}

/// Where a program counter is.
#[derive(Debug, PartialEq, Eq)]
pub enum Code {
    /// The program's own code: preemptible.
    User,
    /// A system library: better not now, acceptable after a few refusals.
    System,
    /// gort itself (when it is a shared object): never forced.
    Runtime,
}

static CURRENT: AtomicRef<Snapshot> = AtomicRef::none();
/// dl_iterate_phdr's adds+subs counters when the snapshot was built.
static GENERATION: AtomicU64 = AtomicU64::new(u64::MAX);

/// Objects whose code may hold process-wide locks (libc and its loader,
/// the vDSO, the C++ runtime, the Python interpreter, common allocators
/// and glibc's malloc debugger) and gort itself.
const SYSTEM_PREFIXES: &[&str] = &[
    "libc.so",
    "libc-",
    "libc_malloc_debug",
    "ld-linux",
    "ld64.so",
    "linux-vdso",
    "linux-gate",
    "libgcc_s",
    "libstdc++",
    "libpython",
    "libpthread",
    "libdl.so",
    "libjemalloc",
    "libtcmalloc",
    "libmimalloc",
    "libgort",
];

/// Classifies `pc`. Async-signal-safe.
pub fn classify(pc: usize) -> Code {
    CURRENT.load(Ordering::Acquire).map_or(Code::User, |snap| snap.classify(pc))
}

impl Snapshot {
    fn classify(&self, pc: usize) -> Code {
        let i = self.ranges.partition_point(|&(start, _, _)| start <= pc);
        match self.ranges.get(i.wrapping_sub(1)) {
            Some(&(_, end, own)) if pc < end => {
                if own {
                    Code::Runtime
                } else {
                    Code::System
                }
            }
            _ => Code::User,
        }
    }
}

/// Whether the object at `path` (as the loader names it) is a system
/// library, by its file name.
fn is_system(path: &[u8]) -> bool {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    SYSTEM_PREFIXES.iter().any(|p| base.starts_with(p.as_bytes()))
}

/// Rebuilds the snapshot if the set of loaded objects changed.
pub fn refresh() {
    struct Scan {
        generation: u64,
        ranges: Vec<(usize, usize, bool)>,
        own: usize,
        first: bool,
    }
    /// # Safety
    /// Called by dl_iterate_phdr with a valid `info` and our `Scan`.
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, data: *mut libc::c_void) -> i32 {
        // SAFETY: dl_iterate_phdr passes a valid info and our data pointer.
        let (info, scan) = unsafe { (&*info, &mut *(data as *mut Scan)) };
        if scan.first {
            scan.first = false;
            scan.generation = info.dlpi_adds.wrapping_add(info.dlpi_subs);
            if scan.generation == GENERATION.load(Ordering::Relaxed) {
                return 1; // nothing changed: stop early
            }
        }
        // SAFETY: dlpi_name is a NUL-terminated string (possibly empty).
        let name = unsafe { core::ffi::CStr::from_ptr(info.dlpi_name) }.to_bytes();
        let segments = || {
            // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
            unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
                .iter()
                .filter(|ph| ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_X != 0)
                .map(|ph| {
                    (
                        info.dlpi_addr as usize + ph.p_vaddr as usize,
                        info.dlpi_addr as usize + (ph.p_vaddr + ph.p_memsz) as usize,
                    )
                })
        };
        // gort's own code, when it is a shared object (not when linked
        // statically into the executable: then the executable is the program).
        let is_own = !name.is_empty() && segments().any(|(s, e)| (s..e).contains(&scan.own));
        let is_system = is_system(name);
        if is_own || is_system {
            scan.ranges.extend(segments().map(|(s, e)| (s, e, is_own)));
        }
        0
    }
    let mut scan = Scan { generation: 0, ranges: Vec::new(), own: classify as *const () as usize, first: true };
    // SAFETY: the callback only reads what the loader passes it.
    let stopped_early = unsafe { libc::dl_iterate_phdr(Some(each), &mut scan as *mut Scan as *mut libc::c_void) } == 1;
    if stopped_early {
        return;
    }
    scan.ranges.sort_unstable();
    let snap = Box::leak(Box::new(Snapshot { ranges: scan.ranges }));
    CURRENT.store(Some(snap), Ordering::Release);
    GENERATION.store(scan.generation, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_half_open_and_gaps_are_the_programs() {
        let snap = Snapshot { ranges: vec![(0x1000, 0x2000, false), (0x3000, 0x4000, true), (0x4000, 0x5000, false)] };
        let cases = [
            (0, Code::User),
            (0xfff, Code::User),
            (0x1000, Code::System),
            (0x1fff, Code::System),
            (0x2000, Code::User),
            (0x3000, Code::Runtime),
            (0x3fff, Code::Runtime),
            (0x4000, Code::System),
            (0x5000, Code::User),
            (usize::MAX, Code::User),
        ];
        for (pc, want) in cases {
            assert_eq!(snap.classify(pc), want, "pc {pc:#x}");
        }
        assert_eq!(Snapshot { ranges: Vec::new() }.classify(0x1000), Code::User);
    }

    #[test]
    fn system_libraries_are_known_by_file_name() {
        for lib in ["/lib/x86_64-linux-gnu/libc.so.6", "libc-2.31.so", "/lib64/ld-linux-x86-64.so.2", "linux-vdso.so.1"]
        {
            assert!(is_system(lib.as_bytes()), "{lib}");
        }
        for lib in ["libstdc++.so.6", "libpython3.11.so.1.0", "libjemalloc.so.2", "/opt/x/libgort.so"] {
            assert!(is_system(lib.as_bytes()), "{lib}");
        }
        for other in ["", "/usr/lib/libcrypto.so.3", "/usr/bin/myprog", "/libc.so.d/app", "mylibc.so"] {
            assert!(!is_system(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn the_live_map_puts_libc_in_the_system_and_this_test_in_the_program() {
        refresh();
        assert_eq!(classify(libc::write as *const () as usize), Code::System);
        // gort is linked into this test executable: the program's code.
        let here = the_live_map_puts_libc_in_the_system_and_this_test_in_the_program as *const () as usize;
        assert_eq!(classify(here), Code::User);
        // A second refresh with nothing loaded since keeps the snapshot.
        let before = CURRENT.load(Ordering::Acquire).map(core::ptr::from_ref);
        refresh();
        assert_eq!(CURRENT.load(Ordering::Acquire).map(core::ptr::from_ref), before);
    }
}
