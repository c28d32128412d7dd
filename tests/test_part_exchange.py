"""part_exchange (csrc/part_exchange.c): the C reply-head parser against its Python
twin and against the reader small_put uses, and the exchange over a socket pair with
a scripted server: the bytes on the wire, the CRC-64, and every outcome (done, raw,
stale, short file, timeout)."""
from __future__ import annotations

import os
import select
import socket
import threading
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as stt

from ossresume_c import native
from ossresume_c import part_exchange as px
from ossresume_c import send_range as sr
from ossresume_c.small_put import _parse_head

pytestmark = pytest.mark.skipif(not sr.AVAILABLE, reason="no pread/poll sockets here")

NAMES = ["Content-Length", "content-length", "ETag", "etag", "x-oss-hash-crc64ecma",
         "X-Oss-Hash-Crc64ecma", "Connection", "Transfer-Encoding", "x-oss-request-id",
         "Server", "X Bad", "", " ETag", "ETag ", "Content-Length\t", "\u00e9tag"]
VALUES = ["0", "12", "007", "1234567890123456789", "-1", " 5 ", "\t5", "5\x0b", "\"abc\"",
          " \"d41d8\" ", "W/\"x\"", "close", "Close", "keep-alive", "upgrade", "chunked", "",
          "18446744073709551615", "a\x00b", "\u00ff", "1 2", "x\ry", "x\ny"]
SEPS = ["\r\n"] * 8 + ["\n", "\r"]


