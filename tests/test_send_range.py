"""send_range (csrc/send_range.c) against its Python twin: the same bytes on the wire,
the same CRC-64 and the same outcome for any file, range and chunk size; and the
outcomes that stop it (file ended, unreadable file, broken socket, timeout)."""
from __future__ import annotations

import errno
import os
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as stt

from ossresume_c import native
from ossresume_c import send_range as sr

pytestmark = pytest.mark.skipif(not sr.AVAILABLE, reason="no pread/poll sockets here")


def _drain(sock: socket.socket, out: bytearray) -> threading.Thread:
    def run() -> None:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return
            out.extend(chunk)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _send(fn, data: bytes, tmp_path, **kw):
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    a, b = socket.socketpair()
    got = bytearray()
    thread = _drain(b, got)
    try:
        result = fn(a, fd, **kw)
    finally:
        a.close()
        thread.join()
        b.close()
        os.close(fd)
    return result, bytes(got)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stt.binary(max_size=200_000), offset=stt.integers(0, 210_000),
       length=stt.integers(0, 210_000), chunk=stt.integers(1, 70_000), seed=stt.integers(0, 2**64 - 1),
       use_sendfile=stt.booleans())
def test_c_and_python_send_the_same(tmp_path, data, offset, length, chunk, seed, use_sendfile):
    c, c_bytes = _send(lambda s, fd: sr.send_range(s, fd, offset, length, bytearray(chunk),
                                                  timeout=10, use_sendfile=use_sendfile, crc_seed=seed),
                       data, tmp_path)
    py, py_bytes = _send(lambda s, fd: sr.send_range_reference(s, fd, offset, length, chunk, timeout=10,
                                                               crc_seed=seed), data, tmp_path)
    assert c == py
    assert c_bytes == py_bytes == data[offset:offset + length]
    available = max(0, min(length, len(data) - offset))
    assert c.outcome == ("ok" if available == length else "short")
    assert c.bytes_read == c.bytes_sent == available
    assert c.crc64 == native.crc64(data[offset:offset + available], seed)


def test_unreadable_file_is_a_file_outcome(tmp_path):
    a, b = socket.socketpair()
    fd = os.open(tmp_path, os.O_RDONLY)     # a directory: pread gives EISDIR
    try:
        c = sr.send_range(a, fd, 0, 10, bytearray(4))
        py = sr.send_range_reference(a, fd, 0, 10, 4)
    finally:
        os.close(fd)
        a.close()
        b.close()
    assert c == py == ("file", 0, 0, 0, errno.EISDIR)


def test_a_closed_peer_is_a_socket_outcome(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(300_000))
    fd = os.open(path, os.O_RDONLY)
    try:
        for fn in (lambda s: sr.send_range(s, fd, 0, 300_000, bytearray(65536), timeout=5),
                   lambda s: sr.send_range_reference(s, fd, 0, 300_000, 65536, timeout=5)):
            a, b = socket.socketpair()
            b.close()
            result = fn(a)
            a.close()
            assert result.outcome == "socket" and result.errno in (errno.EPIPE, errno.ECONNRESET)
            assert result.bytes_sent == 0
    finally:
        os.close(fd)


def test_a_peer_that_stops_reading_is_a_timeout(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(8 << 20))    # far more than the socket buffers hold
    fd = os.open(path, os.O_RDONLY)
    try:
        for fn in (lambda s: sr.send_range(s, fd, 0, 8 << 20, bytearray(1 << 18), timeout=0.05),
                   lambda s: sr.send_range_reference(s, fd, 0, 8 << 20, 1 << 18, timeout=0.05)):
            a, b = socket.socketpair()
            a.settimeout(0.05)      # what a Python socket with a timeout is: non-blocking
            try:
                result = fn(a)
            finally:
                a.close()
                b.close()
            assert result.outcome == "timeout"
            assert 0 < result.bytes_sent < result.bytes_read <= 8 << 20
    finally:
        os.close(fd)


def test_arguments_are_checked():
    a, b = socket.socketpair()
    try:
        with pytest.raises(ValueError):
            sr.send_range(a, 0, -1, 1, bytearray(1))
        assert sr.send_range(a, 0, 0, 1, bytearray(0)).outcome == "file"   # empty buffer: EINVAL
    finally:
        a.close()
        b.close()
