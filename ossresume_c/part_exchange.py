"""One request with a file range as its body, and its reply head, in one C call: the Python face of ``csrc/part_exchange.c``.

``exchange`` sends a ready request head and ``[offset, offset+length)`` of a file
(pread + CRC-64 + send, the head in front of the first chunk) and receives the
reply until its head is complete, all without the GIL; ``parse_reply_head`` is
the C parser it uses, which reports only what it is sure of and says "unsure"
for anything else (the caller's own reader then takes over from the received
bytes).  ``parse_reply_head_reference`` is the same parser in plain Python, the
obviously-correct twin the tests compare against.

>>> parse_reply_head(b"HTTP/1.1 200 OK\\r\\nETag: \\"A\\"\\r\\nContent-Length: 0\\r\\n\\r\\n")
('ok', ReplyHead(code=200, keep=True, head_len=47, content_length=0, etag='"A"', crc64=None))
"""
from __future__ import annotations

import socket
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

from . import aligned
from ._native import ffi, lib
from .send_range import _timeout_ms

__all__ = ["CleanPart", "Exchanged", "Exchanger", "ReplyHead", "exchange", "parse_reply_head",
           "parse_reply_head_reference"]

_OUTCOMES = {lib.OSR_EXCH_DONE: "done", lib.OSR_EXCH_RAW: "raw", lib.OSR_EXCH_STALE: "stale",
             lib.OSR_SEND_SHORT: "short", lib.OSR_SEND_FILE: "file",
             lib.OSR_SEND_SOCKET: "socket", lib.OSR_SEND_TIMEOUT: "timeout"}
_VERDICTS = {lib.OSR_HEAD_OK: "ok", lib.OSR_HEAD_INCOMPLETE: "incomplete",
             lib.OSR_HEAD_UNSURE: "unsure"}


class ReplyHead(NamedTuple):
    """What a sure parse found: the status code, whether the connection stays
    open, the head's length (with the blank line), Content-Length, and the ETag
    and x-oss-hash-crc64ecma values as sent (trimmed; None when absent)."""

    code: int
    keep: bool
    head_len: int
    content_length: int
    etag: Optional[str]
    crc64: Optional[str]


class Exchanged(NamedTuple):
    """What ``exchange`` did.  ``outcome``: "done" (``head`` parsed, the whole reply
    body is in ``reply`` after the head); "raw" (``reply`` holds what was received:
    the caller's reader parses it and reads on); "stale" (the idle connection was
    readable: nothing sent); or a body outcome of ``send_range`` ("short", "file",
    "socket", "timeout"; ``sent_all`` tells whether the request had gone out)."""

    outcome: str
    bytes_read: int
    bytes_sent: int
    crc64: int
    errno: int
    sent_all: bool
    reply: bytes
    head: Optional[ReplyHead]


def _head_of(data: bytes, h: Any) -> ReplyHead:
    etag = data[h.etag_off:h.etag_off + h.etag_len].decode("ascii") if h.etag_off >= 0 else None
    crc = data[h.crc_off:h.crc_off + h.crc_len].decode("ascii") if h.crc_off >= 0 else None
    return ReplyHead(int(h.code), bool(h.keep), int(h.head_len), int(h.content_length), etag, crc)


def parse_reply_head(data: bytes) -> Tuple[str, Optional[ReplyHead]]:
    """("ok", head), ("incomplete", None) or ("unsure", None) for the reply bytes ``data``."""
    out = ffi.new("osr_reply_head *")
    verdict = _VERDICTS[lib.osr_parse_reply_head(data, len(data), out)]
    return verdict, (_head_of(data, out) if verdict == "ok" else None)


class CleanPart(NamedTuple):
    """A part of ``run_many`` that ended in a clean 200: its ETag and CRC-64 header
    as sent (None: absent), and the CRC-64 of the bytes sent."""

    etag: str
    crc64_text: Optional[str]
    crc64: int


