"""Where `import gort` looks for the C library, in which order, and how it fails.

Each case copies the package into a scratch directory and imports it in a
fresh interpreter, with the library placed (as a symlink) where the case
needs it. Two layouts:

* a checkout: ``<root>/Cargo.toml``, ``<root>/bindings/python/pyproject.toml``
  and the package in ``<root>/bindings/python/gort``, the build directories
  in ``<root>/target/{release,debug}``;
* an installed package: ``<root>/lib/python3/site-packages/gort``, with no
  ``pyproject.toml`` or ``Cargo.toml`` around it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from pathlib import Path
from typing import Dict, Optional, Tuple

import gort
from gort_testlib import PACKAGE_ROOT, run_python, start_watchdog, stop_watchdog, subprocess_env

LIBRARY = Path(gort.library_path).resolve()
BUNDLED = "_native.abi3.so"


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


class LookupOrderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gort-loader-")).resolve()
        self.addCleanup(shutil.rmtree, self.root, True)

    def package(self, checkout: bool) -> Path:
        """Copy the package (without any library) and return the directory to put on sys.path."""
        source = self.root / "bindings" / "python" if checkout else self.root / "lib" / "python3" / "site-packages"
        shutil.copytree(PACKAGE_ROOT / "gort", source / "gort", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        if checkout:
            (self.root / "Cargo.toml").write_text('[package]\nname = "gort"\n')
            (source / "pyproject.toml").write_text('[project]\nname = "gort"\n')
        return source

    def place(self, where: Path) -> Path:
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(LIBRARY, where)
        return where

    def env(self, source: Path, library_env: Optional[str] = None, ld_path: Optional[Path] = None) -> Dict[str, str]:
        """The test's environment, without anything that points at a library unless asked."""
        env: Dict[str, str] = subprocess_env()
        env["PYTHONPATH"] = str(source)
        for name in ("GORT_LIBRARY", "LD_LIBRARY_PATH", "LIBRARY_PATH"):
            env.pop(name, None)
        if library_env is not None:
            env["GORT_LIBRARY"] = library_env
        if ld_path is not None:
            env["LD_LIBRARY_PATH"] = str(ld_path)
        return env

    def load(
        self, source: Path, library_env: Optional[str] = None, ld_path: Optional[Path] = None
    ) -> Tuple[int, str, str]:
        code = "import gort; print(gort.library_path); print(gort.version()); gort.Channel(None).close()"
        result = run_python(code, env=self.env(source, library_env, ld_path), cwd=str(self.root), timeout=60)
        return result.returncode, result.stdout, result.stderr

    def skip_if_system_library(self, source: Path) -> None:
        """Skip when this machine has a libgort.so the system-wide search would find."""
        found = run_python("import ctypes.util; print(ctypes.util.find_library('gort'))", env=self.env(source))
        if found.stdout.strip() != "None":
            self.skipTest(f"this machine has a system-wide libgort.so ({found.stdout.strip()}), which would be found")

    def assertLoads(self, source: Path, expected: str, **kwargs: object) -> None:
        code, out, err = self.load(source, **kwargs)  # type: ignore[arg-type]
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[0], expected)

    def test_bundled_library_first(self) -> None:
        source = self.package(checkout=True)
        bundled = self.place(source / "gort" / BUNDLED)
        self.place(self.root / "target" / "release" / "libgort.so")
        self.assertLoads(source, str(bundled))

    def test_checkout_release_before_debug(self) -> None:
        source = self.package(checkout=True)
        release = self.place(self.root / "target" / "release" / "libgort.so")
        self.place(self.root / "target" / "debug" / "libgort.so")
        self.assertLoads(source, str(release))

    def test_checkout_debug_build(self) -> None:
        source = self.package(checkout=True)
        debug = self.place(self.root / "target" / "debug" / "libgort.so")
        self.assertLoads(source, str(debug))

    def test_build_directories_only_in_a_checkout(self) -> None:
        # An installed package never looks around itself for target/.
        source = self.package(checkout=False)
        # Where a checkout's build directories would be, seen from the package.
        self.place(self.root / "lib" / "target" / "release" / "libgort.so")
        self.place(self.root / "target" / "release" / "libgort.so")
        self.skip_if_system_library(source)
        code, _, err = self.load(source)
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        self.assertNotIn("target", err)

    def test_system_library_last(self) -> None:
        source = self.package(checkout=False)
        system_dir = self.root / "usr-lib"
        self.place(system_dir / "libgort.so")
        self.assertLoads(source, "libgort.so", ld_path=system_dir)

    def test_bundled_library_before_system(self) -> None:
        source = self.package(checkout=False)
        bundled = self.place(source / "gort" / BUNDLED)
        system_dir = self.root / "usr-lib"
        self.place(system_dir / "libgort.so")
        self.assertLoads(source, str(bundled), ld_path=system_dir)

    def test_environment_variable_wins(self) -> None:
        source = self.package(checkout=True)
        self.place(source / "gort" / BUNDLED)
        elsewhere = self.place(self.root / "elsewhere" / "libgort-custom.so")
        self.assertLoads(source, str(elsewhere), library_env=str(elsewhere))

    def test_nothing_found_names_every_place(self) -> None:
        source = self.package(checkout=True)
        self.skip_if_system_library(source)
        code, _, err = self.load(source)
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        for place in (
            source / "gort" / BUNDLED,
            self.root / "target" / "release" / "libgort.so",
            self.root / "target" / "debug" / "libgort.so",
        ):
            self.assertIn(str(place), err)
        self.assertIn("find_library('gort')", err)
        self.assertIn("GORT_LIBRARY", err)
        self.assertIn("pip install", err)

    def test_missing_explicit_library_is_an_error(self) -> None:
        source = self.package(checkout=True)
        self.place(self.root / "target" / "release" / "libgort.so")  # must not be used instead
        missing = self.root / "no" / "such" / "libgort.so"
        code, _, err = self.load(source, library_env=str(missing))
        self.assertNotEqual(code, 0)
        self.assertIn("ImportError", err)
        self.assertIn(str(missing), err)
        self.assertIn("GORT_LIBRARY names a file that does not exist", err)

    def test_not_a_library(self) -> None:
        source = self.package(checkout=True)
        bogus = self.root / "libgort.so"
        bogus.write_text("not an ELF file")
        code, _, err = self.load(source, library_env=str(bogus))
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
        source = self.package(checkout=True)
        code, _, err = self.load(source, library_env=str(libm))
        self.assertNotEqual(code, 0)
        self.assertIn("does not export gort_", err)


if __name__ == "__main__":
    unittest.main()
