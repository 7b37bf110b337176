"""Ctrl-C during blocking calls in the main thread.

Each scenario runs in a fresh interpreter that sends itself SIGINT 200 ms
into a blocking call, then checks that KeyboardInterrupt came promptly and
that the interrupted operation had no effect (nothing sent or consumed).
"""

from __future__ import annotations

import json
import textwrap
import unittest

from gort_testlib import run_python, start_watchdog, stop_watchdog

# Latency allowed between the signal and the KeyboardInterrupt. The main
# thread waits in 50 ms slices; this leaves room for a loaded machine.
MAX_LATENCY = 1.0

PRELUDE = textwrap.dedent(
    """
    import ctypes, json, os, signal, sys, threading, time
    import gort

    sent_at = []

    def interrupt_soon(delay=0.2):
        def fire():
            time.sleep(delay)
            sent_at.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=fire, daemon=True).start()

    def interrupted(call):
        interrupt_soon()
        try:
            call()
        except KeyboardInterrupt:
            return time.monotonic() - sent_at[0]
        print("no KeyboardInterrupt", file=sys.stderr)
        sys.exit(3)

    def later(delay, function, *args):
        timer = threading.Timer(delay, function, args)
        timer.start()
        return timer
    """
)

SCENARIOS = {
    "recv": """
        ch = gort.Channel(ctypes.c_int64)
        latency = interrupted(ch.recv)
        # Nothing was consumed: the next value sent is the next one received.
        t = later(0.05, ch.send, 42)
        assert ch.recv(timeout=5) == 42
        t.join()
    """,
    "recv_with_timeout": """
        ch = gort.Channel(ctypes.c_int64)
        latency = interrupted(lambda: ch.recv(timeout=30))
    """,
    "send": """
        ch = gort.Channel(ctypes.c_int64)
        latency = interrupted(lambda: ch.send(7))
        # The interrupted send is not pending: no receiver can get 7.
        assert ch.try_recv() == (False, None)
        got = []
        t = threading.Thread(target=lambda: got.append(ch.recv(timeout=5)))
        t.start()
        ch.send(8, timeout=5)
        t.join()
        assert got == [8], got
    """,
    "select": """
        a, b = gort.Channel(ctypes.c_int64), gort.Channel(ctypes.c_int64)
        latency = interrupted(lambda: gort.select([(a, gort.RECV), (b, gort.SEND, 5)]))
        assert b.try_recv() == (False, None)
        t = later(0.05, a.send, 9)
        assert gort.select([(a, gort.RECV), (b, gort.SEND, 5)], timeout=5) == (0, 9)
        t.join()
    """,
    "waitgroup": """
        wg = gort.WaitGroup()
        wg.add(1)
        latency = interrupted(wg.wait)
        wg.done()
        wg.wait(timeout=5)
    """,
}

# A handler that does not raise: the blocking call must carry on after it ran.
HANDLER_SCENARIO = """
    ch = gort.Channel(ctypes.c_int64)
    calls = []
    signal.signal(signal.SIGINT, lambda signum, frame: calls.append(time.monotonic()))
    interrupt_soon(0.1)
    t = later(0.4, ch.send, 5)
    start = time.monotonic()
    assert ch.recv(timeout=10) == 5
    t.join()
    assert len(calls) == 1, calls
    # The handler ran while recv was still waiting, not after it returned.
    assert calls[0] - start < 0.35, calls[0] - start
    latency = calls[0] - sent_at[0]
"""


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


class KeyboardInterruptTest(unittest.TestCase):
    def run_scenario(self, body: str) -> float:
        code = PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps({'latency': latency}))\n"
        result = run_python(code, timeout=60)
        self.assertEqual(result.returncode, 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        latency = json.loads(result.stdout.strip().splitlines()[-1])["latency"]
        self.assertLess(latency, MAX_LATENCY, "KeyboardInterrupt came too late")
        return float(latency)

    def test_blocking_calls_raise_keyboard_interrupt(self) -> None:
        for name, body in SCENARIOS.items():
            with self.subTest(call=name):
                self.run_scenario(body)

    def test_a_handler_that_returns_lets_the_call_continue(self) -> None:
        self.run_scenario(HANDLER_SCENARIO)


if __name__ == "__main__":
    unittest.main()
