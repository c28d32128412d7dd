"""The lean small-body PutObject: the happy path on a kept-alive socket, and None
(send it the regular way) for everything else."""
from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from ossresume_c import native
from ossresume_c.put_file import put_file
from ossresume_c.small_put import SmallPutter, read_reply_head, read_reply_with_body
from ossresume_c.transport import Transport

from helpers import get_bytes, make_file, options_for


def test_puts_on_one_kept_alive_connection(oss_emulator, tmp_path):
    with Transport(options_for(oss_emulator)) as t:
        putter = SmallPutter(t)
        try:
            for i in range(5):
                body = bytearray(f"body {i}".encode())
                status = putter.put(oss_emulator.bucket, f"lean/ü {i}", body,
                                    {"Content-Type": "text/plain"}, native.crc64(bytes(body)))
                assert status is not None and status.code == 200
                assert status.resp_headers["ETag"].startswith('"')
            assert len(putter.socks) == 1
        finally:
            putter.close()
    assert get_bytes(oss_emulator, "lean/ü 3") == b"body 3"


def test_anything_but_a_confirmed_200_is_left_to_the_regular_path(oss_emulator, tmp_path):
    oss_emulator.add_fault(op="PutObject", action="status", status=503, nth=1)
    path = make_file(tmp_path / "f", 3000, seed=5)
    opts = options_for(oss_emulator)
    with Transport(opts) as t:
        putter = SmallPutter(t)
        try:
            assert putter.put(oss_emulator.bucket, "k", bytearray(b"x"), {}, None) is None  # the 503
            assert putter.put(oss_emulator.bucket, "k", bytearray(b"x"), {}, 12345) is None  # CRC differs
            status, sent = put_file(t, oss_emulator.bucket, "k", path, fast=putter.put)
            assert status.is_ok() and sent is not None
        finally:
            putter.close()
    assert get_bytes(oss_emulator, "k") == open(path, "rb").read()


def test_a_dead_endpoint_is_none_not_an_exception(oss_emulator):
    import ossresume_c as oss
    opts = oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="a",
                                      access_key_secret="b", max_retries=0)
    with Transport(opts) as t:
        assert SmallPutter(t).put("some-bucket", "k", bytearray(b"x"), {}, None) is None


def _served(raw: bytes, pieces: int):
    """One end of a socket pair and the thread that sends ``raw`` into the other end in
    ``pieces`` sends, then closes it."""
    a, b = socket.socketpair()
    step = max(1, -(-len(raw) // pieces))

    def serve():
        for i in range(0, len(raw), step):
            b.sendall(raw[i:i + step])
        b.close()
    sender = threading.Thread(target=serve)
    sender.start()
    return a, sender


def _reply_of(raw: bytes, method: str = "PUT", pieces: int = 1):
    """read_reply_with_body over a real socket pair, the reply sent in ``pieces`` sends."""
    a, _sender = _served(raw, pieces)
    try:
        return read_reply_with_body(a, method)
    finally:
        a.close()


def test_reply_framing():
    status, headers, keep, body = _reply_of(b"HTTP/1.1 200 OK\r\nETag: \"E\"\r\nContent-Length: 3\r\n\r\nabc")
    assert (status, headers["etag"], headers["ETag"], keep, body) == (200, '"E"', '"E"', True, b"abc")
    assert dict(headers) == {"ETag": '"E"', "Content-Length": "3"}   # the server's own names
    assert _reply_of(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[2] is False
    for bad in (b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",     # closed mid-body
                b"HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nbroken line\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 2000 OK\r\n\r\n"):
        with pytest.raises(ValueError):
            _reply_of(bad)


def test_reply_without_a_body():
    # a HEAD's Content-Length is the object's size, not a body; 204 has none
    assert _reply_of(b"HTTP/1.1 200 OK\r\nContent-Length: 123\r\n\r\n", "HEAD")[3] == b""
    assert _reply_of(b"HTTP/1.1 204 No Content\r\n\r\n", "DELETE")[:2][0] == 204
    # interim 100 Continue is skipped; a reply ended by closing the connection is read to its end
    status, _h, keep, body = _reply_of(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n<x/>")
    assert (status, keep, body) == (200, False, b"<x/>")


@settings(max_examples=60, deadline=None)
@given(body=st_.binary(max_size=3000), cuts=st_.lists(st_.integers(1, 700), max_size=8),
       pieces=st_.integers(1, 9), trailer=st_.booleans())
def test_chunked_reply_is_the_body(body, cuts, pieces, trailer):
    chunks, i = [], 0
    for n in cuts + [len(body)]:
        if i < len(body):
            chunks.append(body[i:i + n])
            i += n
    wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    wire += b"0\r\n" + (b"X-Trailer: t\r\n" if trailer else b"") + b"\r\n"
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + wire
    status, headers, keep, got = _reply_of(raw, "GET", pieces)
    assert (status, keep, got) == (200, True, body)


@settings(max_examples=60, deadline=None)
@given(body=st_.binary(max_size=5000), pieces=st_.integers(1, 9), interim=st_.booleans())
def test_the_head_reader_returns_what_came_past_the_head(body, pieces, interim):
    """read_reply_head reads no further than it must, and what it received past the
    head plus what is left on the socket is the body, byte for byte."""
    head = b"HTTP/1.1 206 Partial Content\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n" if interim else b"") + head + body
    a, sender = _served(raw, pieces)
    try:
        status, headers, keep, rest = read_reply_head(a)
        left = b""
        while True:
            chunk = a.recv(65536)
            if not chunk:
                break
            left += chunk
    finally:
        sender.join()
        a.close()
    assert (status, headers["content-length"], keep) == (206, str(len(body)), False)
    assert rest + left == body
