"""The ctypes declarations match gort.h, as compiled into the helper library."""

from __future__ import annotations

import ctypes
import unittest

import gort
from gort._lib import GortAttr, GortCase, GortStats
from gort_testlib import helper, start_watchdog, stop_watchdog


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


def probe(what: str) -> int:
    value = helper().helper_layout(what.encode())
    if value == 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1:
        raise AssertionError(f"unknown layout probe {what!r}")
    return int(value)


class LayoutTest(unittest.TestCase):
    def check_struct(self, c_name: str, structure: type) -> None:
        self.assertEqual(ctypes.sizeof(structure), probe(f"sizeof {c_name}"), f"sizeof {c_name}")
        for field, _ in structure._fields_:  # type: ignore[attr-defined]
            with self.subTest(field=field):
                self.assertEqual(
                    getattr(structure, field).offset, probe(f"offsetof {c_name}.{field}"), f"{c_name}.{field}"
                )

    def test_gort_case(self) -> None:
        self.check_struct("gort_case", GortCase)

    def test_gort_stats(self) -> None:
        self.check_struct("gort_stats", GortStats)

    def test_gort_attr(self) -> None:
        self.check_struct("gort_attr", GortAttr)

    def test_select_ops(self) -> None:
        self.assertEqual(int(gort.SEND), probe("GORT_SEND"))
        self.assertEqual(int(gort.RECV), probe("GORT_RECV"))

    def test_waitgroup_storage_is_big_and_aligned_enough(self) -> None:
        size, align = probe("sizeof gort_waitgroup"), probe("alignof gort_waitgroup")
        self.assertGreater(size, 0)
        self.assertLessEqual(size, gort.WaitGroup._SIZE, "gort.WaitGroup._SIZE is smaller than the C struct")
        self.assertEqual(gort.WaitGroup._ALIGN % align, 0, "gort.WaitGroup._ALIGN is too weak for the C struct")


if __name__ == "__main__":
    unittest.main()
