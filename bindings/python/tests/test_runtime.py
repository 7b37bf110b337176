"""WaitGroup, stopped_world, maxprocs, stats, version, num_goroutines."""

from __future__ import annotations

import copy
import ctypes
import errno
import threading
import time
import unittest
from typing import List

import gort
from gort_testlib import GortTestCase, SleepDoneArgs, SpinArgs, helper, start_watchdog, stop_watchdog, wait_until

STATS_FIELDS = {
    "goroutines",
    "spawned",
    "maxprocs",
    "threads",
    "preempt_async",
    "preempt_coop",
    "preempt_signals",
    "preempt_unsafe",
    "handoffs",
    "stw_count",
    "stw_last_ns",
    "stw_max_ns",
}


def setUpModule() -> None:
    start_watchdog()
    helper()


def tearDownModule() -> None:
    stop_watchdog()


class WaitGroupTest(GortTestCase):
    def test_python_only(self) -> None:
        wg = gort.WaitGroup()
        wg.wait(timeout=1)  # zero value: nothing to wait for
        with self.assertRaises(ValueError):
            wg.wait(timeout=0)
        wg.add(2)
        wg.done()
        with self.assertRaises(gort.Timeout):
            wg.wait(timeout=0.05)
        wg.done()
        wg.wait(timeout=1)
        wg.wait()

    def test_counter_cannot_go_negative(self) -> None:
        wg = gort.WaitGroup()
        with self.assertRaises(ValueError):
            wg.done()
        with self.assertRaises(ValueError):
            wg.add(-1)
        wg.add(3)
        with self.assertRaises(ValueError):
            wg.add(-4)
        wg.add(-3)
        wg.wait(timeout=1)
        with self.assertRaises(TypeError):
            wg.add(1.0)  # type: ignore[arg-type]

    def test_goroutines_finish(self) -> None:
        wg = gort.WaitGroup()
        args = [SleepDoneArgs(wg.ptr, 50_000_000 + i * 10_000_000) for i in range(5)]
        wg.add(len(args))
        start = time.monotonic()
        for a in args:
            gort.go(helper().helper_sleep_done, a)
        wg.wait(timeout=10)
        self.assertGreaterEqual(time.monotonic() - start, 0.09)
        self.assertGoroutinesFinish()

    def test_wait_in_another_thread(self) -> None:
        wg = gort.WaitGroup()
        wg.add(1)
        finished: List[float] = []

        def waiter() -> None:
            wg.wait()
            finished.append(time.monotonic())

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        time.sleep(0.05)
        self.assertEqual(finished, [])
        released = time.monotonic()
        wg.done()
        thread.join(5)
        self.assertEqual(len(finished), 1)
        self.assertGreaterEqual(finished[0], released)

    def test_timeout_leaves_the_waitgroup_usable(self) -> None:
        wg = gort.WaitGroup()
        wg.add(1)
        start = time.monotonic()
        with self.assertRaises(gort.Timeout):
            wg.wait(timeout=0.1)
        self.assertGreaterEqual(time.monotonic() - start, 0.1)
        wg.done()
        wg.wait(timeout=5)

    def test_address_is_aligned_and_stable(self) -> None:
        wg = gort.WaitGroup()
        self.assertEqual(wg.ptr % 16, 0)
        self.assertEqual(wg.ptr, wg.ptr)
        with self.assertRaises(TypeError):
            copy.copy(wg)


