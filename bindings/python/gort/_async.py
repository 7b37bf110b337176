"""asyncio: channel operations that never block the event loop.

``await ch.recv_async()``, ``await ch.send_async(v)``, ``async for v in ch``
and ``await gort.select_async(cases, timeout=...)`` all come down to
:func:`run_cases`, which runs one ``gort_select`` over the operation's cases:

1. In the event loop's thread, without blocking: a value held from a
   cancelled receive (:mod:`gort._held`) completes a RECV case at once;
   otherwise ``gort_select`` with a zero timeout. Most operations on a busy
   channel end here.
2. Otherwise a helper thread (one per pending operation: a fixed pool could
   fill up with receives waiting for a send queued behind them) makes the
   blocking ``gort_select`` over the cases plus one more: a RECV case on a
   private *wake* channel (empty elements, capacity 1). A token sent into
   it means "a value was held for one of your RECV channels: look again";
   closing it means "cancelled". The helper hands the outcome to the loop
   with ``call_soon_threadsafe``; the GIL is released while it waits.
3. Cancellation (``task.cancel()``, :func:`asyncio.wait_for`'s timeout,
   a TaskGroup) closes the wake channel, then waits -- shielded, and only
   as long as the helper takes to return, since its select is woken at
   once -- to learn what happened, and raises :class:`asyncio.CancelledError`
   whatever it was, as asyncio's own primitives do:

   * nothing happened: the operation never took place;
   * a RECV case completed in the instant before: the value is held for the
     next receiver on that channel, ahead of anything still in it
     (:mod:`gort._held`), so no value is lost and FIFO order holds;
   * a SEND case completed in the instant before: a send cannot be undone,
     so the :class:`~asyncio.CancelledError` reports it (its ``gort_sent``
     attribute; :func:`sent_before_cancel` finds it, also behind the
     :class:`TimeoutError` of ``wait_for``).

   If the coroutine is abandoned without being cancelled (closed by the
   garbage collector), the helper thread holds any value it received.

Waiting on channels through an eventfd that the loop polls would need no
threads; the semantics above would stay.
"""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from typing import Any, List, Optional, Sequence, Tuple

from . import _held, _wait
from ._lib import lib
from .channel import Op, SelectCase, _Cases

__all__ = ["run_cases", "select_async", "sent_before_cancel"]

#: ``gort_sent`` attribute of a CancelledError whose operation had sent.
_SENT_ATTRIBUTE = "gort_sent"


