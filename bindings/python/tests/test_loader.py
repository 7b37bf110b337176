"""Where `import gort` looks for the C library, in which order, and how it fails.

Each case copies the package into a scratch tree laid out like the project
(``<root>/bindings/python/gort``, ``<root>/target/{release,debug}``) and
imports it in a fresh interpreter.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from pathlib import Path
from typing import Dict, Optional

import gort
from gort_testlib import PACKAGE_ROOT, run_python, start_watchdog, stop_watchdog, subprocess_env

LIBRARY = Path(gort.library_path).resolve()


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


class LookupOrderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gort-loader-")).resolve()
        self.addCleanup(shutil.rmtree, self.root, True)
        self.source = self.root / "bindings" / "python"
        shutil.copytree(
            PACKAGE_ROOT / "gort", self.source / "gort", ignore=shutil.ignore_patterns("*.so", "__pycache__")
        )

    def place(self, where: Path) -> Path:
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(LIBRARY, where)
        return where

    def load(self, library_env: Optional[str] = None) -> "tuple[int, str, str]":
        env: Dict[str, str] = subprocess_env()
        env["PYTHONPATH"] = str(self.source)
        if library_env is None:
            env.pop("GORT_LIBRARY", None)
        else:
            env["GORT_LIBRARY"] = library_env
        result = run_python(
            "import gort; print(gort.library_path); print(gort.version())", env=env, cwd=str(self.root), timeout=60
        )
        return result.returncode, result.stdout, result.stderr

    def assertLoads(self, expected: Path, library_env: Optional[str] = None) -> None:
        code, out, err = self.load(library_env)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[0], str(expected))

    def test_next_to_the_package(self) -> None:
        beside = self.place(self.source / "gort" / "libgort.so")
        self.place(self.root / "target" / "release" / "libgort.so")
        self.assertLoads(beside)

    def test_release_before_debug(self) -> None:
        release = self.place(self.root / "target" / "release" / "libgort.so")
        self.place(self.root / "target" / "debug" / "libgort.so")
        self.assertLoads(release)

    def test_debug_build(self) -> None:
        debug = self.place(self.root / "target" / "debug" / "libgort.so")
        self.assertLoads(debug)

    def test_environment_variable_wins(self) -> None:
        self.place(self.source / "gort" / "libgort.so")
        elsewhere = self.place(self.root / "elsewhere" / "libgort-custom.so")
        self.assertLoads(elsewhere, library_env=str(elsewhere))

    def test_nothing_found_lists_every_place(self) -> None:
        code, out, err = self.load()
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        for place in (
            self.source / "gort" / "libgort.so",
            self.root / "target" / "release" / "libgort.so",
            self.root / "target" / "debug" / "libgort.so",
        ):
            self.assertIn(str(place.resolve()), err)
        self.assertIn("GORT_LIBRARY", err)

    def test_missing_explicit_library_is_an_error(self) -> None:
        self.place(self.root / "target" / "release" / "libgort.so")  # must not be used instead
        missing = self.root / "no" / "such" / "libgort.so"
        code, out, err = self.load(library_env=str(missing))
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        self.assertIn(str(missing), err)

    def test_not_a_library(self) -> None:
        bogus = self.root / "libgort.so"
        bogus.write_text("not an ELF file")
        code, out, err = self.load(library_env=str(bogus))
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        self.assertIn("cannot load", err)

    def test_wrong_library(self) -> None:
        # A real shared library without the gort API.
        candidates = [
            Path(d) / "libm.so.6"
            for d in ("/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/usr/lib")
        ]
        libm = next((c for c in candidates if c.exists()), None)
        if libm is None:
            self.skipTest("libm.so.6 not found")
        code, out, err = self.load(library_env=str(libm))
        self.assertNotEqual(code, 0)
        self.assertIn("does not export gort_", err)


if __name__ == "__main__":
    unittest.main()
