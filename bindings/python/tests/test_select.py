"""gort.select: ready cases, default, timeouts, send cases, closed and nil channels."""

from __future__ import annotations

import ctypes
import threading
import time
import unittest
from collections import Counter
from typing import List
from unittest import mock

import gort
import gort._wait
from gort_testlib import GortTestCase, Point, SendAfterArgs, helper, start_watchdog, stop_watchdog


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


def int_channel(cap: int = 0) -> gort.Channel:
    return gort.Channel(ctypes.c_int64, cap=cap)


class ReadyCasesTest(unittest.TestCase):
    def test_recv_case(self) -> None:
        a, b = int_channel(1), int_channel(1)
        b.send(42)
        self.assertEqual(gort.select([(a, gort.RECV), (b, gort.RECV)]), (1, 42))
        self.assertEqual(len(b), 0)

    def test_send_case(self) -> None:
        a, b = int_channel(0), int_channel(1)
        self.assertEqual(gort.select([(a, gort.SEND, 1), (b, gort.SEND, 2)], timeout=1), (1, None))
        self.assertEqual(b.recv(), 2)
        self.assertEqual(a.try_recv(), (False, None))

    def test_mixed_cases_only_the_chosen_one_happens(self) -> None:
        full, empty = int_channel(1), int_channel(1)
        full.send(5)
        index, value = gort.select([(full, gort.SEND, 6), (empty, gort.RECV), (full, gort.RECV)])
        self.assertEqual((index, value), (2, 5))
        self.assertEqual(len(full), 0)
        self.assertEqual(len(empty), 0)

    def test_structure_elements(self) -> None:
        points = gort.Channel(Point, cap=1)
        points.send(Point(3, 1.25, b"pt"))
        index, point = gort.select([(points, gort.RECV)])
        self.assertEqual((index, point.id, point.x, point.name), (0, 3, 1.25, b"pt"))
        self.assertEqual(gort.select([(points, gort.SEND, (4, 2.0, b"q"))]), (0, None))
        self.assertEqual(points.recv().name, b"q")

    def test_empty_element_channel(self) -> None:
        done = gort.Channel(None, cap=1)
        self.assertEqual(gort.select([(done, gort.SEND, None)]), (0, None))
        self.assertEqual(gort.select([(done, gort.RECV)]), (0, None))

    def test_ready_cases_are_chosen_at_random(self) -> None:
        a, b = int_channel(1), int_channel(1)
        counts: Counter = Counter()
        for _ in range(2000):
            a.try_send(1)
            b.try_send(2)
            index, value = gort.select([(a, gort.RECV), (b, gort.RECV)])
            self.assertEqual(value, index + 1)
            counts[index] += 1
        # Uniform: each ~1000; 800 is > 8 standard deviations away.
        self.assertGreater(counts[0], 800, counts)
        self.assertGreater(counts[1], 800, counts)

    def test_accepts_op_values_as_ints(self) -> None:
        ch = int_channel(1)
        self.assertEqual(gort.select([(ch, 1, 7)]), (0, None))
        self.assertEqual(gort.select([(ch, 2)]), (0, 7))


class DefaultAndTimeoutTest(unittest.TestCase):
    def test_default_case(self) -> None:
        a, b = int_channel(), int_channel(1)
        start = time.monotonic()
        self.assertEqual(gort.select([(a, gort.RECV), (a, gort.SEND, 1), (b, gort.RECV)], timeout=0), (-1, None))
        self.assertLess(time.monotonic() - start, 0.5)
        self.assertEqual((len(a), len(b)), (0, 0))

    def test_default_case_not_taken_when_ready(self) -> None:
        ch = int_channel(1)
        ch.send(8)
        self.assertEqual(gort.select([(ch, gort.RECV)], timeout=0), (0, 8))

    def test_no_cases(self) -> None:
        self.assertEqual(gort.select([], timeout=0), (-1, None))
        start = time.monotonic()
        with self.assertRaises(gort.Timeout):
            gort.select([], timeout=0.05)
        self.assertGreaterEqual(time.monotonic() - start, 0.05)

    def test_timeout(self) -> None:
        a = int_channel()
        start = time.monotonic()
        with self.assertRaises(gort.Timeout):
            gort.select([(a, gort.RECV), (a, gort.SEND, 1)], timeout=0.15)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.15)
        self.assertLess(elapsed, 2.0)

    def test_timeout_longer_than_a_slice(self) -> None:
        a = int_channel()
        with mock.patch.object(gort._wait, "SLICE_NS", 10_000_000):
            start = time.monotonic()
            with self.assertRaises(gort.Timeout):
                gort.select([(a, gort.RECV)], timeout=0.2)
            self.assertGreaterEqual(time.monotonic() - start, 0.2)

    def test_value_arriving_before_the_timeout(self) -> None:
        a, b = int_channel(), int_channel()
        timer = threading.Timer(0.15, b.send, (11,))
        timer.start()
        try:
            self.assertEqual(gort.select([(a, gort.RECV), (b, gort.RECV)], timeout=5), (1, 11))
        finally:
            timer.join(5)

    def test_timed_out_send_case_sends_nothing(self) -> None:
        ch = int_channel(1)
        ch.send(1)
        with self.assertRaises(gort.Timeout):
            gort.select([(ch, gort.SEND, 2)], timeout=0.05)
        self.assertEqual(ch.recv(), 1)
        self.assertEqual(ch.try_recv(), (False, None))


