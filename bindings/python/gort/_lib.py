"""Finding, loading and declaring the gort C library.

The library is looked up, in order, at:

1. ``$GORT_LIBRARY`` -- a path to the shared library. When it is set it is
   the only place looked at: a wrong path is an error, never silently
   replaced by another copy.
2. Next to this package: ``gort/libgort.so``.
3. The project's build directories, relative to the package source
   (``bindings/python/../../target/release``, then ``.../target/debug``), so
   that ``PYTHONPATH=bindings/python`` works in a checkout after
   ``cargo build --release``.

It is loaded with a plain :class:`ctypes.CDLL`, whose calls release the GIL,
and with ``use_errno=True`` so that the ``errno`` set by ``gort_chan_make``
can be read back with :func:`ctypes.get_errno`.

Every C function of the API contract gets its ``argtypes`` and ``restype``
here, so that the rest of the package (and users of :data:`gort.lib`) never
call an undeclared prototype.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import List, Tuple

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

_LIB_NAME = "libgort.dylib" if sys.platform == "darwin" else "libgort.so"

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
}


def candidate_paths() -> List[Tuple[str, Path]]:
    """Return the places the library is looked for, in order.

    Each entry is ``(description, path)``. When ``$GORT_LIBRARY`` is set and
    not empty it is the only entry.
    """
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [(f"${LIBRARY_ENV}", Path(explicit))]
    package_dir = Path(__file__).resolve().parent  # .../bindings/python/gort
    source_root = package_dir.parent  # .../bindings/python
    project_target = source_root.parent.parent / "target"
    return [
        ("next to the package", package_dir / _LIB_NAME),
        ("the project's release build", project_target / "release" / _LIB_NAME),
        ("the project's debug build", project_target / "debug" / _LIB_NAME),
    ]


def _load() -> Tuple[ctypes.CDLL, Path]:
    candidates = candidate_paths()
    for description, path in candidates:
        if not path.is_file():
            continue
        try:
            # RTLD_LOCAL is enough: libraries linked against libgort.so find
            # this copy through its soname, so there is only ever one runtime.
            library = ctypes.CDLL(str(path), use_errno=True)
        except OSError as exc:
            raise ImportError(f"gort: cannot load {path} ({description}): {exc}") from exc
        return library, path
    looked = "\n".join(f"  - {path} ({description})" for description, path in candidates)
    hint = (
        f"set {LIBRARY_ENV} to the path of {_LIB_NAME}"
        if LIBRARY_ENV not in os.environ or not os.environ[LIBRARY_ENV]
        else f"{LIBRARY_ENV} names a file that does not exist"
    )
    raise ImportError(
        f"gort: cannot find the gort C library ({_LIB_NAME}). Looked at:\n{looked}\n"
        f"Build it with `cargo build --release` in the gort project, or {hint}."
    )


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
            "it is not a gort library of API version 1 (or is too old)"
        )


lib, library_path = _load()
_declare(lib, library_path)
