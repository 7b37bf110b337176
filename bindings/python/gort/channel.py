"""Channels and select.

A :class:`Channel` wraps one reference to a C ``gort_chan``. Its elements are
values of one ctypes type, checked and converted by :mod:`gort._values`,
then copied in and out by the C library exactly as a C program would copy
them, so Python and C goroutines can share a channel. The asynchronous forms
of its operations live in :mod:`gort._async`.
"""

from __future__ import annotations

import ctypes
import enum
import errno
import random
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
    overload,
)

from . import _held, _wait
from ._errors import ChannelClosed, Timeout, error_for
from ._lib import GortCase, lib
from ._values import Codec, CType

if TYPE_CHECKING:
    from ctypes import _SimpleCData

__all__ = ["RECV", "SEND", "Channel", "Op", "select"]

#: The Python type of a channel's values: ``int`` for ``Channel(c_int64)``.
T = TypeVar("T")

_SIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1


class Op(enum.IntEnum):
    """The operation of a :func:`select` case (``GORT_SEND`` / ``GORT_RECV``)."""

    SEND = 1
    RECV = 2


#: A :func:`select` case that sends: ``(channel, gort.SEND, value)``.
SEND = Op.SEND
#: A :func:`select` case that receives: ``(channel, gort.RECV)``.
RECV = Op.RECV


def _ref(buffer: Any) -> Any:
    return None if buffer is None else ctypes.byref(buffer)


