"""gort.Channel between Python threads: values, closing, timeouts, errors, ownership."""

from __future__ import annotations

import copy
import ctypes
import errno
import pickle
import threading
import time
import unittest
from typing import List
from unittest import mock

import gort
import gort._wait
from gort_testlib import Point, start_watchdog, stop_watchdog


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


def in_thread(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class BufferedChannelTest(unittest.TestCase):
    def test_fifo_len_cap(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=4)
        self.assertEqual(ch.cap, 4)
        self.assertEqual(len(ch), 0)
        for value in (10, -20, 2**62, -(2**63)):
            ch.send(value)
        self.assertEqual(len(ch), 4)
        self.assertEqual([ch.recv() for _ in range(4)], [10, -20, 2**62, -(2**63)])
        self.assertEqual(len(ch), 0)

    def test_empty_channel_is_truthy(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        self.assertEqual(len(ch), 0)
        self.assertTrue(ch)

    def test_try_send_and_try_recv(self) -> None:
        ch = gort.Channel(ctypes.c_int32, cap=2)
        self.assertEqual(ch.try_recv(), (False, None))
        self.assertTrue(ch.try_send(1))
        self.assertTrue(ch.try_send(2))
        self.assertFalse(ch.try_send(3))  # full
        self.assertEqual(ch.try_recv(), (True, 1))
        self.assertEqual(ch.try_recv(), (True, 2))
        self.assertEqual(ch.try_recv(), (False, None))

    def test_unbuffered_try_operations_need_a_partner(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        self.assertEqual(ch.cap, 0)
        self.assertFalse(ch.try_send(1))
        self.assertEqual(ch.try_recv(), (False, None))

    def test_timeout_zero_never_blocks(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        start = time.monotonic()
        with self.assertRaises(gort.Timeout):
            ch.recv(timeout=0)
        with self.assertRaises(gort.Timeout):
            ch.send(1, timeout=0)
        self.assertLess(time.monotonic() - start, 0.5)


class ElementTypeTest(unittest.TestCase):
    def test_double(self) -> None:
        ch = gort.Channel(ctypes.c_double, cap=1)
        ch.send(2.5)
        self.assertEqual(ch.recv(), 2.5)

    def test_structure_from_instance_tuple_and_dict(self) -> None:
        ch = gort.Channel(Point, cap=3)
        ch.send(Point(1, 1.5, b"one"))
        ch.send((2, 2.5, b"two"))
        ch.send({"id": 3, "x": 3.5, "name": b"three"})
        for expected_id, expected_name in ((1, b"one"), (2, b"two"), (3, b"three")):
            point = ch.recv()
            self.assertIsInstance(point, Point)
            self.assertEqual((point.id, point.x, point.name), (expected_id, expected_id + 0.5, expected_name))

    def test_received_structures_are_copies(self) -> None:
        ch = gort.Channel(Point, cap=1)
        original = Point(7, 0.0, b"x")
        ch.send(original)
        original.id = 99
        self.assertEqual(ch.recv().id, 7)

    def test_value_is_taken_when_send_is_called(self) -> None:
        # Go evaluates the value at the send statement: changing the object
        # while the (unbuffered) send waits for a receiver must not matter.
        ch = gort.Channel(Point)
        point = Point(1, 1.0, b"before")
        sender = in_thread(ch.send, point)
        time.sleep(0.05)
        point.id, point.name = 2, b"after"
        received = ch.recv(timeout=5)
        sender.join(5)
        self.assertEqual((received.id, received.name), (1, b"before"))

    def test_char_array(self) -> None:
        Name = ctypes.c_char * 16
        ch = gort.Channel(Name, cap=2)
        ch.send(b"hello")
        ch.send(b"0123456789abcdef")  # exactly full, no terminator
        self.assertEqual(ch.recv().value, b"hello")
        self.assertEqual(ch.recv().raw, b"0123456789abcdef")
        with self.assertRaises(ValueError):
            ch.send(b"0123456789abcdefX")

    def test_int_array(self) -> None:
        Triple = ctypes.c_int32 * 3
        ch = gort.Channel(Triple, cap=1)
        ch.send((1, 2, 3))
        self.assertEqual(list(ch.recv()), [1, 2, 3])

    def test_empty_elements(self) -> None:
        ch = gort.Channel(None, cap=2)
        self.assertEqual(ch.elem_size, 0)
        ch.send(None)
        self.assertTrue(ch.try_send(None))
        self.assertFalse(ch.try_send(None))
        self.assertEqual(len(ch), 2)
        self.assertIsNone(ch.recv())
        self.assertEqual(ch.try_recv(), (True, None))
        with self.assertRaises(TypeError):
            ch.send(1)

    def test_bad_values_raise(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        with self.assertRaises(TypeError):
            ch.send("not a number")
        with self.assertRaises(TypeError):
            ch.try_send(1.5)
        self.assertEqual(len(ch), 0)


class CloseTest(unittest.TestCase):
    def test_recv_drains_then_raises(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=3)
        ch.send(1)
        ch.send(2)
        ch.close()
        self.assertEqual(ch.recv(), 1)
        self.assertEqual(ch.try_recv(), (True, 2))
        with self.assertRaises(gort.ChannelClosed) as caught:
            ch.recv()
        self.assertIs(caught.exception.channel, ch)
        with self.assertRaises(gort.ChannelClosed):
            ch.try_recv()
        with self.assertRaises(gort.ChannelClosed):
            ch.recv(timeout=0)

    def test_send_on_closed_raises(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=3)
        ch.close()
        with self.assertRaises(gort.ChannelClosed):
            ch.send(1)
        with self.assertRaises(gort.ChannelClosed):
            ch.try_send(1)
        with self.assertRaises(gort.ChannelClosed):
            ch.send(1, timeout=0.01)

    def test_close_twice_raises(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        ch.close()
        with self.assertRaises(gort.ChannelClosed):
            ch.close()

    def test_iteration_stops_at_close(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=10)
        for i in range(5):
            ch.send(i)
        ch.close()
        self.assertEqual(list(ch), [0, 1, 2, 3, 4])
        self.assertEqual(list(ch), [])

    def test_close_wakes_blocked_receiver_and_sender(self) -> None:
        receiver_result: List[BaseException] = []
        sender_result: List[BaseException] = []
        rx = gort.Channel(ctypes.c_int64)
        tx = gort.Channel(ctypes.c_int64)

        def receive() -> None:
            try:
                rx.recv()
            except BaseException as exc:  # noqa: B902 - recorded for the assertion
                receiver_result.append(exc)

        def send() -> None:
            try:
                tx.send(5)
            except BaseException as exc:  # noqa: B902
                sender_result.append(exc)

        threads = [in_thread(receive), in_thread(send)]
        time.sleep(0.1)  # let both block
        rx.close()
        tx.close()
        for thread in threads:
            thread.join(5)
            self.assertFalse(thread.is_alive(), "close did not wake a blocked thread")
        self.assertIsInstance(receiver_result[0], gort.ChannelClosed)
        self.assertIsInstance(sender_result[0], gort.ChannelClosed)


class TimeoutTest(unittest.TestCase):
    def test_recv_timeout(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        start = time.monotonic()
        with self.assertRaises(gort.Timeout) as caught:
            ch.recv(timeout=0.15)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.15)
        self.assertLess(elapsed, 2.0)
        self.assertIsInstance(caught.exception, TimeoutError)
        self.assertEqual(caught.exception.errno, errno.ETIMEDOUT)

    def test_send_timeout_sends_nothing(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        ch.send(1)
        start = time.monotonic()
        with self.assertRaises(gort.Timeout):
            ch.send(2, timeout=0.12)
        self.assertGreaterEqual(time.monotonic() - start, 0.12)
        self.assertEqual(len(ch), 1)
        self.assertEqual(ch.recv(), 1)
        self.assertEqual(ch.try_recv(), (False, None))

    def test_timeouts_longer_than_a_slice_in_the_main_thread(self) -> None:
        # The main thread waits in slices; the total must still be honoured.
        ch = gort.Channel(ctypes.c_int64)
        with mock.patch.object(gort._wait, "SLICE_NS", 10_000_000):
            start = time.monotonic()
            with self.assertRaises(gort.Timeout):
                ch.recv(timeout=0.2)
            self.assertGreaterEqual(time.monotonic() - start, 0.2)

    def test_timeout_in_another_thread(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        outcome: List[object] = []

        def body() -> None:
            start = time.monotonic()
            try:
                ch.recv(timeout=0.1)
            except gort.Timeout:
                outcome.append(time.monotonic() - start)

        in_thread(body).join(5)
        self.assertEqual(len(outcome), 1)
        self.assertGreaterEqual(outcome[0], 0.1)

    def test_value_arriving_before_the_timeout_is_received(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        timer = threading.Timer(0.1, ch.send, (77,))
        timer.start()
        try:
            self.assertEqual(ch.recv(timeout=5), 77)
        finally:
            timer.join(5)

    def test_bad_timeouts(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        with self.assertRaises(ValueError):
            ch.recv(timeout=-1)
        with self.assertRaises(ValueError):
            ch.recv(timeout=float("nan"))
        with self.assertRaises(TypeError):
            ch.recv(timeout="1")  # type: ignore[arg-type]
        ch.send(3, timeout=float("inf"))
        self.assertEqual(ch.recv(timeout=float("inf")), 3)


class ThreadsTest(unittest.TestCase):
    def test_unbuffered_rendezvous_between_threads(self) -> None:
        ch = gort.Channel(ctypes.c_int64)
        received: List[int] = []

        def consume() -> None:
            received.extend(ch)

        consumer = in_thread(consume)
        for i in range(2000):
            ch.send(i)
        ch.close()
        consumer.join(10)
        self.assertEqual(received, list(range(2000)))

    def test_many_senders_one_receiver(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=8)
        senders = [
            in_thread(lambda base=base: [ch.send(base + i) for i in range(500)]) for base in range(0, 4000, 1000)
        ]
        got = [ch.recv(timeout=10) for _ in range(2000)]
        for sender in senders:
            sender.join(10)
        self.assertEqual(sorted(got), sorted(base + i for base in range(0, 4000, 1000) for i in range(500)))
        for base in range(0, 4000, 1000):  # each sender's values stay in order
            mine = [v for v in got if base <= v < base + 1000]
            self.assertEqual(mine, sorted(mine))

    def test_no_loss_or_duplication_across_slices(self) -> None:
        # Tiny slices make almost every blocking call in the main thread
        # time out and retry; every value must still arrive exactly once.
        for cap in (0, 3):
            with self.subTest(cap=cap), mock.patch.object(gort._wait, "SLICE_NS", 20_000):
                received, echoed = self.relay_through_main_thread(cap, 1500)
                self.assertEqual(received, list(range(1500)))
                self.assertEqual(echoed, list(range(1500)))

    @staticmethod
    def relay_through_main_thread(cap: int, count: int) -> "tuple[List[int], List[int]]":
        """A thread feeds the main thread, which echoes to another thread; both threads dawdle."""
        to_main = gort.Channel(ctypes.c_int64, cap=cap)
        from_main = gort.Channel(ctypes.c_int64, cap=cap)
        echoed: List[int] = []

        def feed() -> None:
            for i in range(count):
                if i % 50 == 0:
                    time.sleep(0.002)
                to_main.send(i)
            to_main.close()

        def drain() -> None:
            for i, value in enumerate(from_main):
                if i % 50 == 0:
                    time.sleep(0.002)
                echoed.append(value)

        threads = [in_thread(feed), in_thread(drain)]
        received = []
        while True:
            try:
                value = to_main.recv()
            except gort.ChannelClosed:
                break
            received.append(value)
            from_main.send(value)
        from_main.close()
        for thread in threads:
            thread.join(10)
        return received, echoed


class OwnershipTest(unittest.TestCase):
    def test_from_ptr_takes_its_own_reference(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=2)
        other = gort.Channel.from_ptr(ch.ptr, ctypes.c_int64)
        self.assertEqual(other, ch)
        self.assertEqual(hash(other), hash(ch))
        del ch  # the C channel must survive: `other` holds a reference
        other.send(5)
        self.assertEqual(other.recv(), 5)
        self.assertEqual(other.cap, 2)

    def test_from_ptr_accepts_c_void_p_and_rejects_null(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        other = gort.Channel.from_ptr(ctypes.c_void_p(ch.ptr), ctypes.c_int64)
        ch.send(1)
        self.assertEqual(other.recv(), 1)
        with self.assertRaises(ValueError):
            gort.Channel.from_ptr(0, ctypes.c_int64)
        with self.assertRaises(ValueError):
            gort.Channel.from_ptr(ctypes.c_void_p(), ctypes.c_int64)

    def test_from_ptr_with_the_wrong_element_type_raises(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        for wrong in (ctypes.c_int32, ctypes.c_char * 64, Point, None):
            with self.subTest(ctype=wrong):
                with self.assertRaises(TypeError) as caught:
                    gort.Channel.from_ptr(ch.ptr, wrong)
                self.assertIn("8 bytes", str(caught.exception))
        # Refusing an adoption leaves the caller's reference with the caller.
        owned = ch.retained_ptr()
        with self.assertRaises(TypeError):
            gort.Channel.from_ptr(owned, ctypes.c_int16, retain=False)
        gort.lib.gort_chan_release(owned)
        ch.send(3)
        self.assertEqual(gort.Channel.from_ptr(ch.ptr, ctypes.c_uint64).recv(), 3)  # same size: fine
        empty = gort.Channel(None)
        gort.Channel.from_ptr(empty.ptr, None)
        with self.assertRaises(TypeError):
            gort.Channel.from_ptr(empty.ptr, ctypes.c_int)

    def test_from_ptr_adopting_a_reference(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        adopted = gort.Channel.from_ptr(ch.retained_ptr(), ctypes.c_int64, retain=False)
        del ch
        adopted.send(9)
        self.assertEqual(adopted.recv(), 9)

    def test_copy_shares_the_channel(self) -> None:
        ch = gort.Channel(ctypes.c_int64, cap=1)
        for duplicate in (copy.copy(ch), copy.deepcopy(ch)):
            self.assertEqual(duplicate, ch)
            duplicate.send(1)
            self.assertEqual(ch.recv(), 1)
        self.assertNotEqual(ch, gort.Channel(ctypes.c_int64, cap=1))

    def test_not_picklable(self) -> None:
        with self.assertRaises(TypeError):
            pickle.dumps(gort.Channel(ctypes.c_int64))

    def test_ptr_and_repr(self) -> None:
        ch = gort.Channel(ctypes.c_int16, cap=3)
        self.assertIsInstance(ch.ptr, int)
        self.assertNotEqual(ch.ptr, 0)
        self.assertIs(ch.ctype, ctypes.c_int16)
        self.assertEqual(ch.elem_size, 2)
        self.assertIn("c_short", repr(ch))
        self.assertIn("cap=3", repr(ch))


class ConstructorErrorsTest(unittest.TestCase):
    def test_bad_element_types(self) -> None:
        for bad in ("int", int, ctypes.c_int64(1), object()):
            with self.subTest(ctype=bad), self.assertRaises(TypeError):
                gort.Channel(bad)  # type: ignore[arg-type]

    def test_element_too_large(self) -> None:
        with self.assertRaises(ValueError):  # EINVAL: elements are limited to 64 KiB
            gort.Channel(ctypes.c_char * (64 * 1024 + 1))
        gort.Channel(ctypes.c_char * (64 * 1024), cap=1)

    def test_bad_capacities(self) -> None:
        with self.assertRaises(ValueError):
            gort.Channel(ctypes.c_int64, cap=-1)
        with self.assertRaises(TypeError):
            gort.Channel(ctypes.c_int64, cap=1.5)  # type: ignore[arg-type]
        with self.assertRaises(OverflowError):
            gort.Channel(ctypes.c_int64, cap=2**64)

    def test_unallocatable_channel(self) -> None:
        # 2**60 elements of 1 KiB: the library must refuse (ENOMEM, or EINVAL
        # for the size overflow), and never return a channel or crash.
        with self.assertRaises((OSError, ValueError)):
            gort.Channel(ctypes.c_char * 1024, cap=2**60)


if __name__ == "__main__":
    unittest.main()
