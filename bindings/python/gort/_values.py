"""Element types, and the checked conversion of Python values to C elements.

A channel copies elements byte for byte, possibly to C code or another
thread. So:

* **No pointers.** ``c_char_p``, ``c_void_p``, ``POINTER(...)``, function
  pointers and ``py_object`` -- or a Structure, Union or array holding one --
  are refused as element types (:class:`TypeError`): the pointer would lead
  the receiver into memory owned by the sender's Python objects, which may be
  freed or moved by the time it reads. Data goes by value (an array such as
  ``c_char * 64``, a Structure of values), or, for memory the program
  manages itself, as an address in an integer type (``c_size_t``).
* **No silent truncation.** ctypes stores ``2**70`` in a ``c_int64`` as 0,
  ``-1`` in a ``c_uint8`` as 255 and ``"false"`` in a ``c_bool`` as True.
  Here an integer out of its type's range (or a bit field's) raises
  :class:`OverflowError`, as does a finite float too large for ``c_float``;
  ``c_bool`` takes only ``True`` or ``False``; any other value of the wrong
  kind (a float for an integer, a str for a number or ``c_char``) raises
  :class:`TypeError`. The same rules apply to every field of a Structure or
  Union and every item of an array.
"""

from __future__ import annotations

import ctypes
import math
import numbers
import operator
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type

__all__ = ["Codec", "CType"]

#: Anything :class:`gort.Channel` accepts as an element type: a ctypes type,
#: or ``None`` for a channel of empty elements (Go's ``chan struct{}``).
CType = Optional[Type[Any]]

# ctypes' _type_ codes of its simple types.
_SIGNED = "bhilq"
_UNSIGNED = "BHILQ"
_FLOATS = "fdg"
_POINTER_CODES = "zZPO"  # c_char_p, c_wchar_p, c_void_p, py_object

_POINTER_ADVICE = (
    "a pointer cannot cross a channel: the receiver would read memory owned by the "
    "sender's Python objects, which may be freed or moved by then. Send the data by value "
    "(a ctypes array such as ctypes.c_char * 64, or a Structure of values), or, for memory "
    "you manage yourself, its address as an integer (ctypes.c_size_t)"
)


def _name(ctype: Any) -> str:
    return getattr(ctype, "__name__", repr(ctype))


def _fields(ctype: Type[Any]) -> Iterator[Tuple[str, Type[Any], Optional[int]]]:
    """Every field of a Structure or Union, base classes' first (as ctypes lays them out)."""
    for klass in reversed(ctype.__mro__):
        for field in klass.__dict__.get("_fields_", ()):
            yield field[0], field[1], field[2] if len(field) > 2 else None


def _pointer_in(ctype: Type[Any], where: str) -> Optional[str]:
    """Where a pointer hides in ``ctype`` (e.g. ``"Packet.data (c_char_p)"``), or None."""
    if issubclass(ctype, (ctypes._Pointer, ctypes._CFuncPtr)):  # type: ignore[attr-defined]
        return f"{where} ({_name(ctype)})"
    if issubclass(ctype, ctypes._SimpleCData) and getattr(ctype, "_type_") in _POINTER_CODES:
        return f"{where} ({_name(ctype)})"
    if issubclass(ctype, ctypes.Array):
        return _pointer_in(getattr(ctype, "_type_"), f"{where}[]")
    if issubclass(ctype, (ctypes.Structure, ctypes.Union)):
        for field, field_type, _ in _fields(ctype):
            found = _pointer_in(field_type, f"{where}.{field}")
            if found:
                return found
    return None


