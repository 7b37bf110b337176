"""Exceptions, and the mapping from the C API's errno results to them.

The C functions return ``0`` or a positive errno value. :func:`check` turns
a non-zero result into the exception documented for it:

============  =====================================================
``EPIPE``     :class:`ChannelClosed`
``ETIMEDOUT`` :class:`Timeout` (a :class:`TimeoutError`)
``EINVAL``    :class:`ValueError`
``ENOMEM``    :class:`OSError` with ``errno == ENOMEM`` (like any other code)
other         :class:`OSError` carrying that ``errno``
============  =====================================================
"""

from __future__ import annotations

import errno
import os
from typing import Any, Optional

__all__ = ["ChannelClosed", "Timeout", "check", "error_for"]


class ChannelClosed(Exception):
    """The channel is closed (``EPIPE`` in the C API).

    Raised by a send on a closed channel, by a receive on a channel that is
    closed and drained, by closing a channel twice, and by :func:`gort.select`
    when the chosen case's channel is closed.

    Attributes:
        channel: the :class:`gort.Channel` concerned, when known.
        index: for :func:`gort.select`, the index of the case whose channel
            is closed; ``None`` otherwise.
    """

    channel: Optional[Any]
    index: Optional[int]

    def __init__(self, message: str = "channel is closed", *, channel: Any = None, index: Optional[int] = None):
        super().__init__(message)
        self.channel = channel
        self.index = index


class Timeout(TimeoutError):
    """A blocking operation gave up after its timeout (``ETIMEDOUT``).

    A timed-out send, receive or select has had no effect: nothing was sent
    and no value was consumed. ``errno`` is :data:`errno.ETIMEDOUT`.
    """

    def __init__(self, message: str = "operation timed out"):
        super().__init__(errno.ETIMEDOUT, message)


def error_for(code: int, what: str = "", channel: Any = None) -> Exception:
    """Return the exception for the positive errno value ``code``.

    ``what`` names the failed operation in the message.
    """
    prefix = f"{what}: " if what else ""
    if code == errno.EPIPE:
        return ChannelClosed(f"{prefix}channel is closed", channel=channel)
    if code == errno.ETIMEDOUT:
        return Timeout(f"{prefix}timed out")
    if code == errno.EINVAL:
        return ValueError(f"{prefix}invalid argument (EINVAL)")
    return OSError(code, f"{prefix}{os.strerror(code)}")


def check(code: int, what: str = "", channel: Any = None) -> None:
    """Raise the exception for a C result ``code`` unless it is 0."""
    if code != 0:
        raise error_for(code, what, channel)
