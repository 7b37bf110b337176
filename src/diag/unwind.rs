//! Walking a stack from a register snapshot: the loaded objects, their DWARF
//! call frame information, and an unwinder that never allocates.
//!
//! A goroutine dump walks every goroutine's stack while the world is
//! stopped, and a goroutine stopped inside `malloc` may hold malloc's lock
//! then. So the work is split. [`Objects::load`] runs first, with the world
//! running: it lists the loaded objects (`dl_iterate_phdr`), copies each
//! one's `.eh_frame_hdr` and `.eh_frame` out of memory (the loader lock held
//! by `dl_iterate_phdr` keeps them mapped meanwhile) and hands them to
//! framehop, which indexes nothing more than that. [`Objects::walk`] then
//! runs inside the stopped world and allocates nothing: framehop's
//! `MustNotAllocateDuringUnwind` policy and a rule cache made up front.
//!
//! C compiled at `-O2` keeps no frame pointer, so the call frame
//! information is what finds each caller; code without it (hand-written
//! assembly, JIT code) falls back to the frame pointer chain. Every stack
//! read is checked against the bounds of the stack being walked, so a wrong
//! rule or a garbage frame pointer ends the walk instead of faulting.

use core::ffi::CStr;
use core::ops::Range;

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, MustNotAllocateDuringUnwind, Unwinder as _};

use crate::arch::{self, Regs};

/// One loaded object (the executable, a shared library, the vDSO).
pub struct Object {
    /// Its file (`/proc/self/exe` for the executable); empty for the vDSO.
    pub path: String,
    /// Load bias: an address in the object's own numbering plus this is
    /// where it sits in memory.
    pub bias: usize,
    /// The span of its loaded segments in memory.
    pub range: Range<usize>,
    /// Its GNU build id, to find a separate debug file.
    pub build_id: Vec<u8>,
    /// The program's executable (rather than a shared object).
    pub is_executable: bool,
}

/// The loaded objects, with an unwinder over their call frame information.
pub struct Objects {
    /// Sorted by address.
    pub list: Vec<Object>,
    unwinder: UnwinderX86_64<Vec<u8>, MustNotAllocateDuringUnwind>,
    cache: CacheX86_64<MustNotAllocateDuringUnwind>,
}

/// How a walk ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    /// At the outermost frame (the goroutine trampoline, or a frame whose
    /// return address is undefined).
    Complete,
    /// The output was full: more frames follow.
    Truncated,
    /// The next frame could not be found (no rule, or a rule that pointed
    /// outside the stack).
    Lost,
}

impl Objects {
    /// Lists the loaded objects and reads their unwind tables. Allocates.
    pub fn load() -> Objects {
        let mut scan = Scan { list: Vec::new(), modules: Vec::new() };
        // SAFETY: the callback only reads what the loader passes it, while
        // the loader lock keeps those objects mapped.
        unsafe { libc::dl_iterate_phdr(Some(each_object), &mut scan as *mut Scan as *mut libc::c_void) };
        let mut unwinder = UnwinderX86_64::new();
        for module in scan.modules {
            unwinder.add_module(module);
        }
        scan.list.sort_by_key(|o| o.range.start);
        Objects { list: scan.list, unwinder, cache: CacheX86_64::new_in() }
    }

    /// Walks the stack `stack` from `regs`, writing one address per frame to
    /// `out`, innermost first, and returns how many it wrote and how the walk
    /// ended. Each address is the one to look up for its frame: the
    /// interrupted instruction for the first frame when `exact_pc`, otherwise
    /// the byte before a return address (inside the call instruction, whose
    /// line is the one to show). Frames of the goroutine trampoline are left
    /// out. Never allocates; reads memory only inside `stack`.
    pub fn walk(&mut self, regs: Regs, exact_pc: bool, stack: Range<usize>, out: &mut [usize]) -> (usize, End) {
        let trampoline = arch::trampoline_range();
        let mut read = |addr: u64| read_stack_word(&stack, addr as usize).map(|w| w as u64).ok_or(());
        let start = UnwindRegsX86_64::new(regs.pc as u64, regs.sp as u64, regs.bp as u64);
        let mut frames = self.unwinder.iter_frames(regs.pc as u64, start, &mut self.cache, &mut read);
        let mut n = 0;
        loop {
            let addr = match frames.next() {
                Ok(Some(FrameAddress::InstructionPointer(pc))) => (pc as usize).saturating_sub(!exact_pc as usize),
                Ok(Some(ret @ FrameAddress::ReturnAddress(_))) => ret.address_for_lookup() as usize,
                Ok(None) => return (n, End::Complete),
                Err(_) => return (n, End::Lost),
            };
            if trampoline.contains(&addr) {
                return (n, End::Complete);
            }
            if n == out.len() {
                return (n, End::Truncated);
            }
            out[n] = addr;
            n += 1;
        }
    }
}

