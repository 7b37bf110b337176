"""gort.go: C goroutines talking to Python through channels; what go() refuses."""

from __future__ import annotations

import ctypes
import functools
import threading
import time
import unittest

import gort
from gort_testlib import (
    CountArgs,
    GortTestCase,
    PipeArgs,
    Point,
    ProduceArgs,
    helper,
    start_watchdog,
    stop_watchdog,
    wait_until,
)


def setUpModule() -> None:
    start_watchdog()
    helper()  # build/load it once, outside any test's timing


def tearDownModule() -> None:
    stop_watchdog()


class ProducersTest(GortTestCase):
    def test_goroutine_produces_for_python(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        gort.go(helper().helper_produce_100, ch)  # the goroutine owns a reference
        self.assertEqual(list(ch), list(range(100)))
        self.assertGoroutinesFinish()

    def test_channel_outlives_the_python_object(self) -> None:
        # The goroutine's own reference keeps the channel alive after the
        # Python wrapper is gone; a second wrapper made from the pointer
        # (retaining) still sees every value.
        ch = gort.Channel(ctypes.c_int64, cap=100)
        reader = gort.Channel.from_ptr(ch.ptr, ctypes.c_int64)
        gort.go(helper().helper_produce_100, ch)
        del ch
        self.assertEqual(list(reader), list(range(100)))
        self.assertGoroutinesFinish()

    def test_many_producers_and_a_waitgroup(self) -> None:
        producers, per_producer = 8, 2000
        ch = gort.Channel(ctypes.c_int64, cap=16)
        wg = gort.WaitGroup()
        wg.add(producers)
        args = [
            ProduceArgs(ch=ch.retained_ptr(), start=p * 1_000_000, count=per_producer, close_when_done=0, wg=wg.ptr)
            for p in range(producers)
        ]
        for a in args:
            gort.go(helper().helper_produce, ctypes.byref(a))

        def close_when_done() -> None:
            wg.wait()
            ch.close()

        closer = threading.Thread(target=close_when_done, daemon=True)
        closer.start()
        received = list(ch)
        closer.join(10)
        self.assertEqual(len(received), producers * per_producer)
        for p in range(producers):
            mine = [v - p * 1_000_000 for v in received if p * 1_000_000 <= v < (p + 1) * 1_000_000]
            self.assertEqual(mine, list(range(per_producer)), f"producer {p}'s values lost, duplicated or reordered")
        for a in args:
            self.assertEqual((a.sent, a.last_error), (per_producer, 0))
        self.assertGoroutinesFinish()

    def test_goroutine_sees_close_as_epipe(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        args = ProduceArgs(ch=ch.retained_ptr(), start=0, count=1_000_000, close_when_done=0)
        gort.go(helper().helper_produce, args)  # a Structure instance passes its address
        self.assertEqual([ch.recv(timeout=10) for _ in range(10)], list(range(10)))
        ch.close()
        self.assertGoroutinesFinish()
        self.assertEqual(args.last_error, 32)  # EPIPE
        self.assertEqual(args.sent, 10)  # unbuffered: the 11th send was still waiting


class ConsumersTest(GortTestCase):
    def test_python_threads_feed_a_c_goroutine(self) -> None:
        numbers = gort.Channel(ctypes.c_int64)
        result = gort.Channel(ctypes.c_int64)
        args = PipeArgs(numbers.retained_ptr(), result.retained_ptr())
        gort.go(helper().helper_sum, ctypes.pointer(args))

        def feed(base: int) -> None:
            for i in range(1000):
                numbers.send(base + i)

        threads = [threading.Thread(target=feed, args=(base,), daemon=True) for base in range(0, 4000, 1000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        numbers.close()
        self.assertEqual(result.recv(timeout=10), sum(range(4000)))
        self.assertGoroutinesFinish()

    def test_structures_round_trip_through_c(self) -> None:
        points_in = gort.Channel(Point, cap=4)
        points_out = gort.Channel(Point)
        args = PipeArgs(points_in.retained_ptr(), points_out.retained_ptr())
        gort.go(helper().helper_transform, args)

        def feed() -> None:
            for i in range(50):
                points_in.send((i, i / 4, f"p{i}".encode()))
            points_in.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        got = [(p.id, p.x, p.name) for p in points_out]
        feeder.join(10)
        self.assertEqual(got, [(2 * i, i / 4 + 0.5, f"P{i}".encode()) for i in range(50)])
        self.assertGoroutinesFinish()


class ArgumentKindsTest(GortTestCase):
    def test_every_kind_of_pointer_argument(self) -> None:
        counter = CountArgs()
        wg = gort.WaitGroup()
        counter.wg = wg.ptr
        kinds = [
            ctypes.addressof(counter),  # an int address
            ctypes.pointer(counter),  # a ctypes pointer
            ctypes.byref(counter),  # byref()
            counter,  # a Structure: its address
            ctypes.c_void_p(ctypes.addressof(counter)),
            ctypes.cast(ctypes.pointer(counter), ctypes.POINTER(ctypes.c_char)),
        ]
        wg.add(len(kinds))
        for arg in kinds:
            gort.go(helper().helper_increment, arg)
        wg.wait(timeout=10)
        self.assertEqual(counter.value, len(kinds))
        self.assertGoroutinesFinish()

    def test_waitgroup_argument(self) -> None:
        wg = gort.WaitGroup()
        wg.add(10)
        for _ in range(10):
            gort.go(helper().helper_wg_done, wg)
        wg.wait(timeout=10)
        self.assertGoroutinesFinish()

    def test_function_as_an_address(self) -> None:
        slot = ctypes.c_uint64(0)
        address = ctypes.cast(helper().helper_store_self, ctypes.c_void_p).value
        assert address is not None
        gort.go(address, ctypes.byref(slot))
        self.assertTrue(wait_until(lambda: slot.value != 0), "the goroutine did not run")
        self.assertGoroutinesFinish()

    def test_runs_on_a_goroutine(self) -> None:
        slot = ctypes.c_uint64(0)
        gort.go(helper().helper_store_self, ctypes.pointer(slot))
        self.assertTrue(wait_until(lambda: slot.value != 0), "gort_self() was 0: not on a goroutine")
        self.assertGoroutinesFinish()

    def test_name_and_stack_size(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        gort.go(helper().helper_produce_100, ch, name="python-test-producer", stack_size=256 * 1024)
        self.assertEqual(sum(ch), sum(range(100)))
        self.assertGoroutinesFinish()

    def test_null_argument(self) -> None:
        # helper_wg_done(NULL) calls gort_wg_done(NULL): EINVAL, no crash.
        gort.go(helper().helper_wg_done, None)
        self.assertGoroutinesFinish()


def python_function(arg: int) -> None:
    pass


class RefusalsTest(unittest.TestCase):
    def assertRefusesPython(self, function: object) -> None:
        with self.assertRaises(TypeError) as caught:
            gort.go(function)
        message = str(caught.exception)
        for word in ("goroutine", "preempt", "thread", "C function", "gort.Channel"):
            self.assertIn(word, message)

    def test_python_callables(self) -> None:
        before = gort.stats()["spawned"]
        self.assertRefusesPython(python_function)
        self.assertRefusesPython(lambda arg: None)
        self.assertRefusesPython(print)
        self.assertRefusesPython(functools.partial(python_function, 1))
        self.assertRefusesPython(threading.Thread(target=print).start)
        self.assertEqual(gort.stats()["spawned"], before, "a refused call must not start a goroutine")

    def test_ctypes_callbacks_around_python(self) -> None:
        prototype = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
        callback = prototype(python_function)
        self.assertRefusesPython(callback)
        self.assertRefusesPython(ctypes.cast(callback, ctypes.CFUNCTYPE(None)))
        self.assertRefusesPython(ctypes.PYFUNCTYPE(None, ctypes.c_void_p)(python_function))

    def test_python_c_api_functions(self) -> None:
        with self.assertRaises(TypeError) as caught:
            gort.go(ctypes.pythonapi.Py_IncRef)
        self.assertIn("GIL", str(caught.exception))

    def test_not_functions(self) -> None:
        for bad in (None, "helper_produce", 1.5, True, b"\x00"):
            with self.subTest(function=bad), self.assertRaises(TypeError):
                gort.go(bad)

    def test_null_function(self) -> None:
        with self.assertRaises(ValueError):
            gort.go(0)
        with self.assertRaises(ValueError):
            gort.go(ctypes.CFUNCTYPE(None, ctypes.c_void_p)())

    def test_bad_arguments(self) -> None:
        before = gort.stats()["spawned"]
        for bad in ("text", b"bytes", 1.5, True, object(), [1, 2]):
            with self.subTest(arg=bad), self.assertRaises(TypeError):
                gort.go(helper().helper_wg_done, bad)
        with self.assertRaises(ValueError):
            gort.go(helper().helper_wg_done, None, stack_size=-1)
        with self.assertRaises(TypeError):
            gort.go(helper().helper_wg_done, None, name=b"bytes")  # type: ignore[arg-type]
        self.assertEqual(gort.stats()["spawned"], before)

    def test_refused_channel_argument_is_not_retained(self) -> None:
        # A go() that fails before starting must not leave the goroutine's
        # reference behind: checked in test_leaks; here, that it fails cleanly.
        ch = gort.Channel(ctypes.c_int64)
        with self.assertRaises(TypeError):
            gort.go(python_function, ch)
        del ch


class ParallelismTest(GortTestCase):
    def test_blocking_calls_release_the_gil(self) -> None:
        # If recv held the GIL while blocked, this thread could not run
        # until the other one's 10 s timeout expired.
        ch = gort.Channel(ctypes.c_int64)
        start = time.monotonic()
        blocked = threading.Thread(target=lambda: ch.recv(timeout=10), daemon=True)
        blocked.start()
        ticks = 0
        while time.monotonic() - start < 0.2:
            ticks += 1
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertTrue(blocked.is_alive())
        ch.send(1)
        blocked.join(5)
        self.assertFalse(blocked.is_alive())


if __name__ == "__main__":
    unittest.main()
