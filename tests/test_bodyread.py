"""bodyread: a response body read straight into the caller's buffer, against the emulator."""
from __future__ import annotations

import os

import pytest

from ossresume_c import ops
from ossresume_c.bodyread import readinto_for
from ossresume_c.transport import Transport

from helpers import options_for


def _drain(readinto, size: int, chunk: int) -> bytes:
    buf = bytearray(chunk)
    view = memoryview(buf)
    out = bytearray()
    while len(out) < size:
        n = readinto(view[:min(chunk, size - len(out))])
        if not n:
            break
        out += view[:n]
    return bytes(out)


@pytest.mark.parametrize("chunk", [1, 4096, 1 << 20])
def test_a_plain_body_is_read_by_http_client_directly(oss_emulator, chunk):
    data = os.urandom(300_000)
    seen = {}
    with Transport(options_for(oss_emulator)) as t:
        assert ops.put_object(t, oss_emulator.bucket, "k", data)[0].is_ok()

        def consume(resp):
            readinto = readinto_for(resp)
            seen["direct"] = readinto is not resp.raw.readinto
            first, last = 1000, 250_999
            return None, _drain(readinto, last - first + 1, chunk)

        status, body = ops.get_object(t, oss_emulator.bucket, "k", (1000, 250_999),
                                      consume=consume)
    assert status.is_ok(), status
    assert seen["direct"] is True
    assert body == data[1000:251_000]


def test_a_body_urllib3_has_started_to_buffer_stays_with_urllib3(oss_emulator):
    data = os.urandom(50_000)
    with Transport(options_for(oss_emulator)) as t:
        assert ops.put_object(t, oss_emulator.bucket, "k", data)[0].is_ok()

        def consume(resp):
            head = resp.raw.read(10)   # urllib3 owns the stream now (and may hold bytes)
            readinto = readinto_for(resp)
            if len(getattr(resp.raw, "_decoded_buffer", b"")):
                assert readinto == resp.raw.readinto
            return None, head + _drain(readinto, len(data) - 10, 8192)

        status, body = ops.get_object(t, oss_emulator.bucket, "k", consume=consume)
    assert status.is_ok(), status
    assert body == data


def test_an_encoded_body_stays_with_urllib3(oss_emulator):
    with Transport(options_for(oss_emulator)) as t:
        assert ops.put_object(t, oss_emulator.bucket, "k", b"x" * 100)[0].is_ok()

        def consume(resp):
            resp.headers["Content-Encoding"] = "gzip"   # as a server that compresses says
            readinto = readinto_for(resp)
            return None, readinto == resp.raw.readinto

        status, same = ops.get_object(t, oss_emulator.bucket, "k", consume=consume)
    assert status.is_ok() and same is True
