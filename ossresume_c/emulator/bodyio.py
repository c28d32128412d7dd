"""Request bodies: Content-Length and chunked framing, with the two body faults.

A body is read with ``readinto`` into caller buffers (no per-chunk ``bytes``).
``Expect: 100-continue`` is answered lazily, by the first read: an operation that
fails before it needs the body (NoSuchUpload, a fault) answers with its final
status instead, and the client never sends the body.
"""
from __future__ import annotations

import time
from typing import BinaryIO, Callable, Optional


class ClientDisconnected(Exception):
    """The client closed the connection or sent a malformed body."""


class ResetConnection(Exception):
    """A fault asks for the connection to be dropped (TCP RST) right now."""


class BodyReader:
    """Base: accounting, lazy ``100 Continue``, the reset and throttle faults."""

    def __init__(self, rfile: BinaryIO, send_continue: Optional[Callable[[], None]]) -> None:
        self._rfile = rfile
        self._send_continue = send_continue
        self.bytes_read = 0
        self.finished = False
        self.reset_after: Optional[int] = None
        self.bytes_per_sec: Optional[float] = None
        self._throttle_start = 0.0

    declared_length: Optional[int] = None  # the framing length (Content-Length bodies)
    length_hint: Optional[int] = None  # declared_length, or a Content-Length sent along with chunked

    @property
    def started(self) -> bool:
        return self._send_continue is None

    def _start(self) -> None:
        if self._send_continue is not None:
            send, self._send_continue = self._send_continue, None
            send()
        if self.bytes_per_sec:
            self._throttle_start = time.monotonic()

    def readinto(self, buffer: memoryview) -> int:
        """Read up to ``len(buffer)`` bytes (fewer only at the end). 0 means the body is done."""
        if self.finished or len(buffer) == 0:
            return 0
        if self.bytes_read == 0:
            self._start()
        if self.reset_after is not None:
            room = self.reset_after - self.bytes_read
            if room <= 0:
                raise ResetConnection()
            buffer = buffer[:room]
        count = self._read(buffer)
        self.bytes_read += count
        if self.bytes_per_sec:
            due = self._throttle_start + self.bytes_read / self.bytes_per_sec
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if self.reset_after is not None and self.bytes_read >= self.reset_after:
            raise ResetConnection()
        return count

    def _read(self, buffer: memoryview) -> int:
        raise NotImplementedError

    def read_all(self, limit: int) -> bytes:
        """The whole body as bytes, for small XML bodies; ClientDisconnected beyond ``limit``."""
        out = bytearray()
        chunk = bytearray(65536)
        view = memoryview(chunk)
        while True:
            count = self.readinto(view)
            if count == 0:
                return bytes(out)
            out += view[:count]
            if len(out) > limit:
                raise BodyTooLarge()

    def discard(self, limit: int) -> bool:
        """Read and drop the rest of the body, up to ``limit`` bytes. True when it was all read."""
        if self.finished:
            return True
        if not self.started and self.declared_length != 0:
            return False  # the client waits for 100-continue and will not send the body
        if self.length_hint is not None and self.length_hint - self.bytes_read > limit:
            return False
        scratch = memoryview(bytearray(65536))
        total = 0
        while not self.finished:
            count = self.readinto(scratch)
            total += count
            if count == 0 or total > limit:
                break
        return self.finished


class BodyTooLarge(Exception):
    pass


class FixedLengthBody(BodyReader):
    def __init__(self, rfile: BinaryIO, length: int, send_continue: Optional[Callable[[], None]]) -> None:
        super().__init__(rfile, send_continue)
        self.declared_length = self.length_hint = length
        self._remaining = length
        if length == 0:
            self.finished = True

    def _read(self, buffer: memoryview) -> int:
        want = min(len(buffer), self._remaining)
        count = self._rfile.readinto(buffer[:want]) or 0  # type: ignore[attr-defined]
        if count == 0:
            raise ClientDisconnected("connection closed inside the request body")
        self._remaining -= count
        if self._remaining == 0:
            self.finished = True
        return count


class ChunkedBody(BodyReader):
    """``Transfer-Encoding: chunked`` (it wins over Content-Length, as the C SDK sends both)."""

    MAX_LINE = 4096

    def __init__(
        self, rfile: BinaryIO, send_continue: Optional[Callable[[], None]], length_hint: Optional[int] = None
    ) -> None:
        super().__init__(rfile, send_continue)
        self.length_hint = length_hint
        self._chunk_left = 0

    def _next_chunk(self) -> int:
        line = self._rfile.readline(self.MAX_LINE)
        if not line:
            raise ClientDisconnected("connection closed before a chunk header")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ClientDisconnected(f"bad chunk size line {line[:40]!r}") from None
        if size < 0:
            raise ClientDisconnected("negative chunk size")
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = self._rfile.readline(self.MAX_LINE)
                if not trailer or trailer in (b"\r\n", b"\n"):
                    break
            self.finished = True
        return size

    def _read(self, buffer: memoryview) -> int:
        total = 0
        while total < len(buffer) and not self.finished:
            if self._chunk_left == 0:
                self._chunk_left = self._next_chunk()
                if self.finished:
                    break
            want = min(len(buffer) - total, self._chunk_left)
            count = self._rfile.readinto(buffer[total : total + want]) or 0  # type: ignore[attr-defined]
            if count == 0:
                raise ClientDisconnected("connection closed inside a chunk")
            total += count
            self._chunk_left -= count
            if self._chunk_left == 0:
                crlf = self._rfile.readline(self.MAX_LINE)
                if crlf not in (b"\r\n", b"\n"):
                    raise ClientDisconnected("chunk not followed by CRLF")
        return total