@stt.composite
def heads(draw) -> bytes:
    version = draw(stt.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.1x", "http/1.1"]))
    code = draw(stt.sampled_from(["200", "204", "304", "100", "403", "503", "20", "2000", "2a0"]))
    reason = draw(stt.sampled_from([" OK", "", " ", " Service Unavailable", "x"]))
    lines = [f"{version} {code}{reason}"]
    for _ in range(draw(stt.integers(0, 7))):
        name = draw(stt.sampled_from(NAMES) | stt.text(alphabet="abcXYZ-_!:", max_size=8))
        value = draw(stt.sampled_from(VALUES) | stt.text(max_size=6))
        sep = draw(stt.sampled_from([":", ": ", ":\t", " : ", ""]))
        lines.append(f"{name}{sep}{value}")
    text = "".join(line + draw(stt.sampled_from(SEPS)) for line in lines) + "\r\n"
    body = draw(stt.binary(max_size=8))
    return text.encode("utf-8") + body


@settings(max_examples=600, deadline=None)
@given(data=heads())
def test_c_parser_equals_twin_on_generated_heads(data):
    assert px.parse_reply_head(data) == px.parse_reply_head_reference(data)


@settings(max_examples=300, deadline=None)
@given(data=stt.binary(max_size=300), cut=stt.integers(0, 300))
def test_c_parser_equals_twin_on_any_bytes(data, cut):
    framed = data[:cut] + b"\r\n\r\n" + data[cut:]
    assert px.parse_reply_head(data) == px.parse_reply_head_reference(data)
    assert px.parse_reply_head(framed) == px.parse_reply_head_reference(framed)


@settings(max_examples=600, deadline=None)
@given(data=heads())
def test_a_sure_parse_agrees_with_the_reader(data):
    """What C is sure of is what small_put's reader would have made of the same head."""
    verdict, head = px.parse_reply_head(data)
    if verdict != "ok":
        return
    assert head is not None
    code, version, headers = _parse_head(data[:head.head_len - 4])
    assert code == head.code
    keep = (headers.get("connection") or "").lower() != "close" and version != "HTTP/1.0"
    assert keep == head.keep
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == str(head.content_length) or \
        int(headers["content-length"]) == head.content_length
    assert headers.get("etag") == head.etag
    assert headers.get("x-oss-hash-crc64ecma") == head.crc64


def test_incomplete_and_unsure():
    assert px.parse_reply_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n") == ("incomplete", None)
    for head in (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                 b"HTTP/1.1 200 OK\r\n\r\n",        # no Content-Length
                 b"HTTP/1.1 100 Continue\r\n\r\n",
                 b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
                 b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: upgrade\r\n\r\n"):
        assert px.parse_reply_head(head) == ("unsure", None), head
    verdict, head_ = px.parse_reply_head(b"HTTP/1.0 503 x\r\nconnection: keep-alive\r\n"
                                         b"content-length: 3\r\n\r\nabc")
    assert verdict == "ok" and head_ is not None
    assert (head_.code, head_.keep, head_.content_length) == (503, False, 3)


# -- the exchange over a socket pair ------------------------------------------------
def _server(sock: socket.socket, expect: int, replies: List[bytes], got: bytearray,
            before: bytes = b"", close: bool = False) -> threading.Thread:
    """Reads ``expect`` request bytes, then sends the reply pieces (and closes)."""
    def run() -> None:
        if before:
            sock.sendall(before)
        while len(got) < expect:
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:    # the client closed with our bytes unread
                return
            if not chunk:
                return
            got.extend(chunk)
        for piece in replies:
            sock.sendall(piece)
        if close:
            sock.shutdown(socket.SHUT_WR)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _exchange(tmp_path, data: bytes, offset: int, length: int, replies: List[bytes],
              before: bytes = b"", timeout: float = 10, file_len=None, buf_len: int = 4096,
              reply_cap: int = 4096, close: bool = False):
    path = tmp_path / "f.bin"
    path.write_bytes(data if file_len is None else data[:file_len])
    fd = os.open(path, os.O_RDONLY)
    a, b = socket.socketpair()
    a.settimeout(timeout)
    head = b"PUT /b/k?partNumber=1 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % length
    got = bytearray()
    thread = _server(b, len(head) + length, replies, got, before, close)
    if before:    # the stray bytes are there before the request
        select.select([a], [], [], 10)
    try:
        result = px.exchange(a, head, fd, offset, length, buf_len, reply_cap, timeout)
    finally:
        a.close()
        thread.join()
        b.close()
        os.close(fd)
    return result, head, bytes(got)


OK_REPLY = b"HTTP/1.1 200 OK\r\nETag: \"E\"\r\nx-oss-hash-crc64ecma: 42\r\nContent-Length: 0\r\n\r\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stt.binary(min_size=1, max_size=50_000), offset=stt.integers(0, 20_000),
       buf_len=stt.integers(200, 9000), split=stt.integers(1, 80))
def test_exchange_sends_head_and_range_and_reads_the_reply(tmp_path, data, offset, buf_len, split):
    offset = min(offset, len(data) - 1)
    length = len(data) - offset
    pieces = [OK_REPLY[:split], OK_REPLY[split:]]
    result, head, wire = _exchange(tmp_path, data, offset, length, [p for p in pieces if p],
                                   buf_len=buf_len)
    assert wire == head + data[offset:]
    assert result.outcome == "done" and result.sent_all
    assert result.crc64 == native.crc64(data[offset:])
    assert result.bytes_read == length and result.bytes_sent == len(head) + length
    assert result.head == px.ReplyHead(200, True, len(OK_REPLY), 0, '"E"', "42")


def test_exchange_reads_an_error_body_whole(tmp_path):
    body = b"<Error><Code>AccessDenied</Code></Error>"
    reply = b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    result, _, _ = _exchange(tmp_path, b"x" * 100, 0, 100, [reply])
    assert result.outcome == "done" and result.head is not None and result.head.code == 403
    assert result.reply[result.head.head_len:] == body


def test_exchange_hands_unsure_replies_over_raw(tmp_path):
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    result, _, _ = _exchange(tmp_path, b"x" * 100, 0, 100, [reply])
    assert result.outcome == "raw" and result.reply == reply and result.head is None
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"y" * 5000
    result, _, _ = _exchange(tmp_path, b"x" * 100, 0, 100, [big], reply_cap=1024)
    assert result.outcome == "raw" and big.startswith(result.reply)


def test_exchange_closed_mid_reply_is_raw(tmp_path):
    result, _, _ = _exchange(tmp_path, b"x" * 100, 0, 100, [b"HTTP/1.1 200 OK\r\n"],
                             close=True)
    assert result.outcome == "raw" and result.reply == b"HTTP/1.1 200 OK\r\n"


def test_exchange_sends_nothing_on_a_stale_connection(tmp_path):
    result, _, wire = _exchange(tmp_path, b"x" * 100, 0, 100, [], before=b"HTTP/1.1 408 x\r\n\r\n")
    assert result.outcome == "stale" and result.bytes_sent == 0 and wire == b""


def test_exchange_short_file_stops_sending(tmp_path):
    result, head, wire = _exchange(tmp_path, b"z" * 10_000, 0, 10_000, [], file_len=3000,
                                   buf_len=1024)
    assert result.outcome == "short" and not result.sent_all
    assert result.bytes_read == 3000 and wire == head + b"z" * 3000


def test_exchange_times_out_waiting_for_the_reply(tmp_path):
    result, _, _ = _exchange(tmp_path, b"x" * 100, 0, 100, [], timeout=0.2)
    assert result.outcome == "timeout" and result.sent_all



# -- several parts in a row (osr_part_exchange_many) ----------------------------------
def _parts_server(sock: socket.socket, request_ends: List[int], replies: List[bytes],
                  got: bytearray) -> threading.Thread:
    """For each request in turn: read up to its end on the wire, then send its reply."""
    def run() -> None:
        for end, reply in zip(request_ends, replies):
            while len(got) < end:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return
                got.extend(chunk)
            sock.sendall(reply)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _ok(k: int, crc: bool = True) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nETag: \"E%d\"\r\n" % k
            + (b"x-oss-hash-crc64ecma: %d\r\n" % (k * 7) if crc else b"") + b"Content-Length: 0\r\n\r\n")