class Channel(Generic[T]):
    """A gort channel carrying elements of one ctypes type.

    ``Channel(ctypes.c_int64)`` is Go's ``make(chan int64)``;
    ``Channel(Point, cap=16)`` is a buffered channel of a
    :class:`ctypes.Structure`. ``Channel(None)`` carries empty elements (a
    ``chan struct{}``, for signalling): send ``None``, receive ``None``.
    Type checkers see ``Channel(ctypes.c_int64)`` as a ``Channel[int]``.

    Element types hold no pointers (``c_char_p``, ``POINTER(...)``...):
    :class:`TypeError`, whose message says how to send such data instead.

    Values: a send accepts an instance of the element type, or the Python
    value of one: an ``int`` for integer types (:class:`OverflowError` if it
    does not fit), ``True``/``False`` for ``c_bool``, a float for
    ``c_float``/``c_double``, a tuple or dict of fields for a Structure, a
    sequence for an array, ``bytes`` for a ``c_char`` array. Anything else is
    a :class:`TypeError`; nothing is ever truncated (see ``gort._values``).
    A receive returns plain Python values for simple types (``int``,
    ``float``, ``bool``, ``bytes``...) and a fresh instance of the element
    type for structures, unions and arrays.

    Timeouts are in seconds: ``None`` waits forever, ``0`` never blocks
    (raising :class:`gort.Timeout` at once if the operation cannot proceed), a
    positive timeout raises :class:`gort.Timeout` once at least that long has
    passed. An operation that times out has had no effect. All blocking calls
    release the GIL; in the main thread they wait in short slices so that
    Ctrl-C raises :class:`KeyboardInterrupt` promptly (see ``gort._wait``).
    ``await ch.recv_async()``, ``await ch.send_async(v)`` and
    ``async for v in ch`` never block the event loop (see ``gort._async``).

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
    _codec: Codec

    @overload
    def __init__(self: Channel[T], ctype: Type[_SimpleCData[T]], cap: int = 0) -> None: ...
    @overload
    def __init__(self: Channel[None], ctype: None, cap: int = 0) -> None: ...
    @overload
    def __init__(self: Channel[Any], ctype: Type[Any], cap: int = 0) -> None: ...

    def __init__(self, ctype: CType, cap: int = 0):
        """Make a channel of ``ctype`` elements with a buffer of ``cap`` elements.

        Raises:
            TypeError: ``ctype`` is not a ctypes type (nor None), is or holds
                a pointer, or ``cap`` is not an int.
            ValueError: ``cap`` is negative, or the element type is larger than
                the C library accepts (64 KiB: ``EINVAL``).
            OverflowError: ``cap`` does not fit in a ``size_t``.
            OSError: the C library could not make the channel (``ENOMEM``...).
        """
        self._ptr = None
        self._codec = Codec(ctype)
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

    @overload
    @classmethod
    def from_ptr(
        cls, ptr: Union[int, ctypes.c_void_p], ctype: Type[_SimpleCData[T]], *, retain: bool = True
    ) -> Channel[T]: ...
    @overload
    @classmethod
    def from_ptr(cls, ptr: Union[int, ctypes.c_void_p], ctype: None, *, retain: bool = True) -> Channel[None]: ...
    @overload
    @classmethod
    def from_ptr(cls, ptr: Union[int, ctypes.c_void_p], ctype: Type[Any], *, retain: bool = True) -> Channel[Any]: ...

    @classmethod
    def from_ptr(cls, ptr: Union[int, ctypes.c_void_p], ctype: CType, *, retain: bool = True) -> Channel[Any]:
        """Wrap a ``gort_chan*`` that came from C.

        Args:
            ptr: the channel's address, as an int or a ``c_void_p``.
            ctype: the element type; its size must be the channel's element
                size (``gort_chan_elem_size``).
            retain: ``True`` (the default) takes a new reference, leaving the
                caller's own untouched; ``False`` adopts a reference the
                caller owns (for instance one a C function returned to
                Python), which the new object will release.

        Raises:
            ValueError: ``ptr`` is NULL.
            TypeError: ``ctype`` is not a valid element type, or its size is
                not the channel's element size; the caller's reference is
                left alone.
        """
        address = ptr.value if isinstance(ptr, ctypes.c_void_p) else ptr
        if isinstance(address, bool) or not isinstance(address, (int, type(None))):
            raise TypeError(f"ptr must be an int or a ctypes.c_void_p, not {type(ptr).__name__}")
        if not address:
            raise ValueError("ptr is NULL")
        codec = Codec(ctype)
        actual = int(lib.gort_chan_elem_size(address))
        if actual != codec.size:
            name = "None" if ctype is None else getattr(ctype, "__name__", repr(ctype))
            raise TypeError(
                f"Channel.from_ptr: the channel's elements are {actual} bytes, "
                f"but {name} is {codec.size} bytes: it is not this channel's element type"
            )
        self = cls.__new__(cls)
        self._ptr = None
        self._codec = codec
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
        """The number of elements waiting: in the buffer, and held from cancelled async receives."""
        return int(lib.gort_chan_len(self._ptr)) + _held.count(self.ptr)

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

    def send(self, value: T, timeout: Optional[float] = None) -> None:
        """Send ``value``, waiting for room (or a receiver) up to ``timeout`` seconds.

        Raises:
            ChannelClosed: the channel is closed (also if it gets closed
                while this send waits).
            Timeout: the timeout expired; nothing was sent.
            TypeError, OverflowError, ValueError: ``value`` does not convert
                to the element type (see the class documentation).
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

    def recv(self, timeout: Optional[float] = None) -> T:
        """Receive one value, waiting up to ``timeout`` seconds.

        Raises:
            ChannelClosed: the channel is closed and drained.
            Timeout: the timeout expired; no value was consumed.
        """
        held = self._take_held()
        if held is not None:
            return held[0]
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
        return self._received(code, buffer, "recv")

    def try_send(self, value: T) -> bool:
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

    def try_recv(self) -> Tuple[bool, Optional[T]]:
        """Receive without blocking: ``(True, value)``, or ``(False, None)`` if none is ready.

        Raises:
            ChannelClosed: the channel is closed and drained.
        """
        held = self._take_held()
        if held is not None:
            return True, held[0]
        buffer = self._codec.new_buffer()
        code = lib.gort_chan_try_recv(self._ptr, _ref(buffer))
        if code == errno.EAGAIN:
            return False, None
        return True, self._received(code, buffer, "try_recv")

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

    def __iter__(self) -> Iterator[T]:
        """Receive values until the channel is closed and drained (Go's ``range``)."""
        while True:
            try:
                value = self.recv()
            except ChannelClosed:
                return
            yield value

    async def recv_async(self) -> T:
        """Receive one value without blocking the event loop.

        Waits in a helper thread if no value is ready. Cancellation (and so
        :func:`asyncio.wait_for`'s timeout) never loses a value: a value
        taken in the instant the task was cancelled goes to the next
        receiver (see ``gort._async``).

        Raises:
            ChannelClosed: the channel is closed and drained.
        """
        from ._async import run_cases

        _, value = await run_cases(_Cases([(self, Op.RECV)], spare=1, single=True), _wait.FOREVER)
        return cast(T, value)

    async def send_async(self, value: T) -> None:
        """Send ``value`` without blocking the event loop.

        Waits in a helper thread if the send cannot proceed at once. If the
        task is cancelled, the value was not sent -- unless the send
        completed in the instant of the cancellation: the
        :class:`asyncio.CancelledError` then says so, and
        :func:`gort.sent_before_cancel` tells (see ``gort._async``).

        Raises:
            ChannelClosed: the channel is closed.
            TypeError, OverflowError, ValueError: ``value`` does not convert.
        """
        from ._async import run_cases

        await run_cases(_Cases([(self, Op.SEND, value)], spare=1, single=True), _wait.FOREVER)

    async def __aiter__(self) -> AsyncIterator[T]:
        """``async for v in ch``: :meth:`recv_async` until the channel is closed and drained."""
        while True:
            try:
                value = await self.recv_async()
            except ChannelClosed:
                return
            yield value

    # -- held values ------------------------------------------------------

    def _take_held(self) -> Optional[Tuple[T]]:
        """``(value,)`` held from a cancelled async receive, or None."""
        held = _held.take((self.ptr,))
        return None if held is None else (cast(T, self._codec.decode_bytes(held[2])),)

    def _received(self, code: int, buffer: Any, what: str) -> T:
        """The value of a receive that returned ``code`` into ``buffer``."""
        if code == errno.EPIPE:
            # Closed and drained -- but a value held meanwhile comes first.
            held = self._take_held()
            if held is not None:
                return held[0]
        if code:
            raise error_for(code, what, self)
        return cast(T, self._codec.decode(buffer))

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

    def __copy__(self) -> Channel[T]:
        return cast("Channel[T]", Channel.from_ptr(self.ptr, self.ctype))

    def __deepcopy__(self, memo: Any) -> Channel[T]:
        # A channel is a reference type: a deep copy shares the C channel.
        return self.__copy__()

    def __reduce__(self) -> Any:
        raise TypeError("a gort.Channel cannot be pickled: it only exists in this process")


