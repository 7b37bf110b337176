"""Goroutines, wait groups, stopping the world and introspection."""

from __future__ import annotations

import ctypes
import tempfile
import threading
import time
import types
from typing import Any, Dict, Optional, Type

from . import _wait
from ._errors import Timeout, check, error_for
from ._lib import GortAttr, GortStats, lib
from .channel import Channel

__all__ = [
    "WaitGroup",
    "dump",
    "go",
    "maxprocs",
    "num_goroutines",
    "stats",
    "stopped_world",
    "version",
]

_NOT_A_C_FUNCTION = (
    "gort.go() runs C functions only, and {what} is not one: a goroutine may be "
    "preempted by a signal at any instruction and resumed on another OS thread, "
    "which CPython's per-thread interpreter state (and the GIL) cannot survive, "
    "so Python code never runs on a goroutine. Write the goroutine's body in C "
    "(a function from a ctypes.CDLL, or its address as an int) and talk to it "
    "from Python threads through gort.Channel."
)

_CFuncPtr: Type[Any] = ctypes._CFuncPtr  # type: ignore[attr-defined]
_FUNCFLAG_PYTHONAPI: int = ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
_CArgObject: Type[Any] = type(ctypes.byref(ctypes.c_int()))


def _wraps_python_callable(function: Any, _depth: int = 0) -> bool:
    """True if a ctypes function pointer is (or was cast from) a Python callback.

    ctypes keeps what a function object was made from in ``_objects``: the
    CDLL for a library function, a ``CThunkObject`` (the trampoline into
    Python) for a ``CFUNCTYPE(...)(python_callable)``, and the source object
    after a :func:`ctypes.cast`.
    """
    if _depth > 8:
        return False
    objects = getattr(function, "_objects", None)
    if not isinstance(objects, dict):
        return False
    for kept in objects.values():
        if type(kept).__name__ == "CThunkObject":
            return True
        if isinstance(kept, _CFuncPtr) and _wraps_python_callable(kept, _depth + 1):
            return True
    return False


def _function_address(function: Any) -> int:
    """Return the address of the C function ``function`` designates, or raise TypeError."""
    if isinstance(function, bool):
        raise TypeError("gort.go() needs a C function, not a bool")
    if isinstance(function, int):
        if function <= 0:
            raise ValueError("gort.go() needs a C function address, not NULL or a negative int")
        return function
    if isinstance(function, _CFuncPtr):
        if _wraps_python_callable(function):
            raise TypeError(_NOT_A_C_FUNCTION.format(what=f"{function!r} (a ctypes callback around a Python callable)"))
        if function._flags_ & _FUNCFLAG_PYTHONAPI:
            raise TypeError(
                f"gort.go() cannot run {function!r}: it comes from a ctypes.PyDLL (such as "
                "ctypes.pythonapi), i.e. it needs the GIL, which a goroutine never holds. "
                "Load C libraries for goroutines with ctypes.CDLL."
            )
        address = ctypes.cast(function, ctypes.c_void_p).value
        if not address:
            raise ValueError("gort.go() got a NULL function pointer")
        return address
    if callable(function):
        raise TypeError(_NOT_A_C_FUNCTION.format(what=f"the Python callable {function!r}"))
    raise TypeError(f"gort.go() needs a C function pointer (ctypes) or an int address, not {type(function).__name__}")


#: What :func:`go` accepts as the goroutine's ``void *`` argument (see there).
GoArg = Any


def _goroutine_arg(arg: GoArg) -> Any:
    """Convert ``arg`` for the ``void *`` parameter; a Channel is retained for the goroutine."""
    if arg is None:
        return None
    if isinstance(arg, bool):
        raise TypeError("gort.go() arg cannot be a bool")
    if isinstance(arg, int):
        return arg
    if isinstance(arg, Channel):
        return arg.retained_ptr()
    if isinstance(arg, WaitGroup):
        return arg.ptr
    if isinstance(arg, (ctypes._Pointer, ctypes.Array, ctypes.c_void_p, _CArgObject)):
        return arg
    if isinstance(arg, (ctypes.Structure, ctypes.Union)):
        return ctypes.byref(arg)
    raise TypeError(
        "gort.go() arg must be None, an int address, a ctypes pointer, array, byref() or "
        f"structure, a gort.Channel or a gort.WaitGroup, not {type(arg).__name__}"
    )


