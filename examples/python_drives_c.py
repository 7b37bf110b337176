#!/usr/bin/env python3
"""Python drives C goroutines through the `gort` package.

    cargo build --release
    python3 examples/python_drives_c.py

(From anywhere else: PYTHONPATH=bindings/python, and GORT_LIBRARY=path/to/libgort.so
if the library is not in the repository's target/release.)

The script compiles examples/python_workers.c into a small shared library
with `cc`, starts four goroutines running its C function `prime_worker`, and
talks to them over two channels: a Python thread sends jobs (Python -> C),
the main thread receives the results (C -> Python). The C code counts primes
in a loop without function calls; gort schedules the goroutines on its own
threads, in parallel with Python, because every blocking gort call releases
the GIL. Python code itself never runs on a goroutine: gort.go() takes C
functions only.

Exit status 0 when every result is right.
"""

import ctypes
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

try:
    import gort
except ImportError:
    sys.path.insert(0, str(ROOT / "bindings" / "python"))  # run from a checkout
    import gort


# The channel elements, laid out as in python_workers.c.
class Job(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int64), ("below", ctypes.c_int64)]


class Result(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int64), ("primes", ctypes.c_int64), ("goroutine", ctypes.c_uint64)]


class Pool(ctypes.Structure):
    _fields_ = [("jobs", ctypes.c_void_p), ("results", ctypes.c_void_p), ("done", ctypes.c_void_p)]


def build_workers(outdir: str) -> ctypes.CDLL:
    """Compiles python_workers.c against the libgort.so that gort loaded."""
    libdir = os.path.dirname(os.path.abspath(gort.library_path))
    include = os.environ.get("GORT_INCLUDE", str(ROOT / "include"))
    out = os.path.join(outdir, "libpython_workers.so")
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-pthread", "-I", include,
           str(HERE / "python_workers.c"), "-o", out, "-L", libdir, "-Wl,-rpath," + libdir, "-lgort"]
    subprocess.run(cmd, check=True)
    return ctypes.CDLL(out)


def primes_below(n: int) -> int:
    """The reference answer, with a sieve."""
    if n < 3:
        return 0
    sieve = bytearray([1]) * n
    sieve[0] = sieve[1] = 0
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(range(i * i, n, i)))
    return sum(sieve)


def main() -> int:
    workers = 4
    bounds = [10_000 * (i + 1) for i in range(24)]

    with tempfile.TemporaryDirectory() as tmp:
        lib = build_workers(tmp)

        jobs = gort.Channel(Job, cap=8)         # Python -> C
        results = gort.Channel(Result, cap=8)   # C -> Python
        done = gort.WaitGroup()
        # Lent pointers: the Python objects stay alive until the workers are done.
        pool = Pool(jobs.ptr, results.ptr, done.ptr)

        start = time.monotonic()
        done.add(workers)
        for i in range(workers):
            gort.go(lib.prime_worker, pool, name=f"prime worker {i}")

        def feed() -> None:                     # a Python thread sending to C goroutines
            for i, below in enumerate(bounds):
                jobs.send((i, below))
            jobs.close()                        # the workers return once it is drained

        def close_when_done() -> None:
            done.wait()
            results.close()                     # ends the loop below

        threads = [threading.Thread(target=feed), threading.Thread(target=close_when_done)]
        for t in threads:
            t.start()

        got = {}
        by = set()
        for r in results:                       # until closed and drained
            got[r.id] = r.primes
            by.add(r.goroutine)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start

    wrong = [i for i, below in enumerate(bounds) if got.get(i) != primes_below(below)]
    s = gort.stats()
    print(f"python_drives_c: {len(got)} jobs done by {len(by)} C goroutines in {elapsed:.2f} s "
          f"(primes below {bounds[-1]}: {got.get(len(bounds) - 1)}); "
          f"gort: {s['maxprocs']} Ps, {s['preempt_async']} async preemptions")
    if len(got) != len(bounds) or wrong:
        print(f"python_drives_c: wrong or missing results for jobs {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
