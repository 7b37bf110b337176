"""Goroutines in gdb, for programs that use gort.

Load it into a gdb session (a live process or a core file):

    (gdb) source /path/to/gort/tools/gort-gdb.py

Commands:

    info goroutines          every goroutine: id, state (the wait reason of
                             a parked one), name, and the first frame of the
                             program's own code it is in
    goroutine N bt [ARGS]    the backtrace of goroutine N
    goroutine N CMD          any gdb command (frame 2, info locals, ...)
                             with the frame view switched to goroutine N

A goroutine running on a thread (or stopped there by a preemption signal)
is shown through that thread: `goroutine N CMD` selects it first. A parked
goroutine's registers are where gort's context switch saved them on its
stack; the frame view is switched to them with a frame unwinder, which
works on core files too (gdb cannot write a core's registers). Frame #0 of
such a view is the selected thread's own and is hidden from backtraces:
the goroutine's frames start at #1.

Everything is read from memory through the `gort_debug_info` descriptor the
library exports (no call into the process, no Rust debug information
needed). See docs/debugging.md.
"""

import itertools
import struct

import gdb
from gdb.unwinder import Unwinder, register_unwinder

MAGIC = int.from_bytes(b"GORTDBG1", "big")


def _read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def _u64(addr):
    return struct.unpack("<Q", _read(addr, 8))[0]


def _u32(addr):
    return struct.unpack("<I", _read(addr, 4))[0]


def _cstring(addr, limit=4096):
    out = b""
    while len(out) < limit:
        chunk = _read(addr + len(out), 64)
        end = chunk.find(b"\0")
        if end >= 0:
            return (out + chunk[:end]).decode("utf-8", "replace")
        out += chunk
    return out.decode("utf-8", "replace")


class Goroutine:
    def __init__(self, rt, g):
        f = rt.f
        self.addr = g
        self.id = _u64(g + f["g_id"])
        self.status = _u32(g + f["g_status"])
        self.wait_reason = _u32(g + f["g_wait_reason"])
        self.locked = _u32(g + f["g_locked"]) > 0
        self.ctx = _u64(g + f["g_ctx"])
        raw = _read(g + f["g_name"], f["g_name_len"])
        self.name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        self.stack = (_u64(g + f["g_stack_lo"]), g)
        self.tid = None  # the thread running it, if any

    def state(self, rt):
        f = rt.f
        if self.status == f["status_waiting"]:
            return rt.wait_reasons.get(self.wait_reason) or "waiting"
        return {
            f["status_runnable"]: "runnable",
            f["status_running"]: "running",
            f["status_preempted"]: "preempted",
        }.get(self.status, "status %d" % self.status)

    def saved_registers(self, rt):
        """Registers of a parked goroutine, as its context switch left them."""
        f, sp = rt.f, self.ctx
        if not (self.stack[0] <= sp < self.stack[1]):
            return None
        regs = {"rip": _u64(sp + f["switch_ret"]), "rsp": sp + f["switch_size"]}
        for reg in ("rbp", "rbx", "r12", "r13", "r14", "r15"):
            regs[reg] = _u64(sp + f["switch_" + reg])
        return regs


class Runtime:
    """The runtime's state as the descriptor describes it."""

    def __init__(self):
        try:
            addr = int(gdb.parse_and_eval("(unsigned long)&gort_debug_info"))
        except gdb.error:
            raise gdb.GdbError("no gort_debug_info in this program: is libgort loaded?")
        magic, names, nfields = struct.unpack("<QQQ", _read(addr, 24))
        if magic != MAGIC:
            raise gdb.GdbError("gort_debug_info has an unknown layout")
        words = struct.unpack("<%dQ" % nfields, _read(addr, 8 * nfields))
        self.f = dict(zip(_cstring(names).split(), words))
        f = self.f
        self.wait_reasons = {
            i: _cstring(_u64(f["wait_reasons"] + 8 * i)) for i in range(f["nwait_reasons"])
        }

    def goroutines(self):
        f = self.f
        gs = []
        for r in range(_u64(f["nregions"])):
            region = f["regions"] + r * f["region_size"]
            base = _u64(region + f["region_base"])
            slot = _u64(region + f["region_slot_size"])
            for i in range(_u64(region + f["region_nslots"])):
                g = base + (i + 1) * slot - f["g_size"]
                if _u32(g + f["g_status"]) != f["status_idle"]:
                    gs.append(Goroutine(self, g))
        running = self.running()
        for g in gs:
            g.tid = running.get(g.addr)
        return sorted(gs, key=lambda g: g.id)

    def running(self):
        """Goroutine address -> thread id, for the goroutines Ms run."""
        f, out = self.f, {}
        m = _u64(f["allm"])
        while m:
            curg = _u64(m + f["m_curg"])
            if curg:
                out[curg] = _u32(m + f["m_tid"])
            m = _u64(m + f["m_alllink"])
        return out

    def find(self, goid):
        for g in self.goroutines():
            if g.id == goid:
                return g
        raise gdb.GdbError("no goroutine %d" % goid)