UNCLEAN = {   # what ends the run of clean parts, and the outcome the next part's Exchanged has
    "error": (b"HTTP/1.1 503 x\r\nContent-Length: 3\r\n\r\nabc", "done"),
    "close": (b"HTTP/1.1 200 OK\r\nETag: \"E\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "done"),
    "no-etag": (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "done"),
    "long-etag": (b"HTTP/1.1 200 OK\r\nETag: \"" + b"a" * 80 + b"\"\r\nContent-Length: 0\r\n\r\n", "done"),
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "raw"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=stt.lists(stt.integers(1, 9000), min_size=1, max_size=6), buf_len=stt.integers(300, 5000),
       stop=stt.one_of(stt.none(), stt.tuples(stt.integers(0, 5), stt.sampled_from(sorted(UNCLEAN)))),
       crc=stt.booleans())
def test_exchange_many_sends_parts_in_a_row_until_one_is_not_clean(tmp_path, sizes, buf_len, stop, crc):
    """The same bytes as one exchange per part, and the same per-part results, for as
    long as the replies are clean 200s; the first other one ends the run and comes back
    as that part's Exchanged, and nothing of the later parts is sent."""
    data = os.urandom(sum(sizes))
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    offsets = [sum(sizes[:k]) for k in range(len(sizes))]
    heads = [b"PUT /b/k?partNumber=%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (k + 1, n)
             for k, n in enumerate(sizes)]
    replies = [_ok(k, crc) for k in range(len(sizes))]
    bad = None if stop is None or stop[0] >= len(sizes) else stop[0]
    if bad is not None:
        replies[bad] = UNCLEAN[stop[1]][0]
    wire_parts = [h + data[o:o + n] for h, o, n in zip(heads, offsets, sizes)]
    ends = [sum(len(w) for w in wire_parts[:k + 1]) for k in range(len(sizes))]
    fd = os.open(path, os.O_RDONLY)
    a, b = socket.socketpair()
    a.settimeout(10)
    got = bytearray()
    served = len(sizes) if bad is None else bad + 1
    thread = _parts_server(b, ends[:served], replies[:served], got)
    try:
        clean, last = px.Exchanger(buf_len, 4096).run_many(a, heads, fd, list(zip(offsets, sizes)), 10)
    finally:
        a.close()
        thread.join()
        b.close()
        os.close(fd)
    assert len(clean) == (len(sizes) if bad is None else bad)
    assert bytes(got) == b"".join(wire_parts[:served])
    for k, part in enumerate(clean):
        assert part == px.CleanPart('"E%d"' % k, str(k * 7) if crc else None,
                                    native.crc64(data[offsets[k]:offsets[k] + sizes[k]]))
    if bad is None:
        assert last is None
    else:
        assert last is not None and last.outcome == UNCLEAN[stop[1]][1] and last.sent_all
        assert last.crc64 == native.crc64(data[offsets[bad]:offsets[bad] + sizes[bad]])
        assert last.reply.startswith(replies[bad][:12])


def test_exchange_many_stops_at_a_short_file(tmp_path):
    """A file that ends inside the second part: one clean part, then "short"."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 150)
    fd = os.open(path, os.O_RDONLY)
    heads = [b"PUT /1 HTTP/1.1\r\nContent-Length: 100\r\n\r\n", b"PUT /2 HTTP/1.1\r\nContent-Length: 100\r\n\r\n"]
    a, b = socket.socketpair()
    got = bytearray()
    thread = _parts_server(b, [len(heads[0]) + 100], [_ok(0)], got)
    try:
        clean, last = px.Exchanger(4096, 4096).run_many(a, heads, fd, [(0, 100), (100, 100)], 10)
    finally:
        a.close()
        thread.join()
        b.close()
        os.close(fd)
    assert len(clean) == 1 and last is not None and last.outcome == "short" and not last.sent_all
    assert last.bytes_read == 50