/// The word at `addr`, if it lies inside `stack`. The stack must be mapped
/// throughout (goroutine stacks are; deep pages given back read as zeroes)
/// and its owner stopped, or be the caller's own.
pub fn read_stack_word(stack: &Range<usize>, addr: usize) -> Option<usize> {
    if addr < stack.start || addr.checked_add(8)? > stack.end || !addr.is_multiple_of(8) {
        return None;
    }
    // SAFETY: inside the stack, mapped per the caller.
    Some(unsafe { core::ptr::read_volatile(addr as *const usize) })
}

struct Scan {
    list: Vec<Object>,
    modules: Vec<Module<Vec<u8>>>,
}

/// `dl_iterate_phdr` callback: records one object and its unwind tables.
unsafe extern "C" fn each_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut libc::c_void) -> i32 {
    // SAFETY: dl_iterate_phdr passes a valid info and our data pointer.
    let (info, scan) = unsafe { (&*info, &mut *(data as *mut Scan)) };
    let bias = info.dlpi_addr as usize;
    // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
    let phdrs = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let loads = || phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD);
    let (Some(lo), Some(hi)) =
        (loads().map(|ph| ph.p_vaddr as usize).min(), loads().map(|ph| (ph.p_vaddr + ph.p_memsz) as usize).max())
    else {
        return 0;
    };
    let range = bias + lo..bias + hi;
    // SAFETY: dlpi_name is a NUL-terminated string (empty for the executable).
    let name = unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy().into_owned();
    let is_vdso = name.starts_with("linux-vdso") || name.starts_with("linux-gate");
    let path = match name.as_str() {
        "" => std::fs::read_link("/proc/self/exe").map(|p| p.to_string_lossy().into_owned()).unwrap_or_default(),
        _ if is_vdso => String::new(),
        _ => name.clone(),
    };
    // The segment that holds an address, as a memory range.
    let segment_of = |addr: usize| {
        loads()
            .map(|ph| bias + ph.p_vaddr as usize..bias + (ph.p_vaddr + ph.p_memsz) as usize)
            .find(|r| r.contains(&addr))
    };
    let mut section_info = ExplicitModuleSectionInfo { base_svma: 0, ..Default::default() };
    if let Some(ph) = phdrs.iter().find(|ph| ph.p_type == libc::PT_GNU_EH_FRAME) {
        let hdr = bias + ph.p_vaddr as usize..bias + (ph.p_vaddr + ph.p_memsz) as usize;
        // SAFETY: a loaded segment of this object, mapped while the loader
        // lock is held.
        let hdr_bytes = unsafe { core::slice::from_raw_parts(hdr.start as *const u8, hdr.len()) };
        if let Some(eh_frame) = eh_frame_address(hdr_bytes, hdr.start)
            && let Some(segment) = segment_of(eh_frame)
        {
            // SAFETY: as above; the range stays inside one loaded segment.
            let tail = unsafe { core::slice::from_raw_parts(eh_frame as *const u8, segment.end - eh_frame) };
            let len = eh_frame_len(tail);
            section_info.eh_frame_hdr_svma = Some((hdr.start - bias) as u64..(hdr.end - bias) as u64);
            section_info.eh_frame_hdr = Some(hdr_bytes.to_vec());
            section_info.eh_frame_svma = Some((eh_frame - bias) as u64..(eh_frame + len - bias) as u64);
            section_info.eh_frame = Some(tail[..len].to_vec());
        }
    }
    let build_id = phdrs
        .iter()
        .filter(|ph| ph.p_type == libc::PT_NOTE)
        .find_map(|ph| {
            // SAFETY: a loaded note segment of this object.
            let notes =
                unsafe { core::slice::from_raw_parts((bias + ph.p_vaddr as usize) as *const u8, ph.p_memsz as usize) };
            gnu_build_id(notes)
        })
        .unwrap_or_default();
    let is_executable = name.is_empty();
    scan.modules.push(Module::new(name, range.start as u64..range.end as u64, bias as u64, section_info));
    scan.list.push(Object { path, bias, range, build_id: build_id.to_vec(), is_executable });
    0
}