def go(function: Any, arg: GoArg = None, *, name: Optional[str] = None, stack_size: int = 0) -> None:
    """Start a goroutine running the C function ``function(arg)``.

    Args:
        function: a C function ``void fn(void *)``: a function of a library
            loaded with :class:`ctypes.CDLL` (``ctypes.CDLL("libfoo.so").worker``),
            any other ctypes function pointer to C code, or the function's
            address as an int. Python callables, including ctypes callbacks
            made from them (``CFUNCTYPE(...)(py_function)``), raise
            :class:`TypeError`: goroutines may be preempted by a signal and
            move between OS threads, which CPython's thread state cannot
            survive, so Python code never runs on a goroutine. (A bare int
            address cannot be checked: never pass the address of a ctypes
            callback.)
        arg: the ``void *`` argument:

            * ``None``: NULL;
            * an ``int``: that address;
            * a ctypes pointer, array, ``c_void_p`` or :func:`ctypes.byref`
              result, or a Structure/Union instance (its address): the
              memory must stay alive (referenced from Python) for as long as
              the goroutine uses it;
            * a :class:`Channel`: its ``gort_chan*``, carrying a **new
              reference that the goroutine owns** and must drop with
              ``gort_chan_release`` when done. (Pass ``ch.ptr`` instead to
              lend the pointer without a reference.)
            * a :class:`WaitGroup`: its address (keep the WaitGroup alive).

        name: shown in traces and ``scheddetail`` (``gort_go_attr``).
        stack_size: stack size in bytes; 0 for the default.

    Raises:
        TypeError: ``function`` is not a C function, or ``arg`` of an unsupported type.
        ValueError: a NULL function, a bad stack size (``EINVAL``).
        OSError: the runtime could not start the goroutine (``ENOMEM``...).
    """
    address = _function_address(function)
    if isinstance(stack_size, bool) or not isinstance(stack_size, int) or stack_size < 0:
        raise ValueError(f"stack_size must be an int >= 0, not {stack_size!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, not {type(name).__name__}")
    c_arg = _goroutine_arg(arg)
    if name is None and stack_size == 0:
        code = lib.gort_go(address, c_arg)
    else:
        attr = GortAttr(stack_size, None if name is None else name.encode())
        code = lib.gort_go_attr(address, c_arg, ctypes.byref(attr))
    if code:
        # Not started: take back the reference meant for the goroutine.
        if isinstance(arg, Channel):
            lib.gort_chan_release(c_arg)
        raise error_for(code, "gort_go")


