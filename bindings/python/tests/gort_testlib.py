"""Shared support for the gort Python tests: helper library, watchdog, subprocesses.

The helper library (``helper.c``) is taken from ``$GORT_TEST_HELPER``, which
the cargo harness (``tests/python.rs``) sets after building it. When the
tests run on their own (``python3 -m unittest discover -s bindings/python/tests``)
it is compiled here instead, with ``$CC`` (default ``cc``), against the
``gort.h`` found in ``$GORT_INCLUDE``, next to the library, or in the
project's ``include/``.
"""

from __future__ import annotations

import atexit
import ctypes
import faulthandler
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Callable, Dict, List, Optional

import gort

TESTS_DIR = Path(__file__).resolve().parent
#: The directory holding the ``gort`` package being tested (for subprocesses).
PACKAGE_ROOT = Path(gort.__file__).resolve().parent.parent
#: bindings/python in the source tree.
SOURCE_ROOT = TESTS_DIR.parent

#: Seconds a test module may take before the watchdog dumps every thread's
#: stack and ends the process (a deadlock fails instead of hanging).
MODULE_TIMEOUT = 240


def start_watchdog(seconds: int = MODULE_TIMEOUT) -> None:
    """Arm the process watchdog (call from ``setUpModule``)."""
    faulthandler.dump_traceback_later(seconds, exit=True)


def stop_watchdog() -> None:
    """Disarm the watchdog (call from ``tearDownModule``)."""
    faulthandler.cancel_dump_traceback_later()


# -- the helper library -------------------------------------------------------

_helper: Optional[ctypes.CDLL] = None


def _include_dirs() -> List[Path]:
    dirs = []
    if os.environ.get("GORT_INCLUDE"):
        dirs.append(Path(os.environ["GORT_INCLUDE"]))
    dirs.append(gort.library_path.parent)
    dirs.append(SOURCE_ROOT.parent.parent / "include")
    return [d for d in dirs if (d / "gort.h").is_file()]


def _build_helper() -> Path:
    includes = _include_dirs()
    if not includes:
        raise RuntimeError(
            "GORT_TEST_HELPER is not set and gort.h was not found to build tests/helper.c "
            "(set GORT_INCLUDE, or run the tests with `cargo test --test python`)"
        )
    out_dir = Path(tempfile.mkdtemp(prefix="gort-python-tests-"))
    atexit.register(shutil.rmtree, out_dir, True)
    output = out_dir / "libgort_test_helper.so"
    library = gort.library_path.resolve()
    command = [
        os.environ.get("CC", "cc"),
        "-shared", "-fPIC", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-std=gnu11",
        "-I", str(includes[0]),
        str(TESTS_DIR / "helper.c"),
        "-o", str(output),
        str(library),
        f"-Wl,-rpath,{library.parent}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building the test helper failed:\n{' '.join(command)}\n{result.stderr}")
    return output


def helper() -> ctypes.CDLL:
    """The helper library (``helper.c``), built on first use if needed."""
    global _helper
    if _helper is None:
        path = os.environ.get("GORT_TEST_HELPER")
        library = ctypes.CDLL(path if path else str(_build_helper()))
        library.helper_layout.argtypes = [ctypes.c_char_p]
        library.helper_layout.restype = ctypes.c_size_t
        _helper = library
    return _helper


# -- the helper's argument structs (mirrors of helper.c) ----------------------


class ProduceArgs(ctypes.Structure):
    _fields_ = [
        ("ch", ctypes.c_void_p),
        ("start", ctypes.c_int64),
        ("count", ctypes.c_int64),
        ("close_when_done", ctypes.c_int32),
        ("wg", ctypes.c_void_p),
        ("sent", ctypes.c_int64),
        ("last_error", ctypes.c_int32),
    ]


class PipeArgs(ctypes.Structure):
    _fields_ = [("in_", ctypes.c_void_p), ("out", ctypes.c_void_p)]


class Point(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int64), ("x", ctypes.c_double), ("name", ctypes.c_char * 16)]


class SendAfterArgs(ctypes.Structure):
    _fields_ = [("ch", ctypes.c_void_p), ("delay_ns", ctypes.c_int64), ("value", ctypes.c_int64)]


class CountArgs(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int64), ("wg", ctypes.c_void_p)]


class SleepDoneArgs(ctypes.Structure):
    _fields_ = [("wg", ctypes.c_void_p), ("delay_ns", ctypes.c_int64)]


class SpinArgs(ctypes.Structure):
    _fields_ = [("counter", ctypes.c_int64), ("stop", ctypes.c_int32), ("wg", ctypes.c_void_p)]


# -- utilities --------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def subprocess_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """An environment in which ``import gort`` finds the package and library under test."""
    env = dict(os.environ)
    env["GORT_LIBRARY"] = str(gort.library_path)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_ROOT), str(TESTS_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.pop("PYTHONSTARTUP", None)
    if extra:
        env.update(extra)
    return env


def run_python(
    code: str,
    timeout: float = 60,
    extra_env: Optional[Dict[str, str]] = None,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
) -> "subprocess.CompletedProcess[str]":
    """Run ``code`` in a fresh interpreter; a hang past ``timeout`` fails the test.

    The environment is :func:`subprocess_env` plus ``extra_env``, or exactly
    ``env`` when given.
    """
    try:
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env if env is not None else subprocess_env(extra_env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"subprocess did not finish within {timeout} s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}"
        ) from None


class GortTestCase(unittest.TestCase):
    """A TestCase that checks no goroutine it started outlives it."""

    def setUp(self) -> None:
        self._goroutines_before = gort.num_goroutines()

    def assertGoroutinesFinish(self, timeout: float = 10.0) -> None:
        """Wait until the goroutine count is back to what it was in setUp."""
        if not wait_until(lambda: gort.num_goroutines() <= self._goroutines_before, timeout):
            self.fail(f"{gort.num_goroutines()} goroutines still live, {self._goroutines_before} before the test")
