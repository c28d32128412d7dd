"""The Python face of the C core: CRC-64/XZ, MD5 and the fused part reader/writer.

Everything here hands buffers to C without copying (``ffi.from_buffer``):
``bytes``, ``bytearray``, ``memoryview`` (C-contiguous) and ``mmap`` all work.
cffi releases the GIL around every C call, so hashing and part I/O in several
threads run in parallel.

>>> crc64(b"123456789")
11051210869376104954
>>> Crc64().update(b"1234").update(b"56789").hexdigest()
'995dc9bbdf1939fa'
"""
from __future__ import annotations

import errno
import math
import os
import threading
from typing import Any, NamedTuple, Optional, Tuple, Union

from ._native import ffi, lib

__all__ = [
    "Crc64",
    "Md5",
    "PartRead",
    "PartWriteError",
    "RecvResult",
    "crc64",
    "crc64_combine",
    "crc64_file_range",
    "crc64_with",
    "implementation",
    "implementations",
    "md5",
    "read_part",
    "recv_part",
    "recv_part_raw",
    "write_part",
]

Buffer = Any  # bytes, bytearray, memoryview, mmap: anything with the buffer protocol
FileDescriptor = Union[int, Any]  # an int, or an object with fileno()

_MASK64 = (1 << 64) - 1
_SCRATCH_SIZE = 1 << 20


def _impl_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.osr_crc64_impl_name(i)).decode("ascii")
                 for i in range(lib.osr_crc64_impl_count()))


_IMPL_NAMES = _impl_names()
_IMPL_INDEX = {name: i for i, name in enumerate(_IMPL_NAMES)}

#: Name of the CRC-64 path this process uses (the best this CPU runs, or the
#: one ``OSSRESUME_CRC64_IMPL`` names when it is available).
implementation: str = _IMPL_NAMES[lib.osr_crc64_impl_selected()]


def implementations() -> Tuple[str, ...]:
    """Names of the CRC-64 paths this build and CPU can run, best first."""
    return tuple(n for i, n in enumerate(_IMPL_NAMES) if lib.osr_crc64_impl_available(i))