class WaitGroup:
    """Go's ``sync.WaitGroup``, over a C ``gort_waitgroup`` (zeroed memory owned by this object).

    C goroutines reach it through :attr:`ptr` (or by passing the WaitGroup
    itself to :func:`go` or to any ctypes function taking a pointer) and call
    ``gort_wg_done``. Keep the object alive until :meth:`wait` has returned
    and no goroutine touches it any more: its memory is freed with it.
    """

    # Room for struct gort_waitgroup: the C header declares it as an opaque
    # struct of fixed size. The test suite checks these bounds against the
    # header (tests/test_layout.py).
    _SIZE = 16
    _ALIGN = 16

    __slots__ = ("_storage", "_address")

    def __init__(self) -> None:
        # All-zero is a ready WaitGroup (GORT_WAITGROUP_INIT is {0}).
        self._storage = (ctypes.c_char * (self._SIZE + self._ALIGN))()
        base = ctypes.addressof(self._storage)
        self._address = (base + self._ALIGN - 1) & ~(self._ALIGN - 1)

    @property
    def ptr(self) -> int:
        """The ``gort_waitgroup*`` as an int (valid while this object lives)."""
        return self._address

    @property
    def _as_parameter_(self) -> int:
        return self._address

    def add(self, delta: int = 1) -> None:
        """Add ``delta`` (may be negative) to the counter.

        Raises:
            ValueError: the counter would go negative (``EINVAL``).
        """
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"delta must be an int, not {type(delta).__name__}")
        check(lib.gort_wg_add(self._address, delta), "WaitGroup.add")

    def done(self) -> None:
        """Decrement the counter by one.

        Raises:
            ValueError: the counter would go negative (``EINVAL``).
        """
        check(lib.gort_wg_done(self._address), "WaitGroup.done")

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until the counter is zero, up to ``timeout`` seconds (``None``: no limit).

        ``gort_wg_wait`` has no timeout, so a wait in the main thread or
        with a timeout runs it in a helper thread and waits for that thread
        interruptibly. A wait abandoned by a timeout or Ctrl-C leaves its
        helper thread blocked until the counter reaches zero.

        Raises:
            Timeout: the counter did not reach zero in time.
            ValueError: ``timeout`` is 0 or negative: the C API cannot test
                the counter without blocking.
        """
        timeout_ns = _wait.timeout_to_ns(timeout)
        if timeout_ns == 0:
            raise ValueError("WaitGroup.wait needs timeout=None or > 0: the counter cannot be polled")
        if timeout_ns < 0 and not _wait.in_main_thread():
            check(lib.gort_wg_wait(self._address), "WaitGroup.wait")
            return
        # gort_wg_wait has no timeout: let a helper thread make the call and
        # wait for it interruptibly here. If we give up (timeout, Ctrl-C), the
        # helper stays blocked until the counter reaches zero; it keeps this
        # object alive meanwhile.
        finished = threading.Event()
        result = []

        def waiter(group: WaitGroup = self) -> None:
            result.append(lib.gort_wg_wait(group._address))
            finished.set()

        threading.Thread(target=waiter, name="gort-waitgroup-wait", daemon=True).start()
        if timeout_ns < 0:
            while not finished.wait(_wait.SLICE_NS / 1e9):
                pass
        else:
            deadline = time.monotonic_ns() + timeout_ns
            while not finished.wait(min(timeout_ns, _wait.SLICE_NS) / 1e9):
                timeout_ns = deadline - time.monotonic_ns()
                if timeout_ns <= 0:
                    raise Timeout("WaitGroup.wait timed out")
        check(result[0], "WaitGroup.wait")

    def __repr__(self) -> str:
        return f"<gort.WaitGroup at {self._address:#x}>"

    def __reduce__(self) -> Any:
        raise TypeError("a gort.WaitGroup cannot be pickled or copied")

    def __copy__(self) -> Any:
        raise TypeError("a gort.WaitGroup cannot be copied (goroutines wait on its address)")

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__copy__()


class stopped_world:
    """Context manager: stop every goroutine for the duration of the block.

    ``with gort.stopped_world(): ...`` calls ``gort_stop_the_world`` on entry
    (it returns once no goroutine runs user code) and
    ``gort_start_the_world`` on exit, from the same thread. Python threads
    are not goroutines and keep running, so avoid waiting in the block on
    anything a goroutine must do (a channel a goroutine would fill...): it
    would wait until the world starts again, i.e. forever.

    Nesting it in the thread that holds the world stopped raises
    :class:`OSError` with ``errno.EDEADLK`` and changes nothing: the world
    stays stopped until the outer block ends.
    """

    def __enter__(self) -> "stopped_world":
        try:
            code = lib.gort_stop_the_world()
        except BaseException:
            # An asynchronous exception (KeyboardInterrupt) can only land
            # after the call returned, maybe with the world stopped; the exit
            # block would not run, so restart it here (EPERM if it was not).
            lib.gort_start_the_world()
            raise
        check(code, "gort_stop_the_world")
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[types.TracebackType],
    ) -> None:
        check(lib.gort_start_the_world(), "gort_start_the_world")


def maxprocs(n: Optional[int] = None) -> int:
    """Query or set the number of Ps (Go's ``GOMAXPROCS``).

    ``maxprocs()`` returns the current value; ``maxprocs(n)`` sets it to
    ``n >= 1`` and returns the previous value.

    Raises:
        ValueError: ``n < 1``.
    """
    if n is None:
        return int(lib.gort_maxprocs(0))
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int or None, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"maxprocs must be >= 1, not {n} (call maxprocs() to query)")
    if n > 2**31 - 1:
        raise ValueError(f"maxprocs {n} is out of range")
    return int(lib.gort_maxprocs(n))


def num_goroutines() -> int:
    """The number of live goroutines."""
    return int(lib.gort_num_goroutines())


def stats() -> Dict[str, int]:
    """A snapshot of the runtime's counters: every field of ``struct gort_stats``.

    Keys: ``goroutines``, ``spawned``, ``maxprocs``, ``threads``,
    ``preempt_async``, ``preempt_coop``, ``preempt_signals``,
    ``preempt_unsafe``, ``handoffs``, ``stw_count``, ``stw_last_ns``,
    ``stw_max_ns`` (docs/tuning.md, "The counters", says what each means).
    """
    raw = GortStats()
    check(lib.gort_read_stats(ctypes.byref(raw)), "gort_read_stats")
    return {field[0]: int(getattr(raw, field[0])) for field in GortStats._fields_}


def dump() -> str:
    """Every goroutine's state and stack, as text in Go's traceback shape.

    The text ``gort_dump`` writes: one block per goroutine, its id, state
    (the wait reason of a parked one) and name, then its frames innermost
    first as ``function(...) at file:line`` (where debug information
    exists), then ``created by`` the function that spawned it. The world is
    stopped only while the stacks are read. Python threads are not
    goroutines and do not appear.
    """
    with tempfile.TemporaryFile() as f:
        check(lib.gort_dump(f.fileno()), "gort_dump")
        f.seek(0)
        return f.read().decode("utf-8", "replace")


def version() -> str:
    """The C library's version string (``gort_version()``)."""
    raw = lib.gort_version()
    return raw.decode("utf-8", "replace") if raw else ""