/// The address of `.eh_frame`, from the `eh_frame_ptr` field of the
/// `.eh_frame_hdr` at `hdr_addr` (encoded as its second byte says).
fn eh_frame_address(hdr: &[u8], hdr_addr: usize) -> Option<usize> {
    const DW_EH_PE_PCREL: u8 = 0x10;
    let (&version, &enc) = (hdr.first()?, hdr.get(1)?);
    if version != 1 {
        return None;
    }
    let field = hdr.get(4..)?;
    let value = match enc & 0x0f {
        0x00 | 0x04 | 0x0c => u64::from_le_bytes(field.get(..8)?.try_into().ok()?) as i64,
        0x03 => u32::from_le_bytes(field.get(..4)?.try_into().ok()?) as i64,
        0x0b => i32::from_le_bytes(field.get(..4)?.try_into().ok()?) as i64,
        _ => return None,
    };
    match enc & 0x70 {
        0 => Some(value as usize),
        DW_EH_PE_PCREL => Some((hdr_addr as i64 + 4 + value) as usize),
        _ => None,
    }
}

/// Length of the `.eh_frame` records at the start of `bytes`: up to the
/// zero terminator, or all of `bytes` without one.
fn eh_frame_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 4) {
        let len = u32::from_le_bytes(word.try_into().unwrap()) as usize;
        let next = match len {
            0 => return at,
            0xffff_ffff => match bytes.get(at + 4..at + 12) {
                Some(w) => (u64::from_le_bytes(w.try_into().unwrap()) as usize).saturating_add(at + 12),
                None => break,
            },
            _ => at + 4 + len,
        };
        if next > bytes.len() {
            break;
        }
        at = next;
    }
    bytes.len()
}

/// The GNU build id in an ELF note segment.
fn gnu_build_id(mut notes: &[u8]) -> Option<&[u8]> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |b: &[u8], i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    while notes.len() >= 12 {
        let (namesz, descsz, kind) = (word(notes, 0)? as usize, word(notes, 4)? as usize, word(notes, 8)?);
        let name_end = 12 + namesz.next_multiple_of(4);
        let desc_end = name_end + descsz.next_multiple_of(4);
        if kind == NT_GNU_BUILD_ID && notes.get(12..12 + namesz)? == b"GNU\0" {
            return notes.get(name_end..name_end + descsz);
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eh_frame_pointer_decodes_pcrel_sdata4() {
        // version 1, pcrel|sdata4, then -0x100 relative to the field.
        let mut hdr = vec![1, 0x1b, 0x03, 0x3b];
        hdr.extend_from_slice(&(-0x100i32).to_le_bytes());
        assert_eq!(eh_frame_address(&hdr, 0x10_000), Some(0x10_000 + 4 - 0x100));
        assert_eq!(eh_frame_address(&[2, 0x1b, 0, 0, 0, 0, 0, 0], 0), None);
    }

    #[test]
    fn eh_frame_len_stops_at_the_terminator() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(&[9; 4]);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&[7; 16]);
        assert_eq!(eh_frame_len(&bytes), 8);
        assert_eq!(eh_frame_len(&bytes[..6]), 6);
    }

    #[test]
    fn build_id_is_found_among_notes() {
        let mut notes = Vec::new();
        for (name, kind, desc) in [(&b"XYZ\0"[..], 1u32, &[1u8, 2][..]), (b"GNU\0", 3, &[0xab, 0xcd, 0xef])] {
            notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
            notes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
            notes.extend_from_slice(&kind.to_le_bytes());
            notes.extend_from_slice(name);
            notes.extend_from_slice(desc);
            notes.resize(notes.len().next_multiple_of(4), 0);
        }
        assert_eq!(gnu_build_id(&notes), Some(&[0xab, 0xcd, 0xef][..]));
    }

    /// The calling thread's stack, as pthread knows it.
    pub(crate) fn this_thread_stack() -> Range<usize> {
        // SAFETY: attr is initialised by pthread_getattr_np and destroyed after use.
        unsafe {
            let mut attr: libc::pthread_attr_t = core::mem::zeroed();
            assert_eq!(libc::pthread_getattr_np(libc::pthread_self(), &mut attr), 0);
            let (mut addr, mut size) = (core::ptr::null_mut(), 0);
            libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
            libc::pthread_attr_destroy(&mut attr);
            addr as usize..addr as usize + size
        }
    }

    /// Walks this very thread's stack: the frames include this test.
    #[test]
    fn walks_the_callers_own_stack() {
        #[inline(never)]
        fn probe(objects: &mut Objects, out: &mut [usize]) -> (usize, End) {
            let regs = arch::here();
            objects.walk(regs, false, this_thread_stack(), out)
        }
        let mut objects = Objects::load();
        let mut out = [0usize; 64];
        let (n, _) = probe(&mut objects, &mut out);
        assert!(n >= 3, "only {n} frames");
        let me = walks_the_callers_own_stack as *const () as usize;
        assert!(
            out[..n].iter().any(|&pc| pc > me && pc < me + 4096),
            "{:x?} has no frame in the test ({me:x})",
            &out[..n]
        );
    }
}
