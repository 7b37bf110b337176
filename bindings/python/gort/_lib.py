"""Finding, loading and declaring the gort C library.

The library is looked up, in order:

1. ``$GORT_LIBRARY`` -- a path to the shared library. When it is set it is
   the only place looked at: a wrong path is an error, never silently
   replaced by another copy.
2. The library bundled with the package: ``gort/_native.abi3.so``, which
   ``pip install`` (maturin) builds and puts there.
3. In a checkout of the project, its build directories: the package sits in
   ``bindings/python/gort`` and the library in ``target/release`` (then
   ``target/debug``), so that ``PYTHONPATH=bindings/python`` works after
   ``cargo build --release``.
4. A system-wide ``libgort.so``: :func:`ctypes.util.find_library` (the
   loader's cache, ``LD_LIBRARY_PATH``, the compiler's library path), e.g.
   one installed with CMake.

It is loaded with a plain :class:`ctypes.CDLL`, whose calls release the GIL,
and with ``use_errno=True`` so that the ``errno`` set by ``gort_chan_make``
can be read back with :func:`ctypes.get_errno`. A library that is found but
cannot be loaded, or lacks part of the C API, is an :class:`ImportError`;
so is finding none, with every place looked at in the message.

Every C function the package uses gets its ``argtypes`` and ``restype``
here, so that the rest of the package (and users of :data:`gort.lib`) never
call an undeclared prototype.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import List, Optional, Tuple

__all__ = [
    "GortAttr",
    "GortCase",
    "GortStats",
    "LIBRARY_ENV",
    "candidate_paths",
    "lib",
    "library_path",
]

#: The environment variable naming the library to load.
LIBRARY_ENV = "GORT_LIBRARY"

_LIB_NAME = "libgort.so"
#: The library maturin builds into the package (an abi3 extension module,
#: whose import would give an empty module; it is loaded with ctypes only).
_BUNDLED_NAME = "_native.abi3.so"

# Types used in prototypes. gort_chan* and the other opaque pointers travel
# as c_void_p: ctypes then accepts ints, None, byref() and ctypes pointers.
_chan_p = ctypes.c_void_p
_int = ctypes.c_int
_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_size = ctypes.c_size_t
_voidp = ctypes.c_void_p


class GortCase(ctypes.Structure):
    """``struct gort_case``: one case of :c:func:`gort_select`."""

    _fields_ = [
        ("chan", ctypes.c_void_p),
        ("op", ctypes.c_int),
        ("elem", ctypes.c_void_p),
        ("result", ctypes.c_int),
    ]


class GortStats(ctypes.Structure):
    """``struct gort_stats``, filled by :c:func:`gort_read_stats`."""

    _fields_ = [
        ("goroutines", ctypes.c_uint64),
        ("spawned", ctypes.c_uint64),
        ("maxprocs", ctypes.c_uint32),
        ("threads", ctypes.c_uint32),
        ("preempt_async", ctypes.c_uint64),
        ("preempt_coop", ctypes.c_uint64),
        ("preempt_signals", ctypes.c_uint64),
        ("preempt_unsafe", ctypes.c_uint64),
        ("handoffs", ctypes.c_uint64),
        ("stw_count", ctypes.c_uint64),
        ("stw_last_ns", ctypes.c_uint64),
        ("stw_max_ns", ctypes.c_uint64),
    ]


class GortAttr(ctypes.Structure):
    """``struct gort_attr``, the options of :c:func:`gort_go_attr`."""

    _fields_ = [
        ("stack_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
    ]


# name -> (restype, argtypes): every function of gort.h (docs/api.md).
_PROTOTYPES = {
    # Goroutines
    "gort_go": (_int, [_voidp, _voidp]),
    "gort_go_attr": (_int, [_voidp, _voidp, ctypes.POINTER(GortAttr)]),
    "gort_main": (_int, [_voidp, _voidp]),
    "gort_yield": (None, []),
    "gort_sleep": (_int, [_i64]),
    "gort_now": (_i64, []),
    "gort_self": (_u64, []),
    "gort_maxprocs": (_int, [_int]),
    "gort_num_goroutines": (_size, []),
    "gort_lock_os_thread": (_int, []),
    "gort_unlock_os_thread": (_int, []),
    "gort_nopreempt_begin": (None, []),
    "gort_nopreempt_end": (None, []),
    "gort_blocking_begin": (None, []),
    "gort_blocking_end": (None, []),
    # Channels
    "gort_chan_make": (_chan_p, [_size, _size]),
    "gort_chan_retain": (None, [_chan_p]),
    "gort_chan_release": (None, [_chan_p]),
    "gort_chan_send": (_int, [_chan_p, _voidp]),
    "gort_chan_recv": (_int, [_chan_p, _voidp]),
    "gort_chan_try_send": (_int, [_chan_p, _voidp]),
    "gort_chan_try_recv": (_int, [_chan_p, _voidp]),
    "gort_chan_send_timeout": (_int, [_chan_p, _voidp, _i64]),
    "gort_chan_recv_timeout": (_int, [_chan_p, _voidp, _i64]),
    "gort_chan_close": (_int, [_chan_p]),
    "gort_chan_len": (_size, [_chan_p]),
    "gort_chan_cap": (_size, [_chan_p]),
    "gort_chan_elem_size": (_size, [_chan_p]),
    # Select
    "gort_select": (_int, [ctypes.POINTER(GortCase), _size, _i64]),
    # Synchronisation (the structs travel as untyped pointers)
    "gort_mutex_lock": (_int, [_voidp]),
    "gort_mutex_trylock": (_int, [_voidp]),
    "gort_mutex_unlock": (_int, [_voidp]),
    "gort_wg_add": (_int, [_voidp, _i64]),
    "gort_wg_done": (_int, [_voidp]),
    "gort_wg_wait": (_int, [_voidp]),
    # Stopping the world
    "gort_stop_the_world": (_int, []),
    "gort_start_the_world": (_int, []),
    # Introspection
    "gort_read_stats": (_int, [ctypes.POINTER(GortStats)]),
    "gort_version": (ctypes.c_char_p, []),
    # Diagnostics
    "gort_dump": (_int, [_int]),
}


def _checkout_root(package_dir: Path) -> Optional[Path]:
    """The project checkout holding this package source, if it is one."""
    root = package_dir.parent.parent.parent  # <root>/bindings/python/gort
    if (package_dir.parent / "pyproject.toml").is_file() and (root / "Cargo.toml").is_file():
        return root
    return None


def candidate_paths() -> List[Tuple[str, Path]]:
    """Return the files the library is looked for at, in order.

    Each entry is ``(description, path)``. When ``$GORT_LIBRARY`` is set and
    not empty it is the only entry. The system-wide search that follows
    these (:func:`ctypes.util.find_library`) is not listed.
    """
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [(f"${LIBRARY_ENV}", Path(explicit))]
    package_dir = Path(__file__).resolve().parent
    candidates = [("bundled with the package", package_dir / _BUNDLED_NAME)]
    root = _checkout_root(package_dir)
    if root is not None:
        candidates += [
            ("the checkout's release build", root / "target" / "release" / _LIB_NAME),
            ("the checkout's debug build", root / "target" / "debug" / _LIB_NAME),
        ]
    return candidates


def _load() -> Tuple[ctypes.CDLL, Path]:
    candidates = candidate_paths()
    for description, path in candidates:
        if not path.is_file():
            continue
        return _open(str(path), description), path
    looked = [f"  - {path} ({description}): not found" for description, path in candidates]
    if LIBRARY_ENV not in os.environ or not os.environ[LIBRARY_ENV]:
        system = ctypes.util.find_library("gort")
        if system is not None:
            return _open(system, "the system's, from ctypes.util.find_library('gort')"), Path(system)
        looked.append("  - the system's libgort.so (ctypes.util.find_library('gort')): not found")
        hint = (
            f"Install the package with `pip install ./bindings/python` (it builds and bundles the "
            f"library), build a checkout with `cargo build --release`, install libgort.so with CMake, "
            f"or set {LIBRARY_ENV} to the path of a libgort.so."
        )
    else:
        hint = f"{LIBRARY_ENV} names a file that does not exist; unset it to search the usual places."
    raise ImportError("gort: cannot find the gort C library. Looked at:\n" + "\n".join(looked) + "\n" + hint)


def _open(name: str, description: str) -> ctypes.CDLL:
    try:
        # RTLD_LOCAL is enough: libraries linked against libgort.so find
        # this copy through its soname, so there is only ever one runtime.
        return ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise ImportError(f"gort: cannot load {name} ({description}): {exc}") from exc


def _declare(library: ctypes.CDLL, path: Path) -> None:
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            missing.append(name)
            continue
        function.restype = restype
        function.argtypes = argtypes
    if missing:
        raise ImportError(
            f"gort: {path} does not export {', '.join(missing)}; "
            "it is not a gort library, or one too old for this package"
        )


lib, library_path = _load()
_declare(lib, library_path)