class _FrameId:
    """A frame id as unwinders give it (gdb.unwinder.FrameId from gdb 14)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _GoroutineView(Unwinder):
    """While `regs` is set, frame #0 of the selected thread has the parked
    goroutine's registers as its caller's: frame #1 is the goroutine's."""

    def __init__(self):
        super().__init__("gort goroutine view")
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        # Frame #0 gets an id just below the goroutine's stack pointer: gdb
        # insists that callers sit above their callees on the stack, and the
        # thread's own stack is elsewhere.
        sp = pending.read_register("rsp")
        below = gdb.Value(self.regs["rsp"] - 16).cast(sp.type)
        info = pending.create_unwind_info(_FrameId(below, pending.read_register("rip")))
        for reg, value in self.regs.items():
            info.add_saved_register(reg, gdb.Value(value).cast(pending.read_register(reg).type))
        return info


class _HideThreadFrame:
    """Frame filter: in a goroutine view, frame #0 is not the goroutine's."""

    def __init__(self, view):
        self.name = "gort goroutine view"
        self.priority = 100
        self.enabled = True
        self.view = view

    def filter(self, frames):
        if self.view.regs is None:
            return frames
        return itertools.islice(frames, 1, None)


_view = _GoroutineView()
register_unwinder(None, _view, replace=True)
gdb.frame_filters[_HideThreadFrame(_view).name] = _HideThreadFrame(_view)


def _thread_with_tid(tid):
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == tid:
            return t
    return None


def _run_in_goroutine(rt, g, command, to_string=False):
    """Runs a gdb command with the frame view on goroutine `g`."""
    if g.tid is not None:
        thread = _thread_with_tid(g.tid)
        if thread is None:
            raise gdb.GdbError("goroutine %d runs on thread %d, which gdb does not know" % (g.id, g.tid))
        saved = gdb.selected_thread()
        thread.switch()
        try:
            return gdb.execute(command, to_string=to_string)
        finally:
            saved.switch()
    regs = g.saved_registers(rt)
    if regs is None:
        raise gdb.GdbError("goroutine %d has no saved registers" % g.id)
    _view.regs = regs
    gdb.invalidate_cached_frames()
    try:
        gdb.execute("select-frame 1")
        return gdb.execute(command, to_string=to_string)
    finally:
        _view.regs = None
        gdb.invalidate_cached_frames()


def _api_name(frame):
    """The C API function (gort_chan_recv...) a frame is in, if it is one."""
    name = (frame.name() or "").rsplit("::", 1)[-1]
    return name if name.startswith("gort_") else None


def _is_runtime(frame):
    name = frame.name() or ""
    solib = gdb.solib_name(frame.pc()) or ""
    return solib.endswith("libgort.so") or name.startswith(("gort::", "<gort::", "core::", "std::", "gort_"))


def _where(rt, g):
    """The innermost frame of the program's own code, as 'function at file:line'."""
    regs = None if g.tid is not None else g.saved_registers(rt)
    if g.tid is None and regs is None:
        return "?"
    saved_thread = gdb.selected_thread()
    if g.tid is not None:
        thread = _thread_with_tid(g.tid)
        if thread is None:
            return "thread %d" % g.tid
        thread.switch()
    else:
        _view.regs = regs
        gdb.invalidate_cached_frames()
    try:
        frames, frame = [], gdb.newest_frame()
        if regs is not None:
            frame = frame.older()
        while frame is not None and len(frames) < 64:
            frames.append(frame)
            frame = frame.older()
        # A goroutine stopped by a preemption signal: its own frames start
        # after the signal handler's.
        tramps = [i for i, f in enumerate(frames) if f.type() == gdb.SIGTRAMP_FRAME]
        if tramps:
            frames = frames[tramps[-1] + 1 :]
        api = None
        for frame in frames:
            name = frame.name() or "?"
            if _api_name(frame):
                api = _api_name(frame)
            elif not _is_runtime(frame):
                sal = frame.find_sal()
                place = "%s:%d" % (sal.symtab.filename, sal.line) if sal.symtab else "%#x" % frame.pc()
                return "%s at %s%s" % (name, place, " (in %s)" % api if api else "")
        return api or "?"
    finally:
        if regs is not None:
            _view.regs = None
            gdb.invalidate_cached_frames()
        saved_thread.switch()


class InfoGoroutines(gdb.Command):
    """List gort goroutines: id, state, name and where each one is.

A '*' marks the goroutine the selected thread runs."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        rt = Runtime()
        here = gdb.selected_thread().ptid[1] if gdb.selected_thread() else None
        rows = []
        for g in rt.goroutines():
            state = g.state(rt) + (", locked to thread" if g.locked else "")
            rows.append(("*" if g.tid is not None and g.tid == here else " ", str(g.id), state, g.name, _where(rt, g)))
        width_state = max([len(r[2]) for r in rows] + [5])
        width_name = max([len(r[3]) for r in rows] + [4])
        gdb.write("  %-6s %-*s %-*s %s\n" % ("Id", width_state, "State", width_name, "Name", "Where"))
        for mark, goid, state, name, where in rows:
            gdb.write("%s %-6s %-*s %-*s %s\n" % (mark, goid, width_state, state, width_name, name, where))


class GoroutineCmd(gdb.Command):
    """Run a command with the frame view on one goroutine: goroutine N CMD.

Example: goroutine 7 bt"""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        parts = arg.split(None, 1)
        if len(parts) < 2:
            raise gdb.GdbError("usage: goroutine N CMD (for instance: goroutine 7 bt)")
        try:
            goid = int(parts[0])
        except ValueError:
            raise gdb.GdbError("goroutine: %r is not a goroutine id" % parts[0])
        rt = Runtime()
        _run_in_goroutine(rt, rt.find(goid), parts[1])


InfoGoroutines()
GoroutineCmd()
