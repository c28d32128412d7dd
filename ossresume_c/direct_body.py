"""Receives a ranged GET's body straight from the connection's socket into the file.

Read through urllib3 (``resp.raw.readinto``), every chunk of a body arrives in a
new ``bytes`` from http.client and is copied again into the caller's buffer.  Here
the body goes from the socket into one reused per-thread buffer and from there,
hashed with CRC-64 in the same pass, to its offset in the file: in C without the
GIL (``native.recv_part``: recv, pwrite, CRC) over plain HTTP; over HTTPS with
``SSLSocket.recv_into`` into the buffer and ``native.write_part`` per filled
buffer.

Only a plain response takes this path: a Content-Length equal to the part (not
chunked), no content encoding, nothing of the body read yet through urllib3, a
body longer than http.client's read buffer, a socket with a timeout or blocking.
Anything else returns None before reading a byte, and the caller reads the body
the usual way.  When the whole body is in, http.client's response is marked
finished, so that urllib3 puts the connection back in its pool exactly as after a
normal read; on an error the exception propagates and the caller closes the
response (and with it the connection).
"""
from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import threading
from typing import Any, Optional

from . import native

CHUNK = 1 << 20          # bytes per recv-buffer round: one pwrite and CRC call each
MIN_BODY = 64 * 1024     # shorter bodies are not worth it: the usual path

_local = threading.local()


def _buffer() -> bytearray:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


def direct_socket(resp: Any, length: int) -> Optional[socket.socket]:
    """The socket of ``resp`` (a requests Response whose ``length``-byte body is
    still unread) when its body can be received directly, else None."""
    raw = getattr(resp, "raw", None)
    hr = getattr(raw, "_fp", None)
    conn = getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if not isinstance(hr, http.client.HTTPResponse) or not isinstance(sock, socket.socket):
        return None
    if hr.chunked or hr.length != length or hr.fp is None or length < MIN_BODY:
        return None
    if min(length, CHUNK) <= io.DEFAULT_BUFFER_SIZE:   # readinto1 must leave fp's buffer empty
        return None
    if getattr(raw, "_fp_bytes_read", None) != 0 or getattr(raw, "length_remaining", length) != length:
        return None
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity") or sock.gettimeout() == 0 or sock.fileno() < 0:
        return None
    if not _is_tls(sock) and os.name != "posix":     # csrc/recv_part.c receives on POSIX only
        return None
    return sock


def _is_tls(sock: socket.socket) -> bool:
    return hasattr(sock, "do_handshake")       # an ssl.SSLSocket: decrypted by Python's ssl


def receive(resp: Any, fd: int, offset: int, length: int) -> Optional[int]:
    """Write the ``length``-byte body of ``resp`` at ``offset`` of ``fd`` and
    return its CRC-64, or None (nothing read) when the response is not plain.

    Raises ``TimeoutError`` or ``ConnectionError`` when the stream fails or ends
    early, :class:`native.PartWriteError` when the file does."""
    sock = direct_socket(resp, length)
    if sock is None:
        return None
    hr = resp.raw._fp
    buf = _buffer()
    view = memoryview(buf)
    try:
        # what http.client buffered past the head (or one recv): its buffer is empty after
        n = hr.fp.readinto1(view[:min(length, len(buf))])
        if not n:
            raise ConnectionError(f"the body ended {length} bytes early")
    except _PASS:
        raise
    except OSError as exc:
        raise _stream_error(exc) from exc
    crc = receive_rest(sock, fd, offset, length, view[:n])
    _finished(resp.raw, hr)
    return crc


def receive_rest(sock: socket.socket, fd: int, offset: int, length: int, first: memoryview) -> int:
    """Write ``first`` (the body's start, already received; may be empty) at ``offset``
    of ``fd`` and receive the rest of the ``length``-byte body from ``sock`` after it;
    the body's CRC-64.  Raises as :func:`receive` does."""
    buf = _buffer()
    try:
        n = len(first)
        crc = _write(fd, offset, first, 0) if n else 0
        if _is_tls(sock):
            crc = _receive_tls(sock, fd, offset + n, length - n, memoryview(buf), crc)
        elif n < length:
            crc = native.recv_part(sock.fileno(), sock.gettimeout(), fd, offset + n, length - n,
                                   buf, crc)
    except _PASS:
        raise
    except OSError as exc:
        raise _stream_error(exc) from exc
    return crc


_PASS = (ConnectionError, TimeoutError, native.PartWriteError)   # raised as they are


def _stream_error(exc: OSError) -> OSError:
    if isinstance(exc, socket.timeout):    # Python 3.9: not yet the same class as TimeoutError
        return TimeoutError(f"receiving the body: {exc}")
    # ssl.SSLError and other socket errors: a broken stream
    return ConnectionError(f"receiving the body: {type(exc).__name__}: {exc}")


def _receive_tls(sock: socket.socket, fd: int, offset: int, length: int, view: memoryview,
                 crc: int) -> int:
    # One call per TLS record (16 KiB): the SSL object's own read (what SSLSocket.recv_into
    # ends in, two Python frames later; it waits with the socket's timeout) when it is there.
    sslobj = getattr(sock, "_sslobj", None)
    read = getattr(sslobj, "read", None)
    if read is None:
        def read(n: int, into: memoryview) -> int:
            return sock.recv_into(into, n)
    done = 0
    while done < length:
        want = min(length - done, len(view))
        got = 0
        while got < want:
            try:
                r = read(want - got, view[got:want])
            except ssl.SSLZeroReturnError:
                r = 0
            except ssl.SSLEOFError as exc:
                raise ConnectionError(f"the body ended {length - done - got} bytes early: {exc}") from exc
            if not r:
                raise ConnectionError(f"the body ended {length - done - got} bytes early")
            got += r
        crc = _write(fd, offset + done, view[:got], crc)
        done += got
    return crc


def _write(fd: int, offset: int, data: memoryview, crc: int) -> int:
    try:
        return native.write_part(fd, offset, data, crc)
    except OSError as exc:
        raise native.PartWriteError(exc.errno, str(exc)) from None


def _finished(raw: Any, hr: http.client.HTTPResponse) -> None:
    """Tell http.client and urllib3 that the body has been read: the connection
    goes back to the pool as after a normal read."""
    hr.length = 0
    hr.read(0)               # http.client closes its reader, as at the end of a normal read
    if getattr(raw, "length_remaining", None) is not None:
        raw.length_remaining = 0
    raw.release_conn()       # what urllib3 does once it sees http.client's response closed
