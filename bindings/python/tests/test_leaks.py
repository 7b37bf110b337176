"""Channel references are released: no C channel outlives its last owner.

gort does not expose reference counts, so the tests make leaks expensive and
measure memory: each round makes a channel with a 64 KiB buffer (64 elements
of 1 KiB), fills the buffer so its pages are resident, and drops every
reference it handed out. 1500 rounds leak ~94 MiB of resident memory if a
single reference per round is kept, and ~0 when every reference is
released (freed buffers are reused). A control test leaks on purpose, to show
the measurement sees it.
"""

from __future__ import annotations

import ctypes
import gc
import unittest
from typing import Callable

import gort
from gort_testlib import GortTestCase, ProduceArgs, helper, rss_bytes, start_watchdog, stop_watchdog

ELEMENT = ctypes.c_char * 1024
CAP = 64
ROUNDS = 1500
LEAKED_IF_KEPT = ROUNDS * CAP * ctypes.sizeof(ELEMENT)  # ~94 MiB
TOLERANCE = 24 * 1024 * 1024
FILLER = b"\xa5" * ctypes.sizeof(ELEMENT)


def setUpModule() -> None:
    start_watchdog()
    helper()


def tearDownModule() -> None:
    stop_watchdog()


def growth(round_: Callable[[], None]) -> int:
    """Resident memory growth over ROUNDS calls of ``round_`` (after a warm-up)."""
    for _ in range(50):
        round_()
    gc.collect()
    before = rss_bytes()
    for _ in range(ROUNDS):
        round_()
    gc.collect()
    return rss_bytes() - before


def fill(ch: gort.Channel) -> None:
    while ch.try_send(FILLER):
        pass


class ReferenceLeakTest(GortTestCase):
    def assertNoLeak(self, round_: Callable[[], None]) -> None:
        grown = growth(round_)
        self.assertLess(grown, TOLERANCE, f"resident memory grew by {grown / 2**20:.1f} MiB: channels leak")

    def test_control_a_kept_reference_is_seen(self) -> None:
        kept = []

        def leaky_round() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            kept.append(ch.retained_ptr())  # one reference never released

        grown = growth(leaky_round)
        for ptr in kept:  # clean up, releasing the memory
            gort.lib.gort_chan_release(ptr)
        self.assertGreater(grown, LEAKED_IF_KEPT // 2, "the leak detector cannot see a leaked channel")

    def test_dropping_a_channel_frees_it(self) -> None:
        def round_() -> None:
            fill(gort.Channel(ELEMENT, cap=CAP))

        self.assertNoLeak(round_)

    def test_closed_channels_are_freed(self) -> None:
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            ch.close()
            ch.recv()

        self.assertNoLeak(round_)

    def test_from_ptr_and_copies_are_released(self) -> None:
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            other = gort.Channel.from_ptr(ch.ptr, ELEMENT)
            adopted = gort.Channel.from_ptr(ch.retained_ptr(), ELEMENT, retain=False)
            del ch, other, adopted

        self.assertNoLeak(round_)

    def test_goroutine_reference_is_released(self) -> None:
        # go(fn, channel) retains for the goroutine; helper_fill_close
        # fills the buffer, closes the channel and releases its reference.
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            gort.go(helper().helper_fill_close, ch)
            for _ in ch:  # until the goroutine closed it
                pass

        self.assertNoLeak(round_)
        self.assertGoroutinesFinish()

    def test_retained_pointer_in_a_struct_is_released(self) -> None:
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            ch.close()
            # The producer fails at once (EPIPE) and releases its reference.
            args = ProduceArgs(ch=ch.retained_ptr(), start=0, count=1, close_when_done=0)
            wg = gort.WaitGroup()
            wg.add(1)
            args.wg = wg.ptr
            gort.go(helper().helper_produce, args)
            wg.wait(timeout=10)

        self.assertNoLeak(round_)
        self.assertGoroutinesFinish()

    def test_select_does_not_keep_references(self) -> None:
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            gort.select([(ch, gort.RECV), (ch, gort.SEND, FILLER)], timeout=0)

        self.assertNoLeak(round_)

    def test_failed_go_returns_the_goroutine_reference(self) -> None:
        # An absurd stack size makes gort_go_attr fail (ENOMEM or EINVAL);
        # the reference go() took for the goroutine must be given back.
        def round_() -> None:
            ch = gort.Channel(ELEMENT, cap=CAP)
            fill(ch)
            try:
                gort.go(helper().helper_fill_close, ch, stack_size=2**62)
            except (OSError, ValueError):
                return
            raise AssertionError("gort_go_attr accepted a 4 EiB stack")

        self.assertNoLeak(round_)


if __name__ == "__main__":
    unittest.main()
