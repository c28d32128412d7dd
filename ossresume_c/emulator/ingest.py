"""Stream a request body to a file while computing its CRC-64 and (optionally) MD5.

The body is read in 1 MiB chunks into a few reused buffers; nothing holds a whole
part. The socket read, the CRC (C, GIL released) and the write run on the
connection's thread; MD5 (hashlib, GIL released on large buffers) runs on a
helper thread fed through a queue, so on a multi-core machine MD5 overlaps the
rest and the ingest rate approaches MD5's own speed.
"""
from __future__ import annotations

import hashlib
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


class TooLarge(Exception):
    """The body exceeds the allowed size."""


@dataclass
class Received:
    size: int
    crc64: int
    md5: Optional[bytes]  # None when not computed


def _buffers() -> List[bytearray]:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = [bytearray(CHUNK) for _ in range(PIPELINE_BUFFERS)]
        _local.pool = pool
    return pool


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
    def __init__(self, free: "queue.SimpleQueue[bytearray]") -> None:
        self.md5 = hashlib.md5()
        self.work: "queue.SimpleQueue[Optional[Tuple[bytearray, int]]]" = queue.SimpleQueue()
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


def receive_to_file(body: BodyReader, fd: int, want_md5: bool, max_size: int) -> Received:
    """Copy the body into ``fd`` (from its current position); TooLarge beyond ``max_size``."""
    if body.declared_length is not None and body.declared_length > max_size:
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
    free: "queue.SimpleQueue[bytearray]" = queue.SimpleQueue()
    for buf in pool[1:]:
        free.put(buf)
    worker = _Md5Worker(free) if want_md5 else None
    try:
        current = pool[0]
        while count:
            size += count
            if size > max_size:
                raise TooLarge()
            view = memoryview(current)[:count]
            crc = crc64(view, crc)
            _write_all(fd, view)
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
