"""Channels and select.

A :class:`Channel` wraps one reference to a C ``gort_chan``. Its elements are
values of one ctypes type, copied in and out by the C library exactly as a C
program would copy them, so Python and C goroutines can share a channel.
"""

from __future__ import annotations

import ctypes
import enum
import errno
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Type, Union

from . import _wait
from ._errors import ChannelClosed, Timeout, error_for
from ._lib import GortCase, lib

__all__ = ["RECV", "SEND", "Channel", "Op", "select"]

#: Anything :class:`Channel` accepts as an element type: a ctypes type, or
#: ``None`` for a channel of empty elements (Go's ``chan struct{}``).
CType = Optional[Type[Any]]

_SIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1


class Op(enum.IntEnum):
    """The operation of a :func:`select` case (``GORT_SEND`` / ``GORT_RECV``)."""

    SEND = 1
    RECV = 2


#: A :func:`select` case that sends: ``(channel, gort.SEND, value)``.
SEND = Op.SEND
#: A :func:`select` case that receives: ``(channel, gort.RECV)``.
RECV = Op.RECV


class _Codec:
    """Converts between Python values and the C representation of one element type."""

    __slots__ = ("ctype", "size", "simple", "char_array")

    def __init__(self, ctype: CType):
        if ctype is not None:
            if not isinstance(ctype, type):
                raise TypeError(
                    f"element type must be a ctypes type or None, not an instance of {type(ctype).__name__}"
                )
            try:
                ctypes.sizeof(ctype)
            except TypeError:
                raise TypeError(f"element type must be a ctypes type or None, not {ctype!r}") from None
        self.ctype = ctype
        self.size = 0 if ctype is None else ctypes.sizeof(ctype)
        self.simple = ctype is not None and issubclass(ctype, ctypes._SimpleCData)
        self.char_array = (
            ctype is not None and issubclass(ctype, ctypes.Array) and getattr(ctype, "_type_", None) is ctypes.c_char
        )

    def encode(self, value: Any) -> Any:
        """Return a ctypes object holding ``value``, for passing by reference."""
        ctype = self.ctype
        if ctype is None:
            if value is not None:
                raise TypeError(f"a channel of element type None only carries None, not {type(value).__name__}")
            return ctypes.c_char()  # a valid address; zero bytes are read from it
        if isinstance(value, ctype):
            # Copy now: the value sent is the value at the call (as in Go),
            # even if another thread changes the object while the send waits.
            return ctype.from_buffer_copy(value) if self.size else ctype()
        if self.char_array and isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if len(data) > self.size:
                raise ValueError(f"{len(data)} bytes do not fit in {ctype.__name__} ({self.size} bytes)")
            buffer = ctype()
            buffer.raw = data
            return buffer
        if issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            if isinstance(value, dict):
                return ctype(**value)
            if isinstance(value, (tuple, list)):
                return ctype(*value)
        elif issubclass(ctype, ctypes.Array) and isinstance(value, (tuple, list, range)):
            return ctype(*value)
        return ctype(value)

    def new_buffer(self) -> Any:
        """Return a zeroed buffer to receive one element into, or None for empty elements."""
        return None if self.ctype is None else self.ctype()

    def decode(self, buffer: Any) -> Any:
        """Return the Python value of a received element."""
        if buffer is None:
            return None
        return buffer.value if self.simple else buffer


def _ref(buffer: Any) -> Any:
    return None if buffer is None else ctypes.byref(buffer)