class NilAndClosedChannelsTest(unittest.TestCase):
    def test_nil_channel_is_never_ready(self) -> None:
        ch = int_channel(1)
        self.assertEqual(gort.select([(None, gort.RECV), (None, gort.SEND, 1)], timeout=0), (-1, None))
        ch.send(3)
        for _ in range(50):
            ch.try_send(3)
            self.assertEqual(gort.select([(None, gort.RECV), (ch, gort.RECV), (None, gort.SEND, 0)]), (1, 3))

    def test_closed_recv_case_raises_with_index(self) -> None:
        open_, closed = int_channel(), int_channel()
        closed.close()
        with self.assertRaises(gort.ChannelClosed) as caught:
            gort.select([(open_, gort.RECV), (closed, gort.RECV)])
        self.assertEqual(caught.exception.index, 1)
        self.assertIs(caught.exception.channel, closed)

    def test_closed_channel_drains_first(self) -> None:
        ch = int_channel(2)
        ch.send(1)
        ch.close()
        self.assertEqual(gort.select([(ch, gort.RECV)]), (0, 1))
        with self.assertRaises(gort.ChannelClosed):
            gort.select([(ch, gort.RECV)], timeout=0)

    def test_closed_send_case_raises(self) -> None:
        ch = int_channel(1)
        ch.close()
        with self.assertRaises(gort.ChannelClosed) as caught:
            gort.select([(None, gort.RECV), (ch, gort.SEND, 1)], timeout=1)
        self.assertEqual(caught.exception.index, 1)

    def test_close_wakes_a_blocked_select(self) -> None:
        a, b = int_channel(), int_channel()
        timer = threading.Timer(0.1, b.close)
        timer.start()
        try:
            with self.assertRaises(gort.ChannelClosed) as caught:
                gort.select([(a, gort.RECV), (b, gort.RECV)], timeout=10)
            self.assertEqual(caught.exception.index, 1)
        finally:
            timer.join(5)

    def test_merge_until_all_closed(self) -> None:
        # The documented idiom: drop a case once its channel is closed.
        sources = [int_channel(4) for _ in range(3)]
        for n, ch in enumerate(sources):
            for i in range(n + 2):
                ch.send(n * 100 + i)
            ch.close()
        cases: List[tuple] = [(ch, gort.RECV) for ch in sources]
        merged = []
        while cases:
            try:
                _, value = gort.select(cases, timeout=5)
            except gort.ChannelClosed as closed:
                assert closed.index is not None
                del cases[closed.index]
                continue
            merged.append(value)
        self.assertEqual(sorted(merged), [0, 1, 100, 101, 102, 200, 201, 202, 203])


class GoroutinesTest(GortTestCase):
    def test_woken_by_a_c_goroutine(self) -> None:
        a, b = int_channel(), int_channel()
        args = SendAfterArgs(b.retained_ptr(), 100_000_000, 1234)
        gort.go(helper().helper_send_after, args)
        start = time.monotonic()
        self.assertEqual(gort.select([(a, gort.RECV), (b, gort.RECV)], timeout=10), (1, 1234))
        self.assertGreaterEqual(time.monotonic() - start, 0.09)
        self.assertGoroutinesFinish()

    def test_no_loss_or_duplication_across_slices(self) -> None:
        # Two C producers, a select loop in the main thread cut into tiny
        # slices: every value exactly once, in each producer's order.
        from gort_testlib import ProduceArgs

        a, b = int_channel(), int_channel(2)
        args = [
            ProduceArgs(ch=a.retained_ptr(), start=0, count=3000, close_when_done=1),
            ProduceArgs(ch=b.retained_ptr(), start=10_000, count=3000, close_when_done=1),
        ]
        for arg in args:
            gort.go(helper().helper_produce, arg)
        got: List[List[int]] = [[], []]
        cases: List[tuple] = [(a, gort.RECV), (b, gort.RECV)]
        with mock.patch.object(gort._wait, "SLICE_NS", 20_000):
            while any(case[0] is not None for case in cases):
                try:
                    index, value = gort.select(cases, timeout=10)
                except gort.ChannelClosed as closed:
                    assert closed.index is not None
                    cases[closed.index] = (None, gort.RECV)  # switch the case off
                    continue
                got[index].append(value)
        self.assertEqual(got[0], list(range(3000)))
        self.assertEqual(got[1], list(range(10_000, 13_000)))
        self.assertGoroutinesFinish()


class BadCasesTest(unittest.TestCase):
    def test_bad_cases(self) -> None:
        ch = int_channel(1)
        bad_cases = [
            (TypeError, [ch]),  # not a tuple
            (TypeError, [[ch, gort.RECV]]),  # a list, not a tuple
            (TypeError, [(ch,)]),
            (TypeError, [("channel", gort.RECV)]),
            (TypeError, [(ch, gort.RECV, 1)]),
            (TypeError, [(ch, gort.SEND)]),
            (ValueError, [(ch, 3)]),
            (ValueError, [(ch, "recv")]),
            (TypeError, [(ch, gort.SEND, "not an int")]),
        ]
        for expected, cases in bad_cases:
            with self.subTest(cases=cases), self.assertRaises(expected):
                gort.select(cases, timeout=0)  # type: ignore[arg-type]
        self.assertEqual(len(ch), 0, "a rejected select must not have sent anything")

    def test_bad_timeouts(self) -> None:
        ch = int_channel(1)
        with self.assertRaises(ValueError):
            gort.select([(ch, gort.RECV)], timeout=-0.5)


if __name__ == "__main__":
    unittest.main()
