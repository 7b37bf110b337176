"""asyncio: recv_async, send_async, async for, select_async.

The event loop never blocks on a channel; cancellation (task.cancel(),
wait_for's timeout) never loses a value: an operation either never happened
or, when it completed in the instant of the cancellation, a received value
goes to the next receiver (ahead of the rest: FIFO holds) and a completed
send is reported on the CancelledError. The races are made deterministic by
completing the operation from the loop's own thread (try_send/try_recv
against the helper thread blocked in gort) and cancelling in the same step.
"""

from __future__ import annotations

import asyncio
import ctypes
import random
import sys
import threading
import time
import unittest
from typing import Any, Awaitable, Callable, List, Set

import gort
from gort_testlib import GortTestCase, start_watchdog, stop_watchdog, wait_until


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


def run(test: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(test(), 120))


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


async def hand_to_blocked_receiver(ch: gort.Channel[int], value: int) -> None:
    """Send ``value`` from the loop's thread once a receiver is blocked in gort (unbuffered ``ch``)."""
    await until(lambda: ch.try_send(value))


class BasicsTest(GortTestCase):
    def test_recv_send_and_iterate(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            receiver = asyncio.create_task(ch.recv_async())
            await asyncio.sleep(0.02)
            self.assertFalse(receiver.done())
            await ch.send_async(5)
            self.assertEqual(await receiver, 5)

            buffered = gort.Channel(ctypes.c_int64, cap=4)
            for i in range(3):
                await buffered.send_async(i)
            buffered.close()
            self.assertEqual([v async for v in buffered], [0, 1, 2])
            with self.assertRaises(gort.ChannelClosed):
                await buffered.recv_async()
            with self.assertRaises(gort.ChannelClosed):
                await buffered.send_async(9)
            with self.assertRaises(OverflowError):
                await gort.Channel(ctypes.c_uint8, cap=1).send_async(256)

        run(main)
        self.assertGoroutinesFinish()

    def test_values_from_threads_and_goroutine_free_close(self) -> None:
        async def main() -> List[int]:
            ch = gort.Channel(ctypes.c_int32)

            def produce() -> None:
                for i in range(100):
                    ch.send(i)
                ch.close()

            threading.Thread(target=produce).start()
            return [v async for v in ch]

        self.assertEqual(run(main), list(range(100)))

    def test_select_async(self) -> None:
        async def main() -> None:
            a = gort.Channel(ctypes.c_int64)
            b = gort.Channel(ctypes.c_int64, cap=1)
            self.assertEqual(await gort.select_async([(a, gort.RECV), (b, gort.RECV)], timeout=0), (-1, None))
            with self.assertRaises(gort.Timeout):
                await gort.select_async([(a, gort.RECV)], timeout=0.02)
            self.assertEqual(await gort.select_async([(a, gort.RECV), (b, gort.SEND, 4)]), (1, None))
            waiting = asyncio.create_task(gort.select_async([(a, gort.RECV), (None, gort.RECV)]))
            await hand_to_blocked_receiver(a, 8)
            self.assertEqual(await waiting, (0, 8))
            b.recv()
            b.close()
            with self.assertRaises(gort.ChannelClosed) as caught:
                await gort.select_async([(a, gort.RECV), (b, gort.RECV)])
            self.assertEqual(caught.exception.index, 1)

        run(main)


class LoopNeverBlocksTest(GortTestCase):
    def test_blocked_receives_do_not_delay_other_tasks(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            receivers = [asyncio.create_task(ch.recv_async()) for _ in range(20)]
            sender = asyncio.create_task(gort.Channel(ctypes.c_int64).send_async(1))  # never received
            gaps: List[float] = []
            last = time.monotonic()
            for _ in range(40):
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
            # 40 ticks of 5 ms: a loop blocked by a channel would stall for
            # good. Generous: the machine may be loaded.
            self.assertLess(max(gaps), 1.0, gaps)
            self.assertFalse(any(r.done() for r in receivers))
            for i in range(20):
                await ch.send_async(i)
            self.assertEqual(sorted(await asyncio.gather(*receivers)), list(range(20)))
            sender.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await sender

        run(main)


class CancellationTest(GortTestCase):
    def test_cancelled_before_anything_arrives_consumes_nothing(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64, cap=1)
            receiver = asyncio.create_task(ch.recv_async())
            await asyncio.sleep(0.02)
            receiver.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await receiver
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(ch.recv_async(), 0.02)
            ch.send(1)  # nobody took anything: the value waits for the next receiver
            self.assertEqual(ch.recv(timeout=1), 1)

        run(main)

    def test_value_taken_as_the_task_is_cancelled_goes_to_the_next_receiver(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            first = asyncio.create_task(ch.recv_async())
            await hand_to_blocked_receiver(ch, 7)  # the helper thread now holds 7...
            first.cancel()  # ...and the task is cancelled before it hears of it
            with self.assertRaises(asyncio.CancelledError):
                await first
            self.assertEqual(len(ch), 1)
            self.assertEqual(await ch.recv_async(), 7)
            self.assertEqual(len(ch), 0)

        run(main)

    def test_held_value_comes_before_the_buffer(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64, cap=2)
            for _ in range(200):
                first = asyncio.create_task(ch.recv_async())
                await asyncio.sleep(0.002)
                self.assertTrue(ch.try_send(1))
                if len(ch) == 0:
                    break  # handed straight to the helper blocked in gort
                self.assertEqual(await first, 1)  # not blocked yet: it took 1 from the buffer
            else:
                self.fail("the helper thread never blocked in gort")
            for later in (2, 3):
                self.assertTrue(ch.try_send(later))  # buffered
            first.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await first
            ch.close()
            self.assertEqual(list(ch), [1, 2, 3])  # the sync path sees it too

        run(main)

    def test_pending_receiver_is_woken_for_a_held_value(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            first = asyncio.create_task(ch.recv_async())
            second = asyncio.create_task(ch.recv_async())
            await hand_to_blocked_receiver(ch, 11)
            # Whichever helper took it: cancel the first; no other value comes.
            first.cancel()
            results = await asyncio.gather(first, second, return_exceptions=True)
            self.assertIsInstance(results[0], asyncio.CancelledError)
            self.assertEqual(results[1], 11)

        run(main)

    def test_select_async_cancelled_after_receiving(self) -> None:
        async def main() -> None:
            a = gort.Channel(ctypes.c_int64)
            b = gort.Channel(ctypes.c_int64)
            selecting = asyncio.create_task(gort.select_async([(a, gort.RECV), (b, gort.RECV)]))
            await hand_to_blocked_receiver(b, 5)
            selecting.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await selecting
            self.assertEqual(b.try_recv(), (True, 5))
            self.assertEqual(a.try_recv(), (False, None))

        run(main)

    def test_send_cancelled_before_a_receiver_sends_nothing(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            sender = asyncio.create_task(ch.send_async(3))
            await asyncio.sleep(0.02)
            sender.cancel()
            with self.assertRaises(asyncio.CancelledError) as caught:
                await sender
            self.assertFalse(gort.sent_before_cancel(caught.exception))
            await asyncio.sleep(0.02)
            self.assertEqual(ch.try_recv(), (False, None))
            with self.assertRaises(asyncio.TimeoutError) as timed_out:
                await asyncio.wait_for(ch.send_async(4), 0.02)
            self.assertFalse(gort.sent_before_cancel(timed_out.exception))
            self.assertEqual(ch.try_recv(), (False, None))

        run(main)

    def test_send_completed_as_the_task_is_cancelled_is_reported(self) -> None:
        async def main() -> None:
            ch = gort.Channel(ctypes.c_int64)
            sender = asyncio.create_task(ch.send_async(9))
            received: List[Any] = []
            await until(lambda: received.append(ch.try_recv()) or received[-1][0])
            sender.cancel()
            with self.assertRaises(asyncio.CancelledError) as caught:
                await sender
            self.assertEqual(received[-1], (True, 9))
            self.assertTrue(gort.sent_before_cancel(caught.exception))

        run(main)


class StressTest(GortTestCase):
    """Many receivers that time out and get cancelled while values pour in."""

    def stress(self, cap: int) -> None:
        count = 3000
        random.seed(cap)

        async def main() -> List[int]:
            ch = gort.Channel(ctypes.c_int64, cap=cap)
            received: List[int] = []
            done = asyncio.Event()

            def produce() -> None:
                # In bursts, so that receivers both find values ready and
                # wait for them in helper threads, where timeouts and
                # cancellations race with arrivals.
                for i in range(count):
                    ch.send(i)
                    if i % 8 == 0:
                        time.sleep(0.0005)

            async def receive_with_timeouts() -> None:
                while not done.is_set():
                    try:
                        received.append(await asyncio.wait_for(ch.recv_async(), random.choice((0.0002, 0.001, 0.005))))
                    except asyncio.TimeoutError:
                        pass

            async def receive_and_get_cancelled() -> None:
                while not done.is_set():
                    task = asyncio.create_task(ch.recv_async())
                    await asyncio.wait({task}, timeout=random.choice((0.0, 0.0005, 0.002)))
                    task.cancel()
                    try:
                        received.append(await task)
                    except asyncio.CancelledError:
                        pass

            async def watch() -> None:
                while len(received) < count:
                    await asyncio.sleep(0.01)
                done.set()

            gaps: List[float] = []

            async def tick() -> None:
                last = time.monotonic()
                while not done.is_set():
                    await asyncio.sleep(0.005)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            producer = threading.Thread(target=produce)
            producer.start()
            workers: Set["asyncio.Task[None]"] = {
                *(asyncio.create_task(receive_with_timeouts()) for _ in range(12)),
                *(asyncio.create_task(receive_and_get_cancelled()) for _ in range(12)),
            }
            await asyncio.gather(watch(), tick(), *workers)
            await asyncio.to_thread(producer.join)
            self.assertLess(max(gaps), 2.0)
            self.assertEqual(len(ch), 0)
            return received

        holds: List[int] = []
        hold = gort._held.hold

        def counting_hold(chan: int, when: int, raw: bytes) -> None:
            holds.append(when)
            hold(chan, when, raw)

        gort._held.hold = counting_hold
        try:
            received = run(main)
        finally:
            gort._held.hold = hold
        self.assertEqual(len(received), count, "a value was lost or received twice")
        self.assertEqual(sorted(received), list(range(count)))
        helpers = lambda: [t for t in threading.enumerate() if t.name == "gort-async"]  # noqa: E731
        self.assertTrue(wait_until(lambda: not helpers(), 10), f"helper threads left behind: {helpers()}")
        sys.__stderr__.write(f" [{len(holds)} values taken by cancelled receives went to the next receiver] ")

    def test_unbuffered(self) -> None:
        self.stress(0)

    def test_buffered(self) -> None:
        self.stress(16)


if __name__ == "__main__":
    unittest.main()
