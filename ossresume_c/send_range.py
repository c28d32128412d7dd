"""Sending a file range to a socket while hashing it: the Python face of ``csrc/send_range.c``.

``send_range`` reads the range in small chunks (pread into a reused buffer that
stays in cache), adds each to the CRC-64 and sends it, in C with the GIL
released.  ``send_range_reference`` is the same loop in plain Python, kept as the
obviously-correct twin the tests compare against.  Neither raises for file or
socket trouble: the outcome says what stopped the loop.

>>> import os, socket, tempfile
>>> a, b = socket.socketpair()
>>> with tempfile.TemporaryFile() as f:
...     _ = f.write(b"123456789")
...     sent = send_range(a, f.fileno(), 0, 9, bytearray(4))
>>> sent.outcome, sent.bytes_sent, sent.crc64, b.recv(9)
('ok', 9, 11051210869376104954, b'123456789')
>>> a.close(); b.close()
"""
from __future__ import annotations

import errno
import os
import select
import socket
from typing import Any, NamedTuple, Optional

from . import native
from ._native import ffi, lib

__all__ = ["AVAILABLE", "RangeSent", "send_range", "send_range_reference"]

#: The C loop exists here (it needs pread, poll and non-Windows sockets).
AVAILABLE = hasattr(os, "pread") and os.name == "posix"

_OUTCOMES = {lib.OSR_SEND_OK: "ok", lib.OSR_SEND_SHORT: "short", lib.OSR_SEND_FILE: "file",
             lib.OSR_SEND_SOCKET: "socket", lib.OSR_SEND_TIMEOUT: "timeout"}


class RangeSent(NamedTuple):
    """What a send did.  ``outcome``: "ok"; "short" (the file ended before the
    range: it shrank); "file" (reading failed, ``errno``); "socket" (sending
    failed, ``errno``); "timeout" (no progress for the timeout).  ``crc64`` is
    the CRC of the ``bytes_read`` bytes read."""

    outcome: str
    bytes_read: int
    bytes_sent: int
    crc64: int
    errno: int = 0


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return -1
    return max(0, int(timeout * 1000))


def send_range(sock: socket.socket, fd: int, offset: int, length: int, buf: Any,
               timeout: Optional[float] = None, use_sendfile: bool = False,
               crc_seed: int = 0) -> RangeSent:
    """Send ``[offset, offset+length)`` of ``fd`` to ``sock`` in chunks of ``len(buf)``
    bytes (``buf`` is the reused scratch buffer); ``timeout`` seconds without
    progress is a "timeout" (None: wait forever).  ``use_sendfile`` sends each chunk
    with sendfile() from the page cache (read once more for the CRC)."""
    if offset < 0 or length < 0:
        raise ValueError("offset and length must be >= 0")
    target = ffi.from_buffer(buf, require_writable=True)
    res = ffi.new("osr_send_result *")
    code = lib.osr_send_range(sock.fileno(), fd, offset, length, target, len(target),
                              _timeout_ms(timeout), 1 if use_sendfile else 0, crc_seed, res)
    return RangeSent(_OUTCOMES[code], int(res.bytes_read), int(res.bytes_sent), int(res.crc),
                     int(res.err))


def send_range_reference(sock: socket.socket, fd: int, offset: int, length: int, chunk: int,
                         timeout: Optional[float] = None, crc_seed: int = 0) -> RangeSent:
    """The same loop in Python (pread, CRC-64, send; poll on a full socket buffer)."""
    read = sent = 0
    crc = crc_seed
    while read < length:
        try:
            data = os.pread(fd, min(chunk, length - read), offset + read)
        except OSError as exc:
            return RangeSent("file", read, sent, crc, exc.errno or errno.EIO)
        if not data:
            return RangeSent("short", read, sent, crc)
        read += len(data)
        crc = native.crc64(data, crc)
        view = memoryview(data)
        while view:
            try:
                n = sock.send(view, getattr(socket, "MSG_NOSIGNAL", 0) | socket.MSG_DONTWAIT)
            except (TimeoutError, socket.timeout):   # a socket with a timeout waits for itself
                return RangeSent("timeout", read, sent, crc)
            except (BlockingIOError, InterruptedError):
                _, writable, _ = select.select([], [sock], [], timeout)
                if not writable:
                    return RangeSent("timeout", read, sent, crc)
                continue
            except OSError as exc:
                return RangeSent("socket", read, sent, crc, exc.errno or errno.EIO)
            view = view[n:]
            sent += n
    return RangeSent("ok", read, sent, crc)
