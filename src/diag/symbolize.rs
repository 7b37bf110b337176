//! Addresses to names: function, file and line, for goroutine dumps.
//!
//! Runs after the world has started again (it allocates and reads files).
//! Each loaded object is opened on first use with addr2line: its DWARF debug
//! information gives the function (inlined calls included, static functions
//! too) with file and line; without it, its symbol table gives the function
//! alone. A separate debug file found by build id under
//! `/usr/lib/debug/.build-id/` (Debian's `-dbgsym` packages) is preferred
//! to the object itself, as gdb does.
//!
//! It also tells the runtime's own frames from the program's: a dump hides
//! them except the C API function the goroutine called (`gort_chan_recv`),
//! as Go hides `runtime.*` frames.

use std::cell::OnceCell;
use std::collections::HashMap;

use super::unwind::Object;

/// One function at an address: the address's own function, or one that was
/// inlined into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Demangled, or None when neither debug information nor the symbol
    /// table names it.
    pub function: Option<String>,
    /// Source file and line, where debug information exists.
    pub line: Option<(String, u32)>,
    /// The object's file name and the address's offset in it, for the
    /// frames that have no line.
    pub object: Option<(String, usize)>,
}

/// What the dump needs to know about an address.
#[derive(Clone, Debug)]
pub struct Symbolized {
    /// Innermost (most deeply inlined) first; never empty.
    pub frames: Vec<Frame>,
    /// Code of the runtime itself.
    pub runtime: bool,
}

impl Symbolized {
    /// The function the address is really in (the outermost of an inlined
    /// chain).
    pub fn outer_function(&self) -> Option<&str> {
        self.frames.last().and_then(|f| f.function.as_deref())
    }

    /// A C API entry point (`gort_*`), the one runtime frame a dump shows.
    pub fn is_api(&self) -> bool {
        self.runtime && self.outer_function().is_some_and(|f| f.starts_with("gort_"))
    }
}

pub struct Symbolizer<'a> {
    objects: &'a [Object],
    /// Index of the object holding the runtime's code, when the runtime is
    /// a shared object of its own (not linked into the executable).
    runtime_object: Option<usize>,
    loaders: Vec<OnceCell<Option<addr2line::Loader>>>,
    memo: HashMap<usize, Symbolized>,
}

impl<'a> Symbolizer<'a> {
    pub fn new(objects: &'a [Object]) -> Symbolizer<'a> {
        let anchor = Symbolizer::symbolize as *const () as usize;
        let runtime_object = objects.iter().position(|o| o.range.contains(&anchor) && !o.is_executable);
        Symbolizer {
            objects,
            runtime_object,
            loaders: objects.iter().map(|_| OnceCell::new()).collect(),
            memo: HashMap::new(),
        }
    }

    /// What is at `addr` (a lookup address, see `Objects::walk`).
    pub fn symbolize(&mut self, addr: usize) -> &Symbolized {
        if !self.memo.contains_key(&addr) {
            let s = self.lookup(addr);
            self.memo.insert(addr, s);
        }
        &self.memo[&addr]
    }

    fn lookup(&self, addr: usize) -> Symbolized {
        let i = self.objects.partition_point(|o| o.range.start <= addr).checked_sub(1);
        let Some(i) = i.filter(|&i| addr < self.objects[i].range.end) else {
            return Symbolized { frames: vec![Frame { function: None, line: None, object: None }], runtime: false };
        };
        let object = &self.objects[i];
        let probe = (addr - object.bias) as u64;
        let place = Some((base_name(&object.path).to_string(), addr - object.bias));
        let mut frames = Vec::new();
        if let Some(loader) = self.loaders[i].get_or_init(|| open(object)) {
            if let Ok(mut iter) = loader.find_frames(probe) {
                while let Ok(Some(f)) = iter.next() {
                    let function = f.function.as_ref().and_then(|n| n.demangle().ok()).map(|n| n.into_owned());
                    let line = f.location.and_then(|l| Some((l.file?.to_string(), l.line?)));
                    frames.push(Frame { function, line, object: None });
                }
            }
            if frames.iter().all(|f| f.function.is_none())
                && let Some(name) = loader.find_symbol(probe)
            {
                let function = addr2line::demangle_auto(name.into(), None).into_owned();
                let line = frames.pop().and_then(|f| f.line);
                frames = vec![Frame { function: Some(function), line, object: None }];
            }
        }
        if frames.is_empty() {
            frames.push(Frame { function: None, line: None, object: None });
        }
        for f in &mut frames {
            if f.line.is_none() {
                f.object = place.clone();
            }
        }
        let runtime = Some(i) == self.runtime_object
            || frames.last().and_then(|f| f.function.as_deref()).is_some_and(is_runtime_function);
        Symbolized { frames, runtime }
    }
}

/// Opens an object's debug information (None: nothing to read, the vDSO).
fn open(object: &Object) -> Option<addr2line::Loader> {
    if object.path.is_empty() {
        return None;
    }
    separate_debug_file(&object.build_id)
        .and_then(|p| addr2line::Loader::new(p).ok())
        .or_else(|| addr2line::Loader::new(&object.path).ok())
}

/// `/usr/lib/debug/.build-id/ab/cdef....debug`, if it exists.
fn separate_debug_file(build_id: &[u8]) -> Option<String> {
    let (first, rest) = build_id.split_first()?;
    let hex: String = rest.iter().map(|b| format!("{b:02x}")).collect();
    let path = format!("/usr/lib/debug/.build-id/{first:02x}/{hex}.debug");
    std::path::Path::new(&path).exists().then_some(path)
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Rust functions of the runtime, when it is linked into the executable:
/// `gort::sched::park`, `<gort::chan::Chan as ...>::...`, and the runtime's
/// assembly helpers.
fn is_runtime_function(name: &str) -> bool {
    name.starts_with("gort::") || name.starts_with("<gort::") || name == "gort_goroutine_trampoline"
}

#[cfg(test)]
mod tests {
    use super::super::unwind::Objects;
    use super::*;

    #[inline(never)]
    fn a_named_function() -> usize {
        crate::arch::here().pc - 1
    }

    #[test]
    fn names_a_function_of_this_binary_with_its_file() {
        let objects = Objects::load();
        let mut s = Symbolizer::new(&objects.list);
        let sym = s.symbolize(a_named_function()).clone();
        let f = sym.frames.iter().find(|f| f.function.as_deref().is_some_and(|n| n.contains("a_named_function")));
        let f = f.unwrap_or_else(|| panic!("no a_named_function in {sym:?}"));
        let (file, line) = f.line.clone().expect("line tables");
        assert!(file.ends_with("symbolize.rs"), "{file}");
        assert!(line > 0);
        assert!(sym.runtime, "the runtime's own code");
        assert!(!sym.is_api());
    }

    #[test]
    fn names_a_libc_function_from_its_symbol_table() {
        let objects = Objects::load();
        let mut s = Symbolizer::new(&objects.list);
        let sym = s.symbolize(libc::getpid as *const () as usize + 1).clone();
        let name = sym.outer_function().expect("a name from the symbol table");
        assert!(name.contains("getpid"), "{name}");
        assert!(!sym.runtime);
    }
}