class Channel:
    """A gort channel carrying elements of one ctypes type.

    ``Channel(ctypes.c_int64)`` is Go's ``make(chan int64)``;
    ``Channel(Point, cap=16)`` is a buffered channel of a
    :class:`ctypes.Structure`. ``Channel(None)`` carries empty elements (a
    ``chan struct{}``, for signalling): send ``None``, receive ``None``.

    Values: a send accepts an instance of the element type, or anything its
    constructor accepts (an ``int`` for ``c_int64``, a tuple or dict of fields
    for a Structure, a tuple for an array, ``bytes`` for a ``c_char`` array).
    A receive returns plain Python values for simple types (``int``,
    ``float``, ``bytes``...) and a fresh instance of the element type for
    structures, unions and arrays.

    Timeouts are in seconds: ``None`` waits forever, ``0`` never blocks
    (raising :class:`gort.Timeout` at once if the operation cannot proceed), a
    positive timeout raises :class:`gort.Timeout` once at least that long has
    passed. An operation that times out has had no effect. All blocking calls
    release the GIL; in the main thread they wait in short slices so that
    Ctrl-C raises :class:`KeyboardInterrupt` promptly (see ``gort._wait``).

    Ownership: the object holds one reference to the C channel and releases
    it when it is garbage collected. :meth:`from_ptr` wraps a ``gort_chan*``
    coming from C, :attr:`ptr` lends the pointer to C code (valid while this
    object lives), and :meth:`retained_ptr` hands C code a reference of its
    own. Passing the channel itself to :func:`gort.go` hands the goroutine a
    reference of its own that it must release.

    A channel is truthy even when empty (``len(ch) == 0``), and two
    :class:`Channel` objects are equal when they wrap the same C channel.
    """

    __slots__ = ("_ptr", "_codec", "__weakref__")

    _ptr: Optional[int]
    _codec: _Codec

    def __init__(self, ctype: CType, cap: int = 0):
        """Make a channel of ``ctype`` elements with a buffer of ``cap`` elements.

        Raises:
            TypeError: ``ctype`` is not a ctypes type (nor None), or ``cap`` not an int.
            ValueError: ``cap`` is negative, or the element type is larger than
                the C library accepts (64 KiB: ``EINVAL``).
            OverflowError: ``cap`` does not fit in a ``size_t``.
            OSError: the C library could not make the channel (``ENOMEM``...).
        """
        self._ptr = None
        self._codec = _Codec(ctype)
        if isinstance(cap, bool) or not isinstance(cap, int):
            raise TypeError(f"cap must be an int, not {type(cap).__name__}")
        if cap < 0:
            raise ValueError(f"cap must be >= 0, not {cap}")
        if cap > _SIZE_MAX:
            raise OverflowError(f"cap {cap} does not fit in a size_t")
        ptr = lib.gort_chan_make(self._codec.size, cap)
        if not ptr:
            raise error_for(ctypes.get_errno() or errno.ENOMEM, "gort_chan_make")
        self._ptr = ptr

    @classmethod
    def from_ptr(cls, ptr: Union[int, ctypes.c_void_p], ctype: CType, *, retain: bool = True) -> "Channel":
        """Wrap a ``gort_chan*`` that came from C.

        Args:
            ptr: the channel's address, as an int or a ``c_void_p``.
            ctype: the element type; its size must be the channel's element
                size (gort does not record types, so this cannot be checked).
            retain: ``True`` (the default) takes a new reference, leaving the
                caller's own untouched; ``False`` adopts a reference the
                caller owns (for instance one a C function returned to
                Python), which the new object will release.

        Raises:
            ValueError: ``ptr`` is NULL.
        """
        address = ptr.value if isinstance(ptr, ctypes.c_void_p) else ptr
        if isinstance(address, bool) or not isinstance(address, (int, type(None))):
            raise TypeError(f"ptr must be an int or a ctypes.c_void_p, not {type(ptr).__name__}")
        if not address:
            raise ValueError("ptr is NULL")
        self = cls.__new__(cls)
        self._ptr = None
        self._codec = _Codec(ctype)
        if retain:
            lib.gort_chan_retain(address)
        self._ptr = address
        return self

    def __del__(self, _release: Any = lib.gort_chan_release) -> None:
        # The release function is bound as a default argument so that it is
        # still reachable during interpreter shutdown, when module globals may
        # already be gone.
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._ptr = None
            try:
                _release(ptr)
            except Exception:  # pragma: no cover - only at interpreter teardown
                pass

    # -- properties -----------------------------------------------------

    @property
    def ptr(self) -> int:
        """The ``gort_chan*`` as an int, borrowed: valid while this object lives."""
        assert self._ptr is not None
        return self._ptr

    @property
    def _as_parameter_(self) -> int:
        # Lets a Channel be passed straight to a ctypes function taking a
        # void* / gort_chan* (a borrowed pointer, like .ptr).
        return self.ptr

    @property
    def ctype(self) -> CType:
        """The element type given to the constructor."""
        return self._codec.ctype

    @property
    def elem_size(self) -> int:
        """The size of one element in bytes."""
        return self._codec.size

    @property
    def cap(self) -> int:
        """The buffer capacity (0 for an unbuffered channel)."""
        return int(lib.gort_chan_cap(self._ptr))

    def __len__(self) -> int:
        """The number of elements waiting in the buffer."""
        return int(lib.gort_chan_len(self._ptr))

    def __bool__(self) -> bool:
        return True

    def retained_ptr(self) -> int:
        """Take a new reference and return the ``gort_chan*`` as an int.

        The caller (typically C code the pointer is handed to, for instance
        inside a struct passed to :func:`gort.go`) owns that reference and
        must drop it with ``gort_chan_release``.
        """
        lib.gort_chan_retain(self._ptr)
        return self.ptr

    # -- operations -----------------------------------------------------

    def send(self, value: Any, timeout: Optional[float] = None) -> None:
        """Send ``value``, waiting for room (or a receiver) up to ``timeout`` seconds.

        Raises:
            ChannelClosed: the channel is closed (also if it gets closed
                while this send waits).
            Timeout: the timeout expired; nothing was sent.
            TypeError, ValueError: ``value`` does not convert to the element type.
        """
        buffer = self._codec.encode(value)
        ptr, elem = self._ptr, ctypes.byref(buffer)
        timeout_ns = _wait.timeout_to_ns(timeout)

        def attempt(ns: int) -> int:
            if ns < 0:
                return int(lib.gort_chan_send(ptr, elem))
            return int(lib.gort_chan_send_timeout(ptr, elem, ns))

        code = _wait.blocking_call(attempt, timeout_ns, errno.ETIMEDOUT)
        if code == errno.EAGAIN:  # the C API's answer to a zero timeout
            raise Timeout("send would block (timeout=0)")
        if code:
            raise error_for(code, "send", self)

    def recv(self, timeout: Optional[float] = None) -> Any:
        """Receive one value, waiting up to ``timeout`` seconds.

        Raises:
            ChannelClosed: the channel is closed and drained.
            Timeout: the timeout expired; no value was consumed.
        """
        buffer = self._codec.new_buffer()
        ptr, out = self._ptr, _ref(buffer)
        timeout_ns = _wait.timeout_to_ns(timeout)

        def attempt(ns: int) -> int:
            if ns < 0:
                return int(lib.gort_chan_recv(ptr, out))
            return int(lib.gort_chan_recv_timeout(ptr, out, ns))

        code = _wait.blocking_call(attempt, timeout_ns, errno.ETIMEDOUT)
        if code == errno.EAGAIN:  # the C API's answer to a zero timeout
            raise Timeout("recv would block (timeout=0)")
        if code:
            raise error_for(code, "recv", self)
        return self._codec.decode(buffer)

    def try_send(self, value: Any) -> bool:
        """Send without blocking; return False if the send would block.

        Raises:
            ChannelClosed: the channel is closed.
        """
        buffer = self._codec.encode(value)
        code = lib.gort_chan_try_send(self._ptr, ctypes.byref(buffer))
        if code == errno.EAGAIN:
            return False
        if code:
            raise error_for(code, "try_send", self)
        return True

    def try_recv(self) -> Tuple[bool, Any]:
        """Receive without blocking: ``(True, value)``, or ``(False, None)`` if none is ready.

        Raises:
            ChannelClosed: the channel is closed and drained.
        """
        buffer = self._codec.new_buffer()
        code = lib.gort_chan_try_recv(self._ptr, _ref(buffer))
        if code == errno.EAGAIN:
            return False, None
        if code:
            raise error_for(code, "try_recv", self)
        return True, self._codec.decode(buffer)

    def close(self) -> None:
        """Close the channel (Go's ``close``): no more sends; receivers drain the buffer.

        Every blocked sender fails with :class:`ChannelClosed` and every
        blocked receiver wakes. This does not drop this object's reference.

        Raises:
            ChannelClosed: the channel was already closed.
        """
        code = lib.gort_chan_close(self._ptr)
        if code:
            raise error_for(code, "close", self)

    def __iter__(self) -> Iterator[Any]:
        """Receive values until the channel is closed and drained (Go's ``range``)."""
        while True:
            try:
                value = self.recv()
            except ChannelClosed:
                return
            yield value

    # -- object protocol ------------------------------------------------

    def __repr__(self) -> str:
        name = "None" if self.ctype is None else getattr(self.ctype, "__name__", repr(self.ctype))
        return f"<gort.Channel of {name} at {self._ptr:#x}, cap={self.cap}, len={len(self)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self._ptr == other._ptr

    def __hash__(self) -> int:
        return hash(self._ptr)

    def __copy__(self) -> "Channel":
        return Channel.from_ptr(self.ptr, self.ctype)

    def __deepcopy__(self, memo: Any) -> "Channel":
        # A channel is a reference type: a deep copy shares the C channel.
        return self.__copy__()

    def __reduce__(self) -> Any:
        raise TypeError("a gort.Channel cannot be pickled: it only exists in this process")


