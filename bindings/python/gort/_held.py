"""Values taken by a cancelled asynchronous receive, kept for the next receiver.

An asynchronous receive (``recv_async``, ``select_async``, ``async for``)
waits in a helper thread, inside gort. Its cancellation closes a channel the
helper's select also waits on, so a receive that had not happened yet never
happens. But the helper may have taken a value in the instant before: the
value is then in Python's hands, and the task that asked for it is gone.

Such a value is held here, as its bytes, for the **next receive made through
this package on that channel** -- any of ``recv``, ``try_recv``, ``select``,
iteration and their asynchronous forms, in any thread -- which takes it
before anything still in the channel. It was taken before those, so FIFO
order holds. Pending asynchronous receives on the channel are poked at once
to come and take it (a receive already blocked in a *thread* sees it on its
next call). ``len(ch)`` counts held values.

Values are ordered by when they were taken (:func:`stamp`, drawn right after
the C call returns), not by when their receive was cancelled. A channel
with values held keeps a reference, so that its address cannot be reused
by another channel before they are taken.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from ._lib import lib

__all__ = ["count", "hold", "stamp", "take", "unwatch", "watch"]

_lock = threading.Lock()
# chan address -> [(stamp, element bytes)], oldest first.
_values: Dict[int, List[Tuple[int, bytes]]] = {}
# chan address -> pokes of the asynchronous receives waiting on it.
_watchers: Dict[int, Set[Callable[[], None]]] = {}
_stamps = itertools.count()


def stamp() -> int:
    """A number ordering values by when they were taken."""
    return next(_stamps)


def hold(chan: int, when: int, raw: bytes) -> None:
    """Keep ``raw``, taken from ``chan`` at ``when``, and poke its waiting receives."""
    with _lock:
        if chan not in _values:
            lib.gort_chan_retain(chan)
        bisect.insort(_values.setdefault(chan, []), (when, raw))
        # Under the lock: a poke touches a channel its owner frees once it
        # has unwatched, which it does under this lock too.
        for poke in _watchers.get(chan, ()):
            poke()


def take(chans: Iterable[int]) -> Optional[Tuple[int, int, bytes]]:
    """The oldest value held for any of ``chans``, as ``(chan, stamp, bytes)``, removed."""
    if not _values:  # the common case, without the lock
        return None
    with _lock:
        best: Optional[Tuple[int, int]] = None
        for chan in chans:
            held = _values.get(chan)
            if held and (best is None or held[0][0] < best[1]):
                best = (chan, held[0][0])
        if best is None:
            return None
        chan = best[0]
        when, raw = _values[chan].pop(0)
        drained = not _values[chan]
        if drained:
            del _values[chan]
    if drained:
        lib.gort_chan_release(chan)
    return chan, when, raw


def count(chan: int) -> int:
    """How many values are held for ``chan``."""
    if not _values:
        return 0
    with _lock:
        return len(_values.get(chan, ()))


def watch(chans: Iterable[int], poke: Callable[[], None]) -> None:
    """Call ``poke`` (under the lock, so it must not block) when a value is held for one of ``chans``."""
    with _lock:
        for chan in chans:
            _watchers.setdefault(chan, set()).add(poke)


def unwatch(chans: Iterable[int], poke: Callable[[], None]) -> None:
    """Undo :func:`watch`; once it returns, ``poke`` is never called again."""
    with _lock:
        for chan in chans:
            pokes = _watchers.get(chan)
            if pokes is not None:
                pokes.discard(poke)
                if not pokes:
                    del _watchers[chan]
