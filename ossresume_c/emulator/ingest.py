"""Stream a request body to a file while computing its CRC-64 and (optionally) MD5.

The body is read in 1 MiB chunks into a few reused buffers; nothing holds a whole
part. The socket read, the CRC (C, GIL released) and the write run on the
connection's thread; MD5 (hashlib, GIL released on large buffers) runs on a
helper thread fed through a queue, so on a multi-core machine MD5 overlaps the
rest and the ingest rate approaches MD5's own speed.
"""
from __future__ import annotations

import errno
import hashlib
import mmap
import os
import queue
import threading
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .bodyio import BodyReader
from .checksums import crc64

CHUNK = 1 << 20
PIPELINE_BUFFERS = 4

_local = threading.local()
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_ALIGN = 4096
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    _O_DIRECT = 0


class TooLarge(Exception):
    """The body exceeds the allowed size."""


@dataclass
class Received:
    size: int
    crc64: int
    md5: Optional[bytes]  # None when not computed


def _buffers() -> List[mmap.mmap]:
    """Per-thread page-aligned buffers (anonymous maps), as O_DIRECT needs."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = [mmap.mmap(-1, CHUNK) for _ in range(PIPELINE_BUFFERS)]
        _local.pool = pool
    return pool


def _set_direct(fd: int, enable: bool) -> bool:
    """Switch O_DIRECT on or off for ``fd``; False when the platform or file system refuses."""
    if not _O_DIRECT:
        return False
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | _O_DIRECT) if enable else (flags & ~_O_DIRECT))
    except OSError:
        return False
    return True


class _Writer:
    """Appends to ``fd``; full aligned chunks go with O_DIRECT when ``direct``.

    Writing fresh page-cache pages is the slowest step of ingest on many VMs (the
    guest allocates and dirties a page per 4 KiB, and dirty-page throttling starts
    after a few GiB); direct writes skip the page cache. Anything unaligned (the
    tail of a body), or a file system that refuses O_DIRECT, uses normal writes.
    """

    def __init__(self, fd: int, direct: bool) -> None:
        self.fd = fd
        self.direct = direct and _set_direct(fd, True)

    def write(self, view: memoryview) -> None:
        if self.direct:
            aligned = len(view) & ~(_ALIGN - 1)
            if aligned:
                try:
                    _write_all(self.fd, view[:aligned])
                    view = view[aligned:]
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    # Refused (alignment rules of this file system): go buffered for good.
                    # A refused direct write writes nothing, so the offset is unchanged.
                    self.direct = False
                    _set_direct(self.fd, False)
            if len(view):
                self.direct = False
                _set_direct(self.fd, False)
        if len(view):
            _write_all(self.fd, view)


def _fill(body: BodyReader, view: memoryview) -> int:
    filled = 0
    while filled < len(view):
        count = body.readinto(view[filled:])
        if count == 0:
            break
        filled += count
    return filled


def _write_all(fd: int, view: memoryview) -> None:
    while len(view):
        written = os.write(fd, view)
        view = view[written:]


class _Md5Worker:
    def __init__(self, free: queue.SimpleQueue[mmap.mmap]) -> None:
        self.md5 = hashlib.md5()
        self.work: queue.SimpleQueue[Optional[Tuple[mmap.mmap, int]]] = queue.SimpleQueue()
        self.free = free
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="emulator-md5", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            buf, count = item
            try:
                if self.error is None:
                    self.md5.update(memoryview(buf)[:count])
            except BaseException as exc:  # noqa: BLE001 - reported to the reader thread
                self.error = exc
            finally:
                self.free.put(buf)

    def finish(self) -> bytes:
        self.work.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.md5.digest()

    def abandon(self) -> None:
        self.work.put(None)
        self.thread.join()


def receive_to_file(
    body: BodyReader, fd: int, want_md5: bool, max_size: int, direct_io: bool = False
) -> Received:
    """Copy the body into ``fd`` (a new, empty file); TooLarge beyond ``max_size``.

    ``direct_io``: write large bodies with O_DIRECT where the file system allows.
    """
    if body.length_hint is not None and body.length_hint > max_size:
        raise TooLarge()
    pool = _buffers()
    crc = 0
    size = 0
    first = memoryview(pool[0])
    count = _fill(body, first)
    if count < CHUNK or body.finished:
        # Small body (the common case for everything but parts): all inline.
        view = first[:count]
        if count > max_size:
            raise TooLarge()
        crc = crc64(view, 0)
        _write_all(fd, view)
        md5 = hashlib.md5(view).digest() if want_md5 else None
        return Received(count, crc, md5)
    free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
    for buf in pool[1:]:
        free.put(buf)
    worker = _Md5Worker(free) if want_md5 else None
    writer = _Writer(fd, direct_io)
    try:
        current = pool[0]
        while count:
            size += count
            if size > max_size:
                raise TooLarge()
            view = memoryview(current)[:count]
            crc = crc64(view, crc)
            writer.write(view)
            if worker is not None:
                worker.work.put((current, count))
                current = free.get()
            count = _fill(body, memoryview(current))
        md5 = worker.finish() if worker is not None else None
        worker = None
        return Received(size, crc, md5)
    finally:
        if worker is not None:
            worker.abandon()
