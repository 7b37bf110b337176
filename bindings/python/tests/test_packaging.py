"""The package builds and installs offline: wheel, sdist, `pip install`, `pip install -e`."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Dict

from gort_testlib import SOURCE_ROOT, start_watchdog, stop_watchdog, subprocess_env


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


def backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gort_build", SOURCE_ROOT / "_build" / "gort_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BackendTest(unittest.TestCase):
    def setUp(self) -> None:
        self.out = Path(tempfile.mkdtemp(prefix="gort-build-"))
        self.addCleanup(shutil.rmtree, self.out, True)

    def test_wheel(self) -> None:
        name = backend().build_wheel(str(self.out))
        self.assertEqual(name, "gort-0.1.0-py3-none-any.whl")
        with zipfile.ZipFile(self.out / name) as wheel:
            names = set(wheel.namelist())
            for required in (
                "gort/__init__.py",
                "gort/py.typed",
                "gort/_lib.py",
                "gort/channel.py",
                "gort-0.1.0.dist-info/METADATA",
                "gort-0.1.0.dist-info/WHEEL",
                "gort-0.1.0.dist-info/RECORD",
            ):
                self.assertIn(required, names)
            self.assertFalse([n for n in names if "__pycache__" in n or n.startswith("tests/")])
            metadata = wheel.read("gort-0.1.0.dist-info/METADATA").decode()
            self.assertIn("Name: gort\n", metadata)
            self.assertIn("Version: 0.1.0\n", metadata)
            self.assertIn("Requires-Python: >=3.8\n", metadata)
            # RECORD lists every other file with its hash and size.
            record = list(csv.reader(io.StringIO(wheel.read("gort-0.1.0.dist-info/RECORD").decode())))
            recorded: Dict[str, str] = {row[0]: row[1] for row in record}
            self.assertEqual(set(recorded), names)
            for path, digest in recorded.items():
                if path.endswith("RECORD"):
                    continue
                data = wheel.read(path)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual(digest, f"sha256={expected}", path)

    def test_sdist(self) -> None:
        name = backend().build_sdist(str(self.out))
        self.assertEqual(name, "gort-0.1.0.tar.gz")
        with tarfile.open(self.out / name) as sdist:
            names = set(sdist.getnames())
        for required in (
            "pyproject.toml",
            "README.md",
            "_build/gort_build.py",
            "gort/__init__.py",
            "tests/helper.c",
            "PKG-INFO",
        ):
            self.assertIn(f"gort-0.1.0/{required}", names)

    def test_toml_subset_parser_agrees_with_tomllib(self) -> None:
        try:
            import tomllib
        except ImportError:
            self.skipTest("tomllib needs Python 3.11")
        text = (SOURCE_ROOT / "pyproject.toml").read_text()
        subset = backend()._parse_toml_subset(text)
        full = tomllib.loads(text)
        self.assertEqual(subset["project"], full["project"])
        self.assertEqual(subset["tool.gort-build"], full["tool"]["gort-build"])


class PipInstallTest(unittest.TestCase):
    """`pip install` with no package index at all."""

    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gort-pip-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        venv = subprocess.run(
            [sys.executable, "-m", "venv", str(self.root / "venv")], capture_output=True, text=True, timeout=120
        )
        if venv.returncode != 0:
            self.skipTest(f"cannot make a virtual environment with pip: {venv.stderr.strip()[-200:]}")
        self.python = self.root / "venv" / "bin" / "python"

    def pip_install(self, *args: str) -> None:
        env = subprocess_env()
        env.pop("PYTHONPATH")
        result = subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--no-index",
                "--no-cache-dir",
                "--disable-pip-version-check",
                *args,
            ],
            env=env,
            cwd=str(self.root),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(result.returncode, 0, f"pip install failed:\n{result.stdout}\n{result.stderr}")

    def imported_from(self) -> str:
        env = subprocess_env()
        env.pop("PYTHONPATH")
        result = subprocess.run(
            [str(self.python), "-c", "import gort; print(gort.__file__); print(gort.version())"],
            env=env,
            cwd=str(self.root),
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.splitlines()[0]

    def test_install(self) -> None:
        self.pip_install(str(SOURCE_ROOT))
        location = self.imported_from()
        self.assertTrue(location.startswith(str(self.root / "venv")), location)
        self.assertTrue((Path(location).parent / "py.typed").is_file())

    def test_editable_install(self) -> None:
        self.pip_install("-e", str(SOURCE_ROOT))
        self.assertEqual(Path(self.imported_from()), SOURCE_ROOT / "gort" / "__init__.py")


if __name__ == "__main__":
    unittest.main()
