"""The lean small-body PutObject: the happy path on a kept-alive socket, and None
(send it the regular way) for everything else."""
from __future__ import annotations

import socket
import threading

import pytest

from ossresume_c import native
from ossresume_c.put_file import put_file
from ossresume_c.small_put import SmallPutter, read_reply
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


def _reply_of(raw: bytes):
    a, b = socket.socketpair()
    try:
        threading.Thread(target=lambda: (b.sendall(raw), b.close())).start()
        return read_reply(a)
    finally:
        a.close()


def test_reply_framing():
    status, headers, keep = _reply_of(b"HTTP/1.1 200 OK\r\nETag: \"E\"\r\nContent-Length: 3\r\n\r\nabc")
    assert (status, headers["etag"], keep) == (200, '"E"', True)
    assert _reply_of(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[2] is False
    for bad in (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"):
        with pytest.raises(ValueError):
            _reply_of(bad)
