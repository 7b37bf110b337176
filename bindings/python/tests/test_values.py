"""What may cross a channel, and how values are checked on the way in.

No pointers (they would lead the receiver into memory owned by the sender's
Python objects), no silent truncation (ctypes would store 2**70 in a c_int64
as 0), no guessing (``"false"`` is not a bool). Every rule also holds for a
Structure's fields, an array's items and select's SEND cases, and a refused
value sends nothing.
"""

from __future__ import annotations

import ctypes
import typing
import unittest

import gort
from gort_testlib import GortTestCase, start_watchdog, stop_watchdog


def setUpModule() -> None:
    start_watchdog()


def tearDownModule() -> None:
    stop_watchdog()


class Pair(ctypes.Structure):
    _fields_ = [("small", ctypes.c_uint8), ("flag", ctypes.c_bool)]


class Nested(ctypes.Structure):
    _fields_ = [("pair", Pair), ("items", ctypes.c_int16 * 3), ("name", ctypes.c_char * 8)]


class Bits(ctypes.Structure):
    _fields_ = [("low", ctypes.c_uint32, 3), ("signed", ctypes.c_int32, 4)]


class WithPointer(ctypes.Structure):
    _fields_ = [("length", ctypes.c_size_t), ("data", ctypes.c_char_p)]


class Derived(Pair):
    _fields_ = [("extra", ctypes.c_int8)]


class PointerTypesTest(unittest.TestCase):
    def test_pointer_element_types_are_refused_with_advice(self) -> None:
        callback = ctypes.CFUNCTYPE(None)

        class Inner(ctypes.Structure):
            _fields_ = [("p", ctypes.POINTER(ctypes.c_int))]

        class Outer(ctypes.Union):
            _fields_ = [("n", ctypes.c_int64), ("inner", Inner * 2)]

        for bad, where in (
            (ctypes.c_char_p, "c_char_p"),
            (ctypes.c_wchar_p, "c_wchar_p"),
            (ctypes.c_void_p, "c_void_p"),
            (ctypes.py_object, "py_object"),
            (ctypes.POINTER(ctypes.c_int64), "LP_c_long"),
            (callback, "CFunctionType"),
            (WithPointer, "WithPointer.data"),
            (ctypes.c_char_p * 4, "c_char_p_Array_4[]"),
            (Outer, "Outer.inner[].p"),
        ):
            with self.subTest(ctype=bad):
                with self.assertRaises(TypeError) as caught:
                    gort.Channel(bad)
                message = str(caught.exception)
                self.assertIn(where, message)
                self.assertIn("pointer", message)
                self.assertIn("by value", message)  # how to send it instead
                self.assertIn("c_size_t", message)  # or as an explicit address

    def test_from_ptr_refuses_pointer_types_too(self) -> None:
        ch = gort.Channel(ctypes.c_uint64)
        with self.assertRaises(TypeError):
            gort.Channel.from_ptr(ch.ptr, ctypes.c_void_p)

    def test_addresses_travel_as_integers(self) -> None:
        buffer = ctypes.create_string_buffer(b"kept alive by the sender")
        ch = gort.Channel(ctypes.c_size_t, cap=1)
        ch.send(ctypes.addressof(buffer))
        self.assertEqual(ctypes.string_at(ch.recv()), b"kept alive by the sender")