SelectCase = Union[Tuple[Optional[Channel], Op], Tuple[Optional[Channel], Op, Any]]


def select(cases: Sequence[SelectCase], timeout: Optional[float] = None) -> Tuple[int, Any]:
    """Wait until one of several channel operations can proceed, and do it (Go's ``select``).

    Each case is ``(channel, gort.RECV)`` or ``(channel, gort.SEND, value)``.
    A case whose channel is ``None`` is never ready (Go's nil channel), which
    is handy to switch a case off. An empty list of cases is never ready
    either: ``select([])`` blocks until the timeout (forever for ``None``, as
    Go's ``select {}``; Ctrl-C still interrupts it in the main thread). When several cases are ready, one is
    chosen uniformly at random.

    Returns:
        ``(index, value)``: the index of the case that proceeded, and the
        value received (``None`` for a send). With ``timeout=0`` and no
        case ready, ``(-1, None)`` (Go's ``default`` case).

    Raises:
        ChannelClosed: the chosen case's channel is closed -- a RECV case on
            a closed and drained channel (where Go would return the zero
            value with ``ok == false``) or a SEND case on a closed channel
            (where Go would panic). The exception's ``index`` attribute is
            the case's index and ``channel`` its channel, so a loop can
            drop that case and go on::

                while cases:
                    try:
                        i, v = gort.select(cases)
                    except gort.ChannelClosed as closed:
                        del cases[closed.index]
                        continue
                    ...

        Timeout: ``timeout > 0`` expired; no case proceeded.
        TypeError: a case is not a tuple of the right form, or its channel
            is not a Channel (nor None).
        ValueError: a case has an unknown operation, or a send value does
            not convert.
    """
    count = len(cases)
    array = (GortCase * count)()
    buffers: List[Any] = []  # keeps every element buffer alive during the call
    codecs: List[Optional[_Codec]] = []
    for index, case in enumerate(cases):
        if not isinstance(case, tuple):
            raise TypeError(f"select case {index} must be a tuple, not {type(case).__name__}")
        if len(case) < 2:
            raise TypeError(f"select case {index} must be (channel, gort.RECV) or (channel, gort.SEND, value)")
        channel, op = case[0], case[1]
        if channel is not None and not isinstance(channel, Channel):
            raise TypeError(f"select case {index}: expected a gort.Channel or None, not {type(channel).__name__}")
        codec = None if channel is None else channel._codec
        if op == Op.RECV:
            if len(case) != 2:
                raise TypeError(f"select case {index}: a RECV case is (channel, gort.RECV)")
            buffer = None if codec is None else codec.new_buffer()
        elif op == Op.SEND:
            if len(case) != 3:
                raise TypeError(f"select case {index}: a SEND case is (channel, gort.SEND, value)")
            buffer = None if codec is None else codec.encode(case[2])
        else:
            raise ValueError(f"select case {index}: the operation must be gort.RECV or gort.SEND, not {op!r}")
        buffers.append(buffer)
        codecs.append(codec)
        array[index].chan = None if channel is None else channel._ptr
        array[index].op = int(op)
        array[index].elem = None if buffer is None else ctypes.addressof(buffer)

    timeout_ns = _wait.timeout_to_ns(timeout)
    chosen = _wait.blocking_call(lambda ns: lib.gort_select(array, count, ns), timeout_ns, -errno.ETIMEDOUT)
    if chosen >= 0:
        result = array[chosen].result
        channel = cases[chosen][0]
        if result == errno.EPIPE:
            raise ChannelClosed(f"select case {chosen}: channel is closed", channel=channel, index=chosen)
        if result:
            raise error_for(result, f"select case {chosen}", channel)
        codec = codecs[chosen]
        if array[chosen].op == Op.RECV and codec is not None:
            return chosen, codec.decode(buffers[chosen])
        return chosen, None
    if chosen == -errno.EAGAIN:
        return -1, None
    if chosen == -errno.ETIMEDOUT:
        raise Timeout("select timed out")
    raise error_for(-chosen, "select")