class StoppedWorldTest(GortTestCase):
    def start_spinner(self) -> tuple:
        wg = gort.WaitGroup()
        spin = SpinArgs(0, 0, wg.ptr)
        wg.add(1)
        gort.go(helper().helper_spin, spin)
        self.assertTrue(wait_until(lambda: spin.counter > 0, 10), "the spinning goroutine never ran")
        return spin, wg

    def stop_spinner(self, spin: SpinArgs, wg: gort.WaitGroup) -> None:
        spin.stop = 1
        wg.wait(timeout=10)

    def test_goroutines_do_not_run_while_stopped(self) -> None:
        spin, wg = self.start_spinner()
        try:
            before = gort.stats()["stw_count"]
            with gort.stopped_world():
                frozen = spin.counter
                time.sleep(0.1)
                self.assertEqual(spin.counter, frozen, "a goroutine ran user code in a stopped world")
            self.assertTrue(wait_until(lambda: spin.counter > frozen, 10), "the world did not start again")
            self.assertGreaterEqual(gort.stats()["stw_count"], before + 1)
        finally:
            self.stop_spinner(spin, wg)
        self.assertGoroutinesFinish()

    def test_world_restarts_after_an_exception(self) -> None:
        spin, wg = self.start_spinner()
        try:
            with self.assertRaises(RuntimeError):
                with gort.stopped_world():
                    frozen = spin.counter
                    raise RuntimeError("boom")
            self.assertTrue(wait_until(lambda: spin.counter > frozen, 10), "the world did not start again")
        finally:
            self.stop_spinner(spin, wg)

    def test_nested_stop_by_the_holder_is_edeadlk_and_changes_nothing(self) -> None:
        spin, wg = self.start_spinner()
        try:
            with gort.stopped_world():
                frozen = spin.counter
                with self.assertRaises(OSError) as caught:
                    with gort.stopped_world():
                        self.fail("a nested stop entered its block")
                self.assertEqual(caught.exception.errno, errno.EDEADLK)
                time.sleep(0.05)
                self.assertEqual(spin.counter, frozen, "the failed nested stop let goroutines run")
            self.assertTrue(wait_until(lambda: spin.counter > frozen, 10), "the world did not start again")
            with self.assertRaises(PermissionError):  # the one stop had its one start
                gort.stopped_world().__exit__(None, None, None)
        finally:
            self.stop_spinner(spin, wg)

    def test_stats_record_the_stop(self) -> None:
        with gort.stopped_world():
            pass
        s = gort.stats()
        self.assertGreaterEqual(s["stw_count"], 1)
        self.assertGreaterEqual(s["stw_max_ns"], s["stw_last_ns"])

    def test_start_without_stop_is_refused(self) -> None:
        world = gort.stopped_world()
        with self.assertRaises(PermissionError):  # EPERM
            world.__exit__(None, None, None)


class MaxprocsTest(unittest.TestCase):
    def test_query_set_restore(self) -> None:
        original = gort.maxprocs()
        self.assertGreaterEqual(original, 1)
        try:
            self.assertEqual(gort.maxprocs(2), original)
            self.assertEqual(gort.maxprocs(), 2)
            self.assertEqual(gort.stats()["maxprocs"], 2)
            self.assertEqual(gort.maxprocs(1), 2)
            self.assertEqual(gort.maxprocs(), 1)
        finally:
            gort.maxprocs(original)
        self.assertEqual(gort.maxprocs(), original)

    def test_bad_values(self) -> None:
        original = gort.maxprocs()
        for bad in (0, -1, 2**40):
            with self.subTest(n=bad), self.assertRaises(ValueError):
                gort.maxprocs(bad)
        for bad in ("2", 2.0, True):
            with self.subTest(n=bad), self.assertRaises(TypeError):
                gort.maxprocs(bad)  # type: ignore[arg-type]
        self.assertEqual(gort.maxprocs(), original)


class IntrospectionTest(GortTestCase):
    def test_stats_fields(self) -> None:
        s = gort.stats()
        self.assertEqual(set(s), STATS_FIELDS)
        for name, value in s.items():
            self.assertIsInstance(value, int, name)
            self.assertGreaterEqual(value, 0, name)
        self.assertEqual(s["maxprocs"], gort.maxprocs())
        self.assertGreaterEqual(s["threads"], 1)
        self.assertGreaterEqual(s["spawned"], s["goroutines"])

    def test_counters_follow_goroutines(self) -> None:
        before = gort.stats()
        wg = gort.WaitGroup()
        spins = [SpinArgs(0, 0, wg.ptr) for _ in range(3)]
        wg.add(len(spins))
        for spin in spins:
            gort.go(helper().helper_spin, spin)
        try:
            self.assertTrue(
                wait_until(lambda: all(s.counter > 0 for s in spins), 10),
                f"not every spinning goroutine ran: counters {[s.counter for s in spins]}, stats {gort.stats()}",
            )
            during = gort.stats()
            self.assertGreaterEqual(during["spawned"], before["spawned"] + 3)
            self.assertGreaterEqual(during["goroutines"], 3)
            self.assertGreaterEqual(gort.num_goroutines(), 3)
        finally:
            for spin in spins:
                spin.stop = 1
            wg.wait(timeout=10)
        self.assertGoroutinesFinish()

    def test_dump_shows_a_parked_goroutine(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        gort.go(helper().helper_produce_100, ch)  # blocks sending 0: nobody receives yet
        self.assertTrue(wait_until(lambda: "[chan send]" in gort.dump(), 10))
        text = gort.dump()
        self.assertIsInstance(text, str)
        block = next(b for b in text.split("\n\n") if "[chan send]" in b)
        self.assertRegex(block, r"^goroutine \d+ \[chan send\]:")
        self.assertIn("helper_produce_100(...) at ", block)
        self.assertIn("helper.c:", block)
        self.assertEqual(list(ch), list(range(100)))
        self.assertGoroutinesFinish()

    def test_version(self) -> None:
        v = gort.version()
        self.assertIsInstance(v, str)
        self.assertTrue(v.strip())

    def test_library_path(self) -> None:
        self.assertTrue(gort.library_path.is_file())


if __name__ == "__main__":
    unittest.main()