class IntegerRangeTest(GortTestCase):
    def test_every_integer_type_takes_its_whole_range_and_nothing_more(self) -> None:
        for ctype in (
            ctypes.c_int8,
            ctypes.c_uint8,
            ctypes.c_int16,
            ctypes.c_uint16,
            ctypes.c_int32,
            ctypes.c_uint32,
            ctypes.c_int64,
            ctypes.c_uint64,
            ctypes.c_long,
            ctypes.c_ulong,
            ctypes.c_size_t,
            ctypes.c_ssize_t,
            ctypes.c_byte,
            ctypes.c_ubyte,
        ):
            bits = 8 * ctypes.sizeof(ctype)
            signed = ctype(-1).value == -1
            low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            with self.subTest(ctype=ctype.__name__):
                ch = gort.Channel(ctype, cap=2)
                for good in (low, high):
                    ch.send(good)
                    self.assertEqual(ch.recv(), good)
                for bad in (low - 1, high + 1, 2**70, -(2**70)):
                    with self.assertRaises(OverflowError):
                        ch.send(bad)
                    with self.assertRaises(OverflowError):
                        ch.try_send(bad)
                self.assertEqual(len(ch), 0)  # nothing was sent

    def test_the_reported_cases(self) -> None:
        with self.assertRaises(OverflowError):
            gort.Channel(ctypes.c_int64, cap=1).send(2**70)
        with self.assertRaises(OverflowError) as caught:
            gort.Channel(ctypes.c_uint8, cap=1).send(-1)
        self.assertIn("0..255", str(caught.exception))

    def test_structure_fields_array_items_and_bit_fields(self) -> None:
        ch = gort.Channel(Nested, cap=1)
        with self.assertRaises(OverflowError):
            ch.send({"pair": (256, True)})
        with self.assertRaises(OverflowError):
            ch.send({"items": (1, 2, 40000)})
        bits = gort.Channel(Bits, cap=1)
        bits.send((7, -8))
        got = bits.recv()
        self.assertEqual((got.low, got.signed), (7, -8))
        for bad in ((8, 0), (0, 8), (0, -9), (-1, 0)):
            with self.subTest(bits=bad), self.assertRaises(OverflowError):
                bits.send(bad)
        self.assertEqual(len(ch) + len(bits), 0)

    def test_select_send_values_are_checked(self) -> None:
        ch = gort.Channel(ctypes.c_int16, cap=1)
        with self.assertRaises(OverflowError):
            gort.select([(ch, gort.SEND, 1 << 15)], timeout=0)
        self.assertEqual(len(ch), 0)

    def test_floats(self) -> None:
        small = gort.Channel(ctypes.c_float, cap=1)
        with self.assertRaises(OverflowError):
            small.send(1e300)
        small.send(float("inf"))  # not out of range: infinity is a float value
        self.assertEqual(small.recv(), float("inf"))
        double = gort.Channel(ctypes.c_double, cap=1)
        double.send(3)  # an int is a fine double
        self.assertEqual(double.recv(), 3.0)
        with self.assertRaises(OverflowError):
            double.send(10**400)


class WrongTypeTest(GortTestCase):
    def test_c_bool_takes_only_bools(self) -> None:
        ch = gort.Channel(ctypes.c_bool, cap=2)
        for bad in ("false", "", 0, 1, None, 0.0, [], b"\x00"):
            with self.subTest(value=bad), self.assertRaises(TypeError):
                ch.send(bad)
        ch.send(False)
        ch.send(True)
        self.assertEqual((ch.recv(), ch.recv()), (False, True))
        with self.assertRaises(TypeError):
            gort.Channel(Pair, cap=1).send((1, "false"))

    def test_numbers_refuse_other_types(self) -> None:
        for ctype, bad in (
            (ctypes.c_int64, 1.5),
            (ctypes.c_int64, "7"),
            (ctypes.c_int64, None),
            (ctypes.c_int64, b"7"),
            (ctypes.c_uint8, 2.0),
            (ctypes.c_double, "1.0"),
            (ctypes.c_double, None),
            (ctypes.c_double, 1j),
        ):
            with self.subTest(ctype=ctype.__name__, value=bad), self.assertRaises(TypeError):
                gort.Channel(ctype, cap=1).send(bad)

    def test_chars_and_arrays(self) -> None:
        ch = gort.Channel(ctypes.c_char, cap=1)
        for bad in ("a", b"ab", b""):
            with self.subTest(value=bad), self.assertRaises(TypeError):
                ch.send(bad)
        with self.assertRaises(OverflowError):
            ch.send(256)
        ch.send(b"a")
        self.assertEqual(ch.recv(), b"a")
        name = gort.Channel(ctypes.c_char * 4, cap=1)
        with self.assertRaises(TypeError):
            name.send("text")  # str is not bytes
        with self.assertRaises(ValueError):
            name.send(b"too long")

    def test_structures_take_instances_tuples_and_dicts_only(self) -> None:
        ch = gort.Channel(Derived, cap=1)
        for bad in (5, "x", None, {"nope": 1}, (1, True, 3, 4)):
            with self.subTest(value=bad), self.assertRaises(TypeError):
                ch.send(bad)
        ch.send((200, True, -5))  # base class fields first, as ctypes lays them out
        got = ch.recv()
        self.assertEqual((got.small, got.flag, got.extra), (200, True, -5))

    def test_nested_values_round_trip(self) -> None:
        ch = gort.Channel(Nested, cap=1)
        ch.send({"pair": {"small": 9, "flag": True}, "items": [1, -2, 3], "name": b"gort"})
        got = ch.recv()
        self.assertEqual((got.pair.small, got.pair.flag, list(got.items), got.name), (9, True, [1, -2, 3], b"gort"))


class GenericTest(unittest.TestCase):
    def test_channel_is_generic(self) -> None:
        self.assertTrue(issubclass(gort.Channel, typing.Generic))  # type: ignore[arg-type]
        alias = gort.Channel[int]
        self.assertIs(typing.get_origin(alias), gort.Channel)
        self.assertEqual(typing.get_args(alias), (int,))
        # A parametrized alias still makes channels.
        ch = alias(ctypes.c_int64, cap=1)
        ch.send(3)
        self.assertEqual(ch.recv(), 3)


if __name__ == "__main__":
    unittest.main()
