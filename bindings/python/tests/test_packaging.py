"""The package as a user installs it.

``pip install ./bindings/python`` into a fresh virtual environment compiles
libgort (maturin, from the index) and bundles it in the package, which then
imports and works from any directory with no environment set; and
``maturin build`` makes a wheel holding the package and the library.

Both need a package index (pip fetches maturin, cargo fetches crates).
Where pip cannot reach one, the tests say SKIPPED loudly; CI, which can,
fails on that word. The Rust build goes to ``<target>/python-wheel`` and is
kept between runs, so only the first compiles the crate from scratch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

from gort_testlib import SOURCE_ROOT, start_watchdog, stop_watchdog

#: pip install and maturin build each compile the crate in release mode: a
#: minute or two on two cores from scratch.
BUILD_TIMEOUT = 900

#: What pip says when it cannot reach an index (or the index lacks maturin).
_OFFLINE_SIGNS = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
    "Max retries exceeded",
)


def setUpModule() -> None:
    start_watchdog(2 * BUILD_TIMEOUT + 300)


def tearDownModule() -> None:
    stop_watchdog()


def build_env() -> Dict[str, str]:
    """This environment without what points at the tree under test, plus the shared cargo target."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GORT_", "CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY"))
        and key not in ("PYTHONPATH", "LD_LIBRARY_PATH", "CARGO_TARGET_TMPDIR")
    }
    target = Path(os.environ.get("CARGO_TARGET_DIR") or SOURCE_ROOT.parent.parent / "target")
    env["CARGO_TARGET_DIR"] = str(target / "python-wheel")
    return env


def run(command: List[str], cwd: Path, env: Dict[str, str], timeout: float) -> "subprocess.CompletedProcess[str]":
    try:
        return subprocess.run(command, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(command)} did not finish within {timeout} s:\n{exc.stdout}\n{exc.stderr}")


def report(line: str) -> None:
    # Straight to the terminal: unittest shows nothing a passing test prints.
    sys.__stderr__.write(f"\n{line}\n")
    sys.__stderr__.flush()


class InstallTest(unittest.TestCase):
    venv: Path
    python: Path
    scratch: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.scratch = Path(tempfile.mkdtemp(prefix="gort-pip-"))
        cls.venv = cls.scratch / "venv"
        made = run([sys.executable, "-m", "venv", str(cls.venv)], cls.scratch, build_env(), 180)
        if made.returncode != 0:
            raise AssertionError(f"python -m venv failed:\n{made.stdout}\n{made.stderr}")
        cls.python = cls.venv / "bin" / "python"

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.scratch, True)

    def pip(self, *args: str) -> "subprocess.CompletedProcess[str]":
        started = time.monotonic()
        result = run(
            [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *args],
            self.scratch,
            build_env(),
            BUILD_TIMEOUT,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0 and any(sign in output for sign in _OFFLINE_SIGNS):
            report(
                "*" * 72 + f"\nSKIPPED: pip cannot reach a package index: `pip install {' '.join(args)}` "
                "was NOT tested\n" + "*" * 72
            )
            self.skipTest(f"SKIPPED: pip cannot reach a package index:\n{output[-2000:]}")
        self.assertEqual(result.returncode, 0, f"pip install {' '.join(args)} failed:\n{output}")
        report(f"pip install {' '.join(args)}: {time.monotonic() - started:.0f} s")
        return result

    def test_pip_install_bundles_the_library_and_runs_anywhere(self) -> None:
        self.pip(str(SOURCE_ROOT))
        elsewhere = self.scratch / "elsewhere"
        elsewhere.mkdir(exist_ok=True)
        code = (
            "import ctypes, threading, gort\n"
            "print(gort.__file__)\n"
            "print(gort.library_path)\n"
            "ch = gort.Channel(ctypes.c_int64, cap=1)\n"
            "ch.send(41)\n"
            "assert ch.recv() == 41\n"
            "sender = threading.Thread(target=ch.send, args=(42,))\n"
            "sender.start()\n"
            "assert ch.recv(timeout=10) == 42\n"
            "sender.join()\n"
            "print(gort.version())\n"
        )
        # No environment at all: nothing may point at the checkout.
        result = run([str(self.python), "-c", code], elsewhere, {}, 60)
        self.assertEqual(result.returncode, 0, result.stderr)
        package, library, version = result.stdout.splitlines()
        self.assertTrue(package.startswith(str(self.venv)), package)
        self.assertEqual(Path(library), Path(package).parent / "_native.abi3.so")
        self.assertTrue(version.startswith("gort "), version)
        self.assertTrue((Path(package).parent / "py.typed").is_file())

    def test_maturin_build_makes_a_wheel(self) -> None:
        self.pip("maturin>=1.5,<2")
        wheels = self.scratch / "wheels"
        started = time.monotonic()
        result = run(
            [str(self.venv / "bin" / "maturin"), "build", "--release", "--out", str(wheels)],
            SOURCE_ROOT,
            build_env(),
            BUILD_TIMEOUT,
        )
        self.assertEqual(result.returncode, 0, f"maturin build failed:\n{result.stdout}\n{result.stderr}")
        report(f"maturin build --release: {time.monotonic() - started:.0f} s")
        built = sorted(wheels.glob("gort-0.1.0-*.whl"))
        self.assertEqual(len(built), 1, built)
        self.assertIn("-abi3-", built[0].name)
        with zipfile.ZipFile(built[0]) as wheel:
            names = set(wheel.namelist())
        for required in ("gort/__init__.py", "gort/_lib.py", "gort/py.typed", "gort/_native.abi3.so"):
            self.assertIn(required, names)
        stray: Optional[str] = next((n for n in names if "__pycache__" in n or n.startswith("tests/")), None)
        self.assertIsNone(stray)


if __name__ == "__main__":
    unittest.main()