def _int_bounds(ctype: Type[Any], bits: Optional[int]) -> Tuple[int, int]:
    width = bits if bits is not None else 8 * ctypes.sizeof(ctype)
    if ctype._type_ in _SIGNED:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def _simple(ctype: Type[Any], value: Any, where: str, bits: Optional[int] = None) -> Any:
    """The checked Python value of a simple-typed element, field or item."""
    code = ctype._type_
    if isinstance(value, ctypes._SimpleCData) and type(value) is ctype:
        value = value.value
    kind = type(value).__name__
    if code in _SIGNED or code in _UNSIGNED:
        try:
            number = operator.index(value)
        except TypeError:
            raise TypeError(f"{where}: {_name(ctype)} takes an int, not {kind}") from None
        low, high = _int_bounds(ctype, bits)
        if not low <= number <= high:
            span = f"{bits}-bit field of {_name(ctype)}" if bits is not None else _name(ctype)
            raise OverflowError(f"{where}: {number} does not fit in a {span} ({low}..{high})")
        return number
    if code == "?":
        if not isinstance(value, bool):
            raise TypeError(f"{where}: c_bool takes True or False, not {kind} {value!r}")
        return value
    if code in _FLOATS:
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: {_name(ctype)} takes a float or an int, not {kind}")
        real = float(value)  # OverflowError for an int beyond a double
        if code == "f" and math.isfinite(real) and math.isinf(ctypes.c_float(real).value):
            raise OverflowError(f"{where}: {real!r} does not fit in a c_float")
        return real
    if code == "c":
        if isinstance(value, (bytes, bytearray)) and len(value) == 1:
            return bytes(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 255:
                raise OverflowError(f"{where}: {value} does not fit in a c_char (0..255)")
            return bytes([value])
        raise TypeError(f"{where}: c_char takes one byte (bytes of length 1 or an int 0..255), not {value!r}")
    if code == "u":
        if isinstance(value, str) and len(value) == 1:
            return value
        raise TypeError(f"{where}: c_wchar takes a str of length 1, not {value!r}")
    raise TypeError(f"{where}: {_name(ctype)} is not supported as a channel element")


def _convert(ctype: Type[Any], value: Any, where: str) -> Any:
    """A fresh ctypes object of ``ctype`` holding ``value``, checked."""
    if isinstance(value, ctype) and not issubclass(ctype, ctypes._SimpleCData):
        # Copy now: the value sent is the value at the call (as in Go),
        # even if another thread changes the object while the send waits.
        return ctype.from_buffer_copy(value) if ctypes.sizeof(ctype) else ctype()
    if issubclass(ctype, ctypes._SimpleCData):
        return ctype(_simple(ctype, value, where))
    if issubclass(ctype, (ctypes.Structure, ctypes.Union)):
        return _record(ctype, value, where)
    if issubclass(ctype, ctypes.Array):
        return _array(ctype, value, where)
    raise TypeError(f"{where}: {_name(ctype)} is not supported as a channel element")


def _record(ctype: Type[Any], value: Any, where: str) -> Any:
    fields = list(_fields(ctype))
    if isinstance(value, dict):
        known = {name for name, _, _ in fields}
        unknown = [key for key in value if key not in known]
        if unknown:
            raise TypeError(f"{where}: {_name(ctype)} has no field {unknown[0]!r}")
        items: List[Tuple[str, Any]] = list(value.items())
    elif isinstance(value, (tuple, list)):
        if len(value) > len(fields):
            raise TypeError(f"{where}: {_name(ctype)} has {len(fields)} fields, got {len(value)} values")
        items = [(name, item) for (name, _, _), item in zip(fields, value)]
    else:
        raise TypeError(
            f"{where}: {_name(ctype)} takes an instance, a tuple or a dict of its fields, not {type(value).__name__}"
        )
    types: Dict[str, Tuple[Type[Any], Optional[int]]] = {name: (t, bits) for name, t, bits in fields}
    record = ctype()
    for name, item in items:
        field_type, bits = types[name]
        inner = f"{where}.{name}"
        if issubclass(field_type, ctypes._SimpleCData):
            setattr(record, name, _simple(field_type, item, inner, bits))
        else:
            # Copied in place: ctypes' field assignment wants bytes, not an
            # instance, for a c_char array.
            part = _convert(field_type, item, inner)
            offset = getattr(ctype, name).offset
            ctypes.memmove(ctypes.addressof(record) + offset, ctypes.addressof(part), ctypes.sizeof(part))
    return record


def _array(ctype: Type[Any], value: Any, where: str) -> Any:
    item_type, length = ctype._type_, ctype._length_
    array = ctype()
    if item_type is ctypes.c_char and isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) > length:
            raise ValueError(f"{where}: {len(data)} bytes do not fit in {_name(ctype)} ({length} bytes)")
        array.raw = data + bytes(length - len(data))
        return array
    if item_type is ctypes.c_wchar and isinstance(value, str):
        if len(value) > length:
            raise ValueError(f"{where}: {len(value)} characters do not fit in {_name(ctype)}")
        array.value = value
        return array
    if not isinstance(value, (tuple, list, range)):
        raise TypeError(f"{where}: {_name(ctype)} takes an instance or a sequence, not {type(value).__name__}")
    if len(value) > length:
        raise ValueError(f"{where}: {len(value)} items do not fit in {_name(ctype)}")
    simple = issubclass(item_type, ctypes._SimpleCData)
    for index, item in enumerate(value):
        inner = f"{where}[{index}]"
        array[index] = _simple(item_type, item, inner) if simple else _convert(item_type, item, inner)
    return array


class Codec:
    """Converts between Python values and the C elements of one channel's element type."""

    __slots__ = ("ctype", "size", "simple")

    def __init__(self, ctype: CType):
        """Check ``ctype`` as an element type.

        Raises:
            TypeError: not a ctypes type (nor None), or a pointer type or a
                type holding one (the message says how to send such data).
        """
        if ctype is not None:
            if not isinstance(ctype, type):
                raise TypeError(
                    f"element type must be a ctypes type or None, not an instance of {type(ctype).__name__}"
                )
            try:
                ctypes.sizeof(ctype)
            except TypeError:
                raise TypeError(f"element type must be a ctypes type or None, not {ctype!r}") from None
            pointer = _pointer_in(ctype, _name(ctype))
            if pointer is not None:
                where = "it is a pointer" if pointer.startswith(f"{_name(ctype)} (") else f"{pointer} is a pointer"
                raise TypeError(f"gort.Channel({_name(ctype)}): {where}, and {_POINTER_ADVICE}.")
        self.ctype = ctype
        self.size = 0 if ctype is None else ctypes.sizeof(ctype)
        self.simple = ctype is not None and issubclass(ctype, ctypes._SimpleCData)

    def encode(self, value: Any) -> Any:
        """A ctypes object holding ``value``, for passing by reference.

        Raises:
            TypeError: ``value`` is of the wrong kind for the element type.
            OverflowError: a number does not fit its C type.
            ValueError: too many bytes or items for an array.
        """
        if self.ctype is None:
            if value is not None:
                raise TypeError(f"a channel of element type None only carries None, not {type(value).__name__}")
            return ctypes.c_char()  # a valid address; zero bytes are read from it
        return _convert(self.ctype, value, "value")

    def new_buffer(self) -> Any:
        """A zeroed buffer to receive one element into, or None for empty elements."""
        return None if self.ctype is None else self.ctype()

    def decode(self, buffer: Any) -> Any:
        """The Python value of a received element."""
        if buffer is None:
            return None
        return buffer.value if self.simple else buffer

    def decode_bytes(self, raw: bytes) -> Any:
        """The Python value of an element kept as its bytes."""
        return None if self.ctype is None else self.decode(self.ctype.from_buffer_copy(raw))
