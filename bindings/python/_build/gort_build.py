"""A minimal PEP 517 / PEP 660 build backend for the pure-Python ``gort`` package.

Standard library only, so ``pip install bindings/python`` needs nothing from a
package index: pip's isolated build environment gets no requirements to
download (``requires = []`` in pyproject.toml).

It reads ``[project]`` from pyproject.toml and builds:

* a wheel of the ``gort/`` directory (``py3-none-any``; if a ``libgort.so``
  was copied into ``gort/`` to bundle it, the wheel is tagged for this
  platform instead);
* an editable wheel: one ``.pth`` file naming this source directory;
* an sdist with the sources, tests and this backend.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]


# -- pyproject.toml ---------------------------------------------------------


def _parse_toml_subset(text: str) -> Dict[str, Dict[str, Any]]:
    """Parse the subset of TOML our pyproject.toml uses (for Python < 3.11).

    Tables (``[a.b]``), ``key = "string"`` and (possibly multi-line) arrays
    of strings; comments. Enough for this file, not a general TOML parser.
    """
    tables: Dict[str, Dict[str, Any]] = {}
    current: Dict[str, Any] = {}
    pending_key: Optional[str] = None
    pending: List[str] = []
    string = re.compile(r'"((?:[^"\\]|\\.)*)"')
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0].strip() if '"' not in raw_line else raw_line.strip()
        if pending_key is not None:
            pending.extend(string.findall(line))
            if line.startswith("]") or line.endswith("]"):
                current[pending_key] = pending
                pending_key, pending = None, []
            continue
        if not line or line.startswith("#"):
            continue
        table = re.fullmatch(r"\[([^\]]+)\]", line)
        if table:
            current = tables.setdefault(table.group(1).strip(), {})
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if value.startswith("["):
            items = string.findall(value)
            if value.rstrip().endswith("]"):
                current[key] = items
            else:
                pending_key, pending = key, items
        else:
            match = string.match(value)
            current[key] = match.group(1) if match else value
    return tables


def _pyproject() -> Dict[str, Any]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    return _parse_toml_subset(text)


def _project() -> Tuple[Dict[str, Any], str]:
    data = _pyproject()
    project = data["project"]
    # tomllib nests tables; the subset parser keys them by their dotted name.
    options = data.get("tool", {}).get("gort-build") or data.get("tool.gort-build") or {}
    return project, options.get("package", project["name"])


def _dist_name(project: Dict[str, Any]) -> str:
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _metadata(project: Dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    license_ = project.get("license")
    if isinstance(license_, str):
        lines.append(f"License: {license_}")
    if project.get("keywords"):
        lines.append(f"Keywords: {','.join(project['keywords'])}")
    for classifier in project.get("classifiers", []):
        lines.append(f"Classifier: {classifier}")
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str) and (ROOT / readme).is_file():
        lines.append("Description-Content-Type: text/markdown")
        body = "\n" + (ROOT / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


# -- wheels -----------------------------------------------------------------


def _package_files(package: str) -> Iterator[Tuple[Path, str]]:
    base = ROOT / package
    for path in sorted(base.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        yield path, path.relative_to(ROOT).as_posix()


def _wheel_tag(files: List[Tuple[Path, str]]) -> Tuple[str, bool]:
    """``(tag, purelib)``: platform-specific when a shared library is bundled."""
    if any(arc.endswith((".so", ".dylib")) for _, arc in files):
        platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
        return f"py3-none-{platform}", False
    return "py3-none-any", True


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


class _WheelWriter:
    def __init__(self, path: Path):
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self._records: List[Tuple[str, str, str]] = []

    def add(self, arcname: str, data: bytes, executable: bool = False) -> None:
        info = zipfile.ZipInfo(arcname, date_time=time.gmtime(_source_epoch())[:6])
        info.external_attr = (0o755 if executable else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)
        self._records.append((arcname, _record_hash(data), str(len(data))))

    def close(self, record_name: str) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(self._records)
        writer.writerow((record_name, "", ""))
        info = zipfile.ZipInfo(record_name, date_time=time.gmtime(_source_epoch())[:6])
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, out.getvalue())
        self._zip.close()


def _source_epoch() -> float:
    # Reproducible builds: honour SOURCE_DATE_EPOCH; zip cannot store < 1980.
    return max(float(os.environ.get("SOURCE_DATE_EPOCH", time.time())), 315532800.0)


def _dist_info_files(project: Dict[str, Any], tag: str, purelib: bool) -> Dict[str, bytes]:
    wheel = (
        f"Wheel-Version: 1.0\nGenerator: gort_build\nRoot-Is-Purelib: {'true' if purelib else 'false'}\nTag: {tag}\n"
    )
    return {"METADATA": _metadata(project).encode(), "WHEEL": wheel.encode()}


def _build(wheel_directory: str, editable: bool) -> str:
    project, package = _project()
    name, version = _dist_name(project), project["version"]
    files = [] if editable else list(_package_files(package))
    tag, purelib = _wheel_tag(files)
    filename = f"{name}-{version}-{tag}.whl"
    dist_info = f"{name}-{version}.dist-info"
    writer = _WheelWriter(Path(wheel_directory) / filename)
    if editable:
        writer.add(f"__editable__.{name}-{version}.pth", (str(ROOT) + "\n").encode())
    for path, arcname in files:
        writer.add(arcname, path.read_bytes(), executable=os.access(path, os.X_OK) and path.suffix != ".py")
    for entry, data in _dist_info_files(project, tag, purelib).items():
        writer.add(f"{dist_info}/{entry}", data)
    writer.add(f"{dist_info}/top_level.txt", f"{package}\n".encode())
    writer.close(f"{dist_info}/RECORD")
    return filename


def _prepare_metadata(metadata_directory: str) -> str:
    project, package = _project()
    files = list(_package_files(package))
    tag, purelib = _wheel_tag(files)
    dist_info = Path(metadata_directory) / f"{_dist_name(project)}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    for entry, data in _dist_info_files(project, tag, purelib).items():
        (dist_info / entry).write_bytes(data)
    return dist_info.name


# -- PEP 517 / 660 hooks ----------------------------------------------------


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    """Nothing: the backend uses the standard library only."""
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    """Nothing: the backend uses the standard library only."""
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    """Nothing: the backend uses the standard library only."""
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    """Write the ``.dist-info`` directory of the wheel into ``metadata_directory``."""
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None
) -> str:
    """Write the ``.dist-info`` directory of the editable wheel into ``metadata_directory``."""
    return _prepare_metadata(metadata_directory)


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    """Build the wheel into ``wheel_directory`` and return its file name."""
    return _build(wheel_directory, editable=False)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    """Build an editable wheel (a ``.pth`` naming this directory) and return its file name."""
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    """Build the source distribution into ``sdist_directory`` and return its file name."""
    project, package = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    filename = f"{base}.tar.gz"
    members: List[Path] = [ROOT / "pyproject.toml", ROOT / "_build" / "gort_build.py"]
    readme = project.get("readme")
    if isinstance(readme, str):
        members.append(ROOT / readme)
    for directory in (ROOT / package, ROOT / "tests"):
        members.extend(
            p
            for p in sorted(directory.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".so", ".dylib")
        )
    mtime = int(_source_epoch())
    with tarfile.open(Path(sdist_directory) / filename, "w:gz", format=tarfile.PAX_FORMAT) as tar:

        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))

        for path in members:
            if path.is_file():
                add(path.relative_to(ROOT).as_posix(), path.read_bytes())
        add("PKG-INFO", _metadata(project).encode())
    return filename
