//! The text of a goroutine dump, in Go's traceback shape:
//!
//! ```text
//! goroutine 7 [chan receive, 3 minutes]: (name "parser")
//! gort_chan_recv(...)
//! worker_loop(...) at /src/worker.c:41
//! serve(...) at /src/worker.c:80
//! created by main at /src/main.c:12
//! ```
//!
//! One block per goroutine, blank lines between. The header gives the id,
//! the state (the wait reason for a parked goroutine), how long it has
//! waited once that is a minute or more (Go's rule: shorter waits are not
//! worth a word), whether it is locked to its thread, and its name. Frames
//! come innermost first, functions inlined into a frame each on a line of
//! their own. The runtime's own frames are left out except the C API
//! function the goroutine called, as Go leaves out `runtime.*` frames.
//! A frame without debug information is placed by object and offset
//! (`libfoo.so+0x1a2b`), which `addr2line -e libfoo.so 0x1a2b` resolves
//! once debug information is at hand.

use core::fmt::Write as _;

use super::snapshot::{MAX_FRAMES, Record, Snapshot, Stack, State};
use super::symbolize::{Frame, Symbolizer};
use super::unwind::End;

/// Appends every goroutine of `snap` to `out`: the caller first, then by
/// id.
pub fn dump(out: &mut String, snap: &Snapshot, sym: &mut Symbolizer) {
    let mut order: Vec<&Record> = snap.records.iter().collect();
    order.sort_by_key(|r| (r.state != State::Current, r.id));
    for (i, r) in order.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        goroutine(out, r, &snap.frames[r.frames_at..r.frames_at + r.nframes], sym);
    }
    if snap.unlisted > 0 {
        let _ = writeln!(out, "\n... {} more goroutines (spawned while the dump was being taken)", snap.unlisted);
    }
}

/// One goroutine's block.
pub fn goroutine(out: &mut String, r: &Record, frames: &[usize], sym: &mut Symbolizer) {
    header(out, r);
    stack(out, r, frames, sym);
    created_by(out, r.create_pc, sym);
}

fn stack(out: &mut String, r: &Record, frames: &[usize], sym: &mut Symbolizer) {
    match r.stack {
        Stack::Unavailable => out.push_str("goroutine running on another thread; stack unavailable\n"),
        Stack::NotStarted => {
            let f = sym.symbolize(r.entry).frames.last().cloned();
            if let Some(f) = f {
                frame_line(out, &f);
            }
        }
        Stack::NoRoom => {
            shown_frames(out, frames, sym);
            out.push_str("...stack not collected in full: too many goroutines...\n");
        }
        Stack::Walked(end) => {
            shown_frames(out, frames, sym);
            if end == End::Truncated || frames.len() == MAX_FRAMES {
                out.push_str("...additional frames elided...\n");
            }
        }
    }
}

fn header(out: &mut String, r: &Record) {
    let state = match r.state {
        State::Current => "running",
        State::Runnable => "runnable",
        State::Waiting(reason) => reason.as_str(),
        State::Preempted => "preempted",
        State::BlockingCall => "blocking call",
        State::Running => "running",
    };
    let _ = write!(out, "goroutine {} [{}", r.id, if state.is_empty() { "waiting" } else { state });
    let minutes = r.waited / 60_000_000_000;
    if minutes >= 1 {
        let _ = write!(out, ", {minutes} minutes"); // Go's words, for tools that parse them
    }
    if r.locked {
        out.push_str(", locked to thread");
    }
    out.push_str("]:");
    if !r.name().is_empty() {
        let _ = write!(out, " (name {:?})", String::from_utf8_lossy(r.name()));
    }
    out.push('\n');
}

/// The frames worth showing: the program's, and the C API calls.
fn shown_frames(out: &mut String, frames: &[usize], sym: &mut Symbolizer) {
    for &addr in frames {
        let s = sym.symbolize(addr);
        if s.is_api() {
            let _ = writeln!(out, "{}(...)", s.outer_function().unwrap_or("?"));
        } else if !s.runtime {
            for f in s.frames.clone() {
                frame_line(out, &f);
            }
        }
    }
}

/// `created by FUNCTION at FILE:LINE`: the function that called `gort_go`.
/// Of the functions inlined at the call, the innermost outside `gort.hpp`:
/// C++'s `gort::go` is inlined into the program's function that called it.
fn created_by(out: &mut String, pc: usize, sym: &mut Symbolizer) {
    if pc == 0 {
        return;
    }
    let frames = &sym.symbolize(pc - 1).frames;
    let in_header = |f: &&Frame| f.line.as_ref().is_some_and(|(file, _)| file.ends_with("/gort.hpp"));
    let Some(f) = frames.iter().find(|f| !in_header(f)).or(frames.last()) else { return };
    let _ = write!(out, "created by {}", f.function.as_deref().unwrap_or("?"));
    place(out, f);
    out.push('\n');
}

fn frame_line(out: &mut String, f: &Frame) {
    let _ = write!(out, "{}(...)", f.function.as_deref().unwrap_or("?"));
    place(out, f);
    out.push('\n');
}

/// ` at file:line`, or ` at object+0xoffset`.
fn place(out: &mut String, f: &Frame) {
    match (&f.line, &f.object) {
        (Some((file, line)), _) => {
            let _ = write!(out, " at {file}:{line}");
        }
        (None, Some((object, offset))) => {
            let _ = write!(out, " at {object}+{offset:#x}");
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::g::{NAME_LEN, WaitReason};

    fn record(state: State, waited: i64, locked: bool, name: &str) -> Record {
        let mut n = [0u8; NAME_LEN];
        n[..name.len()].copy_from_slice(name.as_bytes());
        Record {
            id: 7,
            state,
            locked,
            name: n,
            entry: 0,
            create_pc: 0,
            waited,
            frames_at: 0,
            nframes: 0,
            stack: Stack::Unavailable,
        }
    }

    #[test]
    fn header_says_how_long_a_goroutine_waited_once_it_is_a_minute() {
        let mut out = String::new();
        header(&mut out, &record(State::Waiting(WaitReason::ChanRecv), 210_000_000_000, false, "parser"));
        assert_eq!(out, "goroutine 7 [chan receive, 3 minutes]: (name \"parser\")\n");
        out.clear();
        header(&mut out, &record(State::Waiting(WaitReason::Mutex), 59_000_000_000, true, ""));
        assert_eq!(out, "goroutine 7 [sync.Mutex, locked to thread]:\n");
        out.clear();
        header(&mut out, &record(State::Preempted, 0, false, ""));
        assert_eq!(out, "goroutine 7 [preempted]:\n");
    }
}