class _Pending:
    """One operation waiting in its helper thread."""

    __slots__ = (
        "cases",
        "timeout_ns",
        "wake",
        "recv_chans",
        "lock",
        "chosen",
        "stamp",
        "error",
        "state",
        "loop",
        "finished",
    )

    def __init__(self, cases: _Cases, timeout_ns: int, loop: asyncio.AbstractEventLoop):
        self.cases, self.timeout_ns, self.loop = cases, timeout_ns, loop
        # Owned by the helper thread, which releases it when it is done;
        # others touch it only while `state` says the helper runs (poke and
        # cancel hold `lock` or the held-values lock).
        self.wake = lib.gort_chan_make(0, 1)
        if not self.wake:
            raise MemoryError("gort: cannot make the wake-up channel of an asynchronous operation")
        wake = cases.array[cases.count]
        wake.chan, wake.op, wake.elem = self.wake, int(Op.RECV), None
        self.recv_chans = cases.recv_chans()
        self.lock = threading.Lock()
        self.chosen: Optional[int] = None
        self.stamp = 0
        self.error: Optional[BaseException] = None
        self.state = "waiting"  # -> "done" (helper finished); "abandoned" (nobody will read the outcome)
        self.finished = loop.create_future()

    # -- the helper thread -----------------------------------------------

    def run(self) -> None:
        _held.watch(self.recv_chans, self.poke)
        try:
            chosen, when = self.wait()
        except BaseException as exc:  # reported to the coroutine, which must not wait forever
            chosen, when, self.error = None, 0, exc
        finally:
            _held.unwatch(self.recv_chans, self.poke)
        with self.lock:
            self.chosen, self.stamp = chosen, when
            abandoned = self.state == "abandoned"
            self.state = "done"
            lib.gort_chan_release(self.wake)
        if abandoned:
            self.settle_abandoned()
            return
        try:
            self.loop.call_soon_threadsafe(self.report)
        except RuntimeError:  # the loop is closed: nobody will read the outcome
            self.settle_abandoned()

    def wait(self) -> Tuple[int, int]:
        """``(gort_select's result, stamp)``; the wake case's index if cancelled."""
        cases, count = self.cases, self.cases.count
        deadline = None if self.timeout_ns < 0 else time.monotonic_ns() + self.timeout_ns
        while True:
            held = cases.take_held()
            if held is not None:
                return held
            remaining = _wait.FOREVER if deadline is None else max(0, deadline - time.monotonic_ns())
            chosen = int(lib.gort_select(cases.array, count + 1, remaining))
            when = _held.stamp()
            if chosen == -errno.EAGAIN:  # the deadline had passed when the slice began
                chosen = -errno.ETIMEDOUT
            if chosen != count:
                return chosen, when
            if cases.array[count].result == errno.EPIPE:
                return chosen, when  # cancelled: the wake channel is closed
            # Poked: a value was held for a RECV channel; look again.

    def poke(self) -> None:
        lib.gort_chan_try_send(self.wake, None)

    def report(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    # -- the coroutine's side ----------------------------------------------

    def cancel(self) -> None:
        """Wake the helper with "cancelled" (harmless once it is done)."""
        with self.lock:
            if self.state != "done":
                lib.gort_chan_close(self.wake)

    def abandon(self) -> None:
        """Nobody will read the outcome: whoever finishes last settles it."""
        with self.lock:
            if self.state == "done":
                settle = True
            else:
                self.state, settle = "abandoned", False
                lib.gort_chan_close(self.wake)
        if settle:
            self.settle_abandoned()

    def settle_abandoned(self) -> bool:
        """Hold the value a cancelled or abandoned operation received; True if it had sent instead."""
        chosen = self.chosen
        if chosen is None or not 0 <= chosen < self.cases.count:
            return False
        case = self.cases.array[chosen]
        if case.result != 0:
            return False
        if case.op == Op.RECV:
            raw = self.cases.received_bytes(chosen)
            _held.hold(case.chan, self.stamp, raw if raw is not None else b"")
            return False
        return True


async def run_cases(cases: _Cases, timeout_ns: int) -> Tuple[int, Any]:
    """Perform ``cases`` (built with one spare case) as :func:`gort.select` would, awaiting.

    See the module documentation for the steps and the cancellation rules.
    """
    held = cases.take_held()
    if held is not None:
        return cases.outcome(held[0])
    chosen = int(lib.gort_select(cases.array, cases.count, 0))
    if chosen != -errno.EAGAIN or timeout_ns == 0:
        return cases.outcome(chosen)

    pending = _Pending(cases, timeout_ns, asyncio.get_running_loop())
    threading.Thread(target=pending.run, name="gort-async", daemon=True).start()
    cancelled: Optional[BaseException] = None
    try:
        while True:
            try:
                await asyncio.shield(pending.finished)
                break
            except asyncio.CancelledError as exc:
                # Keep waiting, briefly: the helper returns as soon as the
                # wake channel is closed (or has just done the operation).
                if cancelled is None:
                    cancelled = exc
                    pending.cancel()
    except BaseException:  # not a cancellation (GeneratorExit...): leave it to the helper
        pending.abandon()
        raise
    if pending.error is not None:
        raise pending.error
    if cancelled is not None:
        if pending.settle_abandoned():
            setattr(cancelled, _SENT_ATTRIBUTE, True)
            if not cancelled.args:
                cancelled.args = ("gort: the value was sent before the cancellation took effect",)
        raise cancelled
    assert pending.chosen is not None
    if pending.chosen == cases.count:  # the wake case, yet nobody cancelled
        raise AssertionError("gort: an asynchronous operation woke as cancelled without a cancellation")
    return cases.outcome(pending.chosen)


async def select_async(cases: Sequence[SelectCase], timeout: Optional[float] = None) -> Tuple[int, Any]:
    """:func:`gort.select` for asyncio: the same cases, results and errors, without blocking the loop.

    ``timeout`` as for :func:`gort.select`: ``None`` waits forever, ``0`` is
    Go's ``default`` (``(-1, None)`` if no case is ready), ``t > 0`` raises
    :class:`gort.Timeout` once at least ``t`` seconds passed. Cancellation
    never loses a value: see :func:`sent_before_cancel` and the
    ``gort._async`` module documentation.
    """
    return await run_cases(_Cases(cases, spare=1), _wait.timeout_to_ns(timeout))


def sent_before_cancel(exc: Optional[BaseException]) -> bool:
    """Whether ``exc`` reports a cancelled ``send_async``/``select_async`` whose value was sent.

    A send cannot be undone: when the cancellation of a ``send_async`` (or of
    a ``select_async`` that chose a SEND case) arrives in the instant the
    send completes, the :class:`asyncio.CancelledError` is raised all the
    same and carries this mark. ``exc`` may also be an exception raised from
    it, such as the :class:`TimeoutError` of :func:`asyncio.wait_for`.
    """
    seen: List[int] = []
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, asyncio.CancelledError) and getattr(exc, _SENT_ATTRIBUTE, False):
            return True
        seen.append(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