def _view(data: Buffer) -> Any:
    """What cffi passes to C as a pointer: bytes as they are (cheapest), else a zero-copy view."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("strings must be encoded before hashing")
    return ffi.from_buffer(data)


# ---- CRC-64 -------------------------------------------------------------------


def crc64(data: Buffer, prev: int = 0) -> int:
    """CRC-64/XZ of ``data``, continuing from ``prev`` (the CRC of what came before)."""
    view = _view(data)
    return int(lib.osr_crc64_update(prev, view, len(view)))


def crc64_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """CRC of A+B from ``crc64(A)``, ``crc64(B)`` and ``len(B)``."""
    if len_b < 0:
        raise ValueError("len_b must be >= 0")
    return int(lib.osr_crc64_combine(crc_a, crc_b, len_b))


def crc64_with(name: str, data: Buffer, prev: int = 0) -> int:
    """:func:`crc64` computed by one named path (see :func:`implementations`)."""
    index = _IMPL_INDEX.get(name)
    if index is None or not lib.osr_crc64_impl_available(index):
        raise ValueError(f"CRC-64 implementation {name!r} is not available here "
                         f"(available: {', '.join(implementations())})")
    view = _view(data)
    return int(lib.osr_crc64_update_with(index, prev, view, len(view)))


class Crc64:
    """A hashlib-style CRC-64/XZ object; ``update`` returns the object for chaining."""

    name = "crc64"
    digest_size = 8
    block_size = 1
    __slots__ = ("_crc",)

    def __init__(self, data: Buffer = b"", crc: int = 0) -> None:
        self._crc = crc & _MASK64
        if len(data):
            self.update(data)

    def update(self, data: Buffer) -> Crc64:
        view = _view(data)
        self._crc = int(lib.osr_crc64_update(self._crc, view, len(view)))
        return self

    @property
    def crcvalue(self) -> int:
        """The CRC as an unsigned integer (what OSS sends in x-oss-hash-crc64ecma)."""
        return self._crc

    def digest(self) -> bytes:
        return self._crc.to_bytes(8, "big")

    def hexdigest(self) -> str:
        return f"{self._crc:016x}"

    def copy(self) -> Crc64:
        return Crc64(crc=self._crc)

    def __repr__(self) -> str:
        return f"<Crc64 {self._crc}>"


# ---- MD5 ------------------------------------------------------------------------


class Md5:
    """A hashlib-style MD5 object over the C implementation."""

    name = "md5"
    digest_size = 16
    block_size = 64
    __slots__ = ("_ctx", "_lock")

    def __init__(self, data: Buffer = b"") -> None:
        self._ctx = ffi.new("osr_md5_ctx *")
        self._lock = threading.Lock()
        lib.osr_md5_init(self._ctx)
        if len(data):
            self.update(data)

    def update(self, data: Buffer) -> Md5:
        view = _view(data)
        with self._lock:
            lib.osr_md5_update(self._ctx, view, len(view))
        return self

    def digest(self) -> bytes:
        ctx = ffi.new("osr_md5_ctx *")
        with self._lock:
            ffi.memmove(ctx, self._ctx, ffi.sizeof("osr_md5_ctx"))
        out = ffi.new("unsigned char[16]")
        lib.osr_md5_final(ctx, out)
        return bytes(ffi.buffer(out))

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> Md5:
        other = Md5()
        with self._lock:
            ffi.memmove(other._ctx, self._ctx, ffi.sizeof("osr_md5_ctx"))
        return other


def md5(data: Buffer = b"") -> Md5:
    """``hashlib.md5``-style constructor."""
    return Md5(data)


# ---- fused part I/O ---------------------------------------------------------------


class PartRead(NamedTuple):
    """What :func:`read_part` did: bytes read (short at EOF), their CRC-64, their MD5."""

    bytes_read: int
    crc64: int
    md5: Optional[bytes]


_scratch = threading.local()


def _scratch_buffer() -> Any:
    buf = getattr(_scratch, "buf", None)
    if buf is None:
        buf = _scratch.buf = ffi.new("unsigned char[]", _SCRATCH_SIZE)
    return buf


def _fileno(fd: FileDescriptor) -> int:
    return fd if isinstance(fd, int) else int(fd.fileno())


def _raise_errno(err: int, what: str) -> None:
    raise OSError(err, f"{what}: {os.strerror(err)}")


def read_part(fd: FileDescriptor, offset: int, length: int, buf: Optional[Buffer] = None,
              crc_seed: int = 0, want_md5: bool = False) -> PartRead:
    """Read ``[offset, offset+length)`` of ``fd`` with pread, hashing in the same pass.

    With ``buf`` (writable, at least ``length`` bytes) the data lands in
    ``buf[:bytes_read]``; without it the range is only hashed, through a
    per-thread 1 MiB scratch buffer.  The CRC-64 continues from ``crc_seed``.
    A range past EOF gives ``bytes_read < length``; I/O errors raise
    ``OSError`` with the errno (``EBADF`` for a closed descriptor...).
    """
    if offset < 0 or length < 0:
        raise ValueError("offset and length must be >= 0")
    if buf is None:
        target, target_len = _scratch_buffer(), _SCRATCH_SIZE
    else:
        target = ffi.from_buffer(buf, require_writable=True)
        target_len = len(target)
        if target_len < length:
            raise ValueError(f"buffer of {target_len} bytes cannot hold a {length}-byte part")
    ctx = ffi.new("osr_md5_ctx *") if want_md5 else ffi.NULL
    if want_md5:
        lib.osr_md5_init(ctx)
    got = ffi.new("int64_t *")
    crc = ffi.new("uint64_t *")
    err = lib.osr_read_part(_fileno(fd), offset, length, target, target_len, crc_seed, ctx, got, crc)
    if err:
        _raise_errno(err, f"reading {length} bytes at offset {offset}")
    digest: Optional[bytes] = None
    if want_md5:
        out = ffi.new("unsigned char[16]")
        lib.osr_md5_final(ctx, out)
        digest = bytes(ffi.buffer(out))
    return PartRead(int(got[0]), int(crc[0]), digest)


def crc64_file_range(fd: FileDescriptor, offset: int, length: int) -> Tuple[int, int]:
    """``(bytes_read, crc64)`` of a file range, without keeping the data."""
    got = read_part(fd, offset, length)
    return got.bytes_read, got.crc64


def write_part(fd: FileDescriptor, offset: int, data: Buffer, crc_seed: int = 0) -> int:
    """Write ``data`` at ``offset`` with pwrite; return the CRC-64 continued from ``crc_seed``."""
    if offset < 0:
        raise ValueError("offset must be >= 0")
    view = _view(data)
    crc = ffi.new("uint64_t *")
    err = lib.osr_write_part(_fileno(fd), offset, view, len(view), crc_seed, crc)
    if err:
        _raise_errno(err, f"writing {len(view)} bytes at offset {offset}")
    return int(crc[0])


class RecvResult(NamedTuple):
    """What :func:`recv_part_raw` did: an ``OSR_RECV_*`` outcome (0 = all bytes
    written), its errno, and the bytes received, written and hashed before it."""

    outcome: int
    errno: int
    received: int
    crc64: int


class PartWriteError(OSError):
    """Writing received bytes into the file failed (ENOSPC, EIO...): not a wire error."""


def _timeout_ms(timeout: Optional[float]) -> int:
    return -1 if timeout is None else max(0, math.ceil(timeout * 1000))


def recv_part_raw(sock_fd: int, timeout: Optional[float], fd: FileDescriptor, offset: int,
                  length: int, buf: Buffer, crc_seed: int = 0) -> RecvResult:
    """Receive exactly ``length`` bytes from the stream socket ``sock_fd`` into
    ``[offset, offset+length)`` of ``fd``, through ``buf`` (reused chunk by
    chunk), CRC-64 continued from ``crc_seed``; in C, without the GIL.

    ``timeout``: seconds each wait for data may last on a non-blocking socket
    (a Python socket's ``gettimeout()``; None: no limit).  Never raises for
    the socket or the file: the outcome says what stopped it."""
    target = ffi.from_buffer(buf, require_writable=True)
    got = ffi.new("int64_t *")
    crc = ffi.new("uint64_t *")
    err = ffi.new("int *")
    outcome = lib.osr_recv_part(sock_fd, _timeout_ms(timeout), _fileno(fd), offset, length,
                                target, len(target), crc_seed, got, crc, err)
    return RecvResult(int(outcome), int(err[0]), int(got[0]), int(crc[0]))


def recv_part(sock_fd: int, timeout: Optional[float], fd: FileDescriptor, offset: int,
              length: int, buf: Buffer, crc_seed: int = 0) -> int:
    """:func:`recv_part_raw` that returns the CRC-64 of the ``length`` bytes, or
    raises: ``TimeoutError`` (no data for ``timeout`` s), ``ConnectionError``
    (the stream broke or ended early), :class:`PartWriteError` (the file)."""
    res = recv_part_raw(sock_fd, timeout, fd, offset, length, buf, crc_seed)
    if res.outcome == lib.OSR_RECV_OK:
        return res.crc64
    where = f"receiving {length} bytes for offset {offset}"
    if res.outcome == lib.OSR_RECV_EOF:
        raise ConnectionError(f"{where}: the stream ended {length - res.received} bytes early")
    if res.outcome == lib.OSR_RECV_SOCKET and res.errno == errno.ETIMEDOUT:
        raise TimeoutError(errno.ETIMEDOUT, f"{where}: timed out after {res.received} bytes")
    if res.outcome == lib.OSR_RECV_SOCKET:
        raise ConnectionError(res.errno, f"{where}: {os.strerror(res.errno)}")
    if res.outcome == lib.OSR_RECV_FILE:
        raise PartWriteError(res.errno, f"writing at offset {offset + res.received}: "
                                        f"{os.strerror(res.errno)}")
    raise ValueError(f"{where}: {os.strerror(res.errno)}")
