"""Blocking calls that still let the main thread see Ctrl-C.

CPython runs Python signal handlers (the one that raises
:class:`KeyboardInterrupt`, for instance) only in the main thread, and only
between bytecodes: never while that thread sits inside a C call. A blocking
gort call made from the main thread is therefore cut into slices of at most
:data:`SLICE_NS` nanoseconds, using the C API's timed variants; between two
slices the interpreter gets control back and runs pending handlers.

This never loses or duplicates a value: in gort an operation that times out
has had no effect (nothing sent, nothing consumed), so the next slice simply
tries again. Other threads cannot receive signals in CPython, so they make a
single call that blocks for the whole timeout, with the GIL released.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Optional

__all__ = ["FOREVER", "SLICE_NS", "blocking_call", "in_main_thread", "timeout_to_ns"]

#: The C API's "wait forever" timeout.
FOREVER = -1

#: Longest single wait made by the main thread: the upper bound on how late
#: a Ctrl-C is noticed during a blocking call (50 ms).
SLICE_NS = 50_000_000


def timeout_to_ns(timeout: Optional[float]) -> int:
    """Convert a timeout in seconds to the C API's nanoseconds.

    ``None`` (and ``math.inf``) mean "wait forever" (``-1``), ``0`` means "never
    block". Positive values are rounded *up* to whole nanoseconds, so a
    timeout never expires early. Negative or NaN timeouts raise ValueError,
    as :meth:`queue.Queue.get` does.
    """
    if timeout is None:
        return FOREVER
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be None or a number of seconds, not {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be None or >= 0 seconds, not {timeout!r}")
    if math.isinf(timeout):
        return FOREVER
    if isinstance(timeout, int):
        return timeout * 1_000_000_000
    return math.ceil(timeout * 1e9)


def in_main_thread() -> bool:
    """True when called from the interpreter's main thread."""
    return threading.current_thread() is threading.main_thread()


def blocking_call(attempt: Callable[[int], int], timeout_ns: int, timed_out: int) -> int:
    """Run a blocking gort operation, interruptibly when in the main thread.

    Args:
        attempt: makes one attempt that waits at most the given number of
            nanoseconds (``-1``: forever, ``0``: do not block) and returns the
            C result.
        timeout_ns: the caller's timeout in the C API's convention.
        timed_out: the result ``attempt`` returns when it timed out.

    Returns:
        The result of the last attempt: ``timed_out`` once ``timeout_ns``
        has fully elapsed, anything else as soon as an attempt returns it.
        Signal handlers (and so :class:`KeyboardInterrupt`) may raise between
        two attempts.
    """
    if timeout_ns == 0 or not in_main_thread():
        return attempt(timeout_ns)
    if timeout_ns < 0:
        while True:
            result = attempt(SLICE_NS)
            if result != timed_out:
                return result
            # Looping back to the call lets the interpreter run signal handlers.
    deadline = time.monotonic_ns() + timeout_ns
    while True:
        result = attempt(min(timeout_ns, SLICE_NS))
        if result != timed_out:
            return result
        timeout_ns = deadline - time.monotonic_ns()
        if timeout_ns <= 0:
            return timed_out