class Exchanger:
    """Reused scratch for ``exchange`` calls of one thread: a page-aligned body
    buffer of ``chunk`` bytes plus a page for the head in front of the first chunk
    (``aligned.py``), a reply buffer of ``reply_cap`` bytes and the result struct."""

    def __init__(self, chunk: int, reply_cap: int) -> None:
        self.buf = aligned.scratch(chunk + aligned.PAGE)   # file bytes land on a page boundary
        self.reply_buf = bytearray(reply_cap)
        self._buf = ffi.from_buffer(self.buf, require_writable=True)
        self._reply = ffi.from_buffer(self.reply_buf, require_writable=True)
        self._res = ffi.new("osr_exchange_result *")

    def run(self, sock: socket.socket, head: bytes, fd: int, offset: int, length: int,
            timeout: Optional[float]) -> Exchanged:
        """Send ``head`` and the file range on ``sock``, then receive the reply head (see
        the module); ``timeout`` seconds without progress is a "timeout" (None: forever)."""
        code = lib.osr_part_exchange(sock.fileno(), head, len(head), fd, offset, length, self._buf,
                                     len(self.buf), self._reply, len(self.reply_buf),
                                     _timeout_ms(timeout), self._res)
        return self._exchanged(code)

    def run_many(self, sock: socket.socket, heads: Sequence[bytes], fd: int,
                 ranges: Sequence[Tuple[int, int]], timeout: Optional[float]
                 ) -> Tuple[List[CleanPart], Optional[Exchanged]]:
        """``run`` for several parts in a row on ``sock`` (one C call, one GIL release),
        for as long as each ends in a clean 200 (see ``osr_part_exchange_many``): the
        clean parts, and the next part's ``Exchanged`` when one was not clean (None
        when all were)."""
        n = len(heads)
        ends, total = [], 0
        for head in heads:
            total += len(head)
            ends.append(total)
        offsets = [offset for offset, _ in ranges]
        lengths = [length for _, length in ranges]
        done = ffi.new("osr_part_done[]", n)
        last = ffi.new("int32_t *")
        k = lib.osr_part_exchange_many(sock.fileno(), b"".join(heads), ends, n, fd, offsets, lengths,
                                       self._buf, len(self.buf), self._reply, len(self.reply_buf),
                                       _timeout_ms(timeout), done, self._res, last)
        clean = [CleanPart(ffi.string(d.etag, d.etag_len).decode("ascii"),
                           None if d.crc_len < 0 else ffi.string(d.crc_text, d.crc_len).decode("ascii"),
                           d.crc) for d in done[0:k]]
        return clean, (self._exchanged(last[0]) if k < n else None)

    def _exchanged(self, code: int) -> Exchanged:
        res = self._res
        n = res.reply_len
        reply = bytes(self.reply_buf[:n]) if n else b""
        outcome = _OUTCOMES[code]
        return Exchanged(outcome, res.bytes_read, res.bytes_sent, res.crc, res.err,
                         bool(res.sent_all), reply,
                         _head_of(reply, res.head) if outcome == "done" else None)


def exchange(sock: socket.socket, head: bytes, fd: int, offset: int, length: int, chunk: int,
             reply_cap: int, timeout: Optional[float]) -> Exchanged:
    """One ``Exchanger(chunk, reply_cap).run(...)``: for a single call."""
    return Exchanger(chunk, reply_cap).run(sock, head, fd, offset, length, timeout)


# -- the twin -----------------------------------------------------------------
_TCHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _trimmed(value: bytes) -> Optional[bytes]:
    value = value.strip(b" \t")
    return value if all(0x20 <= c <= 0x7E for c in value) else None


def parse_reply_head_reference(data: bytes) -> Tuple[str, Optional[ReplyHead]]:
    """``parse_reply_head`` in plain Python."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return "incomplete", None
    lines = data[:end].split(b"\r\n")
    if any(b"\r" in line or b"\n" in line for line in lines):
        return "unsure", None
    status = lines[0]
    if len(status) < 12 or status[:8] not in (b"HTTP/1.0", b"HTTP/1.1") or status[8:9] != b" " \
            or not all(48 <= c <= 57 for c in status[9:12]) or status[12:13] not in (b"", b" "):
        return "unsure", None
    code = int(status[9:12])
    if code < 200 or code in (204, 304):
        return "unsure", None
    keep = status[:8] == b"HTTP/1.1"
    found: dict = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or not all(c in _TCHARS for c in name):
            return "unsure", None
        low = name.lower()
        if low == b"transfer-encoding":
            return "unsure", None
        if low not in (b"content-length", b"etag", b"x-oss-hash-crc64ecma", b"connection"):
            continue
        trimmed = _trimmed(value)
        if low in found or trimmed is None:
            return "unsure", None
        found[low] = trimmed
    length = found.get(b"content-length")
    if length is None or not 1 <= len(length) <= 18 or not all(48 <= c <= 57 for c in length):
        return "unsure", None
    conn = found.get(b"connection")
    if conn is not None:
        if conn.lower() == b"close":
            keep = False
        elif conn.lower() != b"keep-alive":
            return "unsure", None
    etag, crc = found.get(b"etag"), found.get(b"x-oss-hash-crc64ecma")
    return "ok", ReplyHead(code, keep, end + 4, int(length),
                           None if etag is None else etag.decode("ascii"),
                           None if crc is None else crc.decode("ascii"))