SelectCase = Union[Tuple[Optional[Channel[Any]], Op], Tuple[Optional[Channel[Any]], Op, Any]]


class _Cases:
    """The ``gort_case`` array of one select (or one operation), with the buffers it points to.

    ``spare`` extra cases are left at the end for the caller (the wake-up
    channel of an asynchronous operation). ``single``: the cases are one
    channel operation, whose errors read as that operation's.
    """

    __slots__ = ("cases", "count", "array", "buffers", "codecs", "single")

    def __init__(self, cases: Sequence[SelectCase], spare: int = 0, single: bool = False):
        count = len(cases)
        self.cases, self.count, self.single = cases, count, single
        self.array = (GortCase * (count + spare))()
        self.buffers: List[Any] = []  # keeps every element buffer alive during the call
        self.codecs: List[Optional[Codec]] = []
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
            self.buffers.append(buffer)
            self.codecs.append(codec)
            self.array[index].chan = None if channel is None else channel._ptr
            self.array[index].op = int(op)
            self.array[index].elem = None if buffer is None else ctypes.addressof(buffer)

    def recv_cases(self) -> List[Tuple[int, int]]:
        """``(index, channel address)`` of the RECV cases that have a channel."""
        return [(i, c.chan) for i, c in enumerate(self.array[: self.count]) if c.chan and c.op == Op.RECV]

    def recv_chans(self) -> List[int]:
        """The channels of the RECV cases."""
        return [chan for _, chan in self.recv_cases()]

    def take_held(self) -> Optional[Tuple[int, int]]:
        """Complete a RECV case with a held value if there is one: ``(index, stamp)``."""
        held = _held.take(self.recv_chans())
        if held is None:
            return None
        chan, when, raw = held
        # Among the RECV cases on that channel (usually one), pick at random.
        index = random.choice([i for i, case_chan in self.recv_cases() if case_chan == chan])
        self.fill(index, raw)
        self.array[index].result = 0
        return index, when

    def fill(self, index: int, raw: bytes) -> None:
        """Put a held element into RECV case ``index``'s buffer."""
        if self.buffers[index] is not None:
            ctypes.memmove(ctypes.addressof(self.buffers[index]), raw, len(raw))

    def received_bytes(self, index: int) -> Optional[bytes]:
        """The element a completed RECV case received, as bytes (None: empty elements)."""
        buffer = self.buffers[index]
        return None if buffer is None else ctypes.string_at(ctypes.addressof(buffer), ctypes.sizeof(buffer))

    def outcome(self, chosen: int) -> Tuple[int, Any]:
        """``(index, value)`` for what ``gort_select`` returned, or the exception it means."""
        if chosen < 0:
            if chosen == -errno.EAGAIN:
                return -1, None
            if chosen == -errno.ETIMEDOUT:
                raise Timeout("select timed out")
            raise error_for(-chosen, "select")
        case = self.array[chosen]
        channel = self.cases[chosen][0]
        if case.result == errno.EPIPE and case.op == Op.RECV:
            # Closed and drained -- but a value held meanwhile comes first.
            held = _held.take((case.chan,))
            if held is not None:
                self.array[chosen].result = 0
                self.fill(chosen, held[2])
        if case.result:
            what = ("recv" if case.op == Op.RECV else "send") if self.single else f"select case {chosen}"
            if case.result == errno.EPIPE:
                raise ChannelClosed(
                    f"{what}: channel is closed", channel=channel, index=None if self.single else chosen
                )
            raise error_for(case.result, what, channel)
        codec = self.codecs[chosen]
        if case.op == Op.RECV and codec is not None:
            return chosen, codec.decode(self.buffers[chosen])
        return chosen, None


def select(cases: Sequence[SelectCase], timeout: Optional[float] = None) -> Tuple[int, Any]:
    """Wait until one of several channel operations can proceed, and do it (Go's ``select``).

    Each case is ``(channel, gort.RECV)`` or ``(channel, gort.SEND, value)``.
    A case whose channel is ``None`` is never ready (Go's nil channel), which
    is handy to switch a case off. An empty list of cases is never ready
    either: ``select([])`` blocks until the timeout (forever for ``None``, as
    Go's ``select {}``; Ctrl-C still interrupts it in the main thread). When
    several cases are ready, one is chosen uniformly at random; a value held
    from a cancelled async receive makes its RECV case the one chosen.

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
    prepared = _Cases(cases)
    held = prepared.take_held()
    if held is not None:
        return prepared.outcome(held[0])
    array, count = prepared.array, prepared.count
    timeout_ns = _wait.timeout_to_ns(timeout)
    chosen = _wait.blocking_call(lambda ns: lib.gort_select(array, count, ns), timeout_ns, -errno.ETIMEDOUT)
    return prepared.outcome(chosen)
