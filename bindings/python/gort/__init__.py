"""gort for Python: Go's channels and select over the gort C runtime, with ctypes.

gort gives C programs goroutines, channels, ``select`` and an M:N scheduler
with asynchronous preemption. This package lets Python share that world:

* :class:`Channel` -- channels of any ctypes type, usable from Python
  threads and C goroutines alike; :func:`select` over several of them.
* :func:`go` -- start a goroutine running a **C** function. Python callables
  never run on a goroutine (it may be preempted by a signal at any point and
  resume on another OS thread, which CPython's thread state cannot survive):
  passing one raises :class:`TypeError`.
* asyncio: ``await ch.recv_async()``, ``await ch.send_async(v)``,
  ``async for v in ch``, :func:`select_async`; the event loop never blocks
  and cancellation never loses a value (``gort._async``).
* :class:`WaitGroup`, :class:`stopped_world`, :func:`maxprocs`,
  :func:`stats`, :func:`version`, :func:`num_goroutines`, and :func:`dump`
  (every goroutine's stack, as Go prints it on SIGQUIT).

Every blocking call releases the GIL (the library is loaded with a plain
:class:`ctypes.CDLL`), so Python threads and goroutines run in parallel. In
the main thread, blocking calls wait in short slices so that Ctrl-C raises
:class:`KeyboardInterrupt` promptly, without losing or duplicating values.

The C library is found through ``$GORT_LIBRARY`` (a path), then the one
bundled with the package (``gort/_native.abi3.so``, built by ``pip
install``), then, in a checkout, its ``target/release`` and ``target/debug``
directories, then a system-wide ``libgort.so``; :data:`library_path` is the
one in use (``gort._lib`` has the details).

Example::

    import ctypes, gort
    helpers = ctypes.CDLL("./libproducers.so")   # void produce(void *chan)
    ch = gort.Channel(ctypes.c_int64, cap=16)
    gort.go(helpers.produce, ch)                 # the goroutine owns a reference
    for value in ch:                             # until it closes the channel
        print(value)
"""

from __future__ import annotations

from ._async import select_async, sent_before_cancel
from ._errors import ChannelClosed, Timeout
from ._lib import lib, library_path
from .channel import RECV, SEND, Channel, Op, select
from .runtime import WaitGroup, dump, go, maxprocs, num_goroutines, stats, stopped_world, version

__version__ = "0.1.0"

__all__ = [
    "RECV",
    "SEND",
    "Channel",
    "ChannelClosed",
    "Op",
    "Timeout",
    "WaitGroup",
    "dump",
    "go",
    "lib",
    "library_path",
    "maxprocs",
    "num_goroutines",
    "select",
    "select_async",
    "sent_before_cancel",
    "stats",
    "stopped_world",
    "version",
]
