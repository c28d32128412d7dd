"""csrc/recv_part.c through ``native.recv_part_raw`` / ``native.recv_part``: a body
from a socket straight into a file, against the plain-Python reference
(tests/recv_part_reference.py) on real socket pairs.

The sender is a Python thread: while the receiver waits inside C for its data, the
sender must be able to run, so these tests also show that the call releases the GIL
(held, the receive would time out and differ from the reference)."""
from __future__ import annotations

import errno
import os
import random
import socket
import threading
from typing import List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recv_part_reference as ref
from ossresume_c import native
from ossresume_c._native import lib


def _pair(timeout: Optional[float]) -> Tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    b.settimeout(timeout)       # a timeout makes the socket non-blocking underneath (EAGAIN + poll)
    return a, b


def _send(sock: socket.socket, payload: bytes, cuts: List[int], close: bool) -> threading.Thread:
    def run() -> None:
        pos = 0
        for cut in cuts + [len(payload)]:
            end = min(max(cut, pos), len(payload))
            if end > pos:
                sock.sendall(payload[pos:end])
                pos = end
        if close:
            sock.shutdown(socket.SHUT_WR)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _rest(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    out = bytearray()
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return bytes(out)
        out += chunk


def _run(impl: str, payload: bytes, cuts: List[int], length: int, buf_len: int, offset: int,
         seed: int, timeout: Optional[float], path: str) -> Tuple[Tuple[int, int, int, int], bytes, bytes]:
    """(result, file bytes, what stayed unread in the socket) of one implementation."""
    tx, rx = _pair(timeout)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        sender = _send(tx, payload, cuts, close=True)
        if impl == "c":
            res = tuple(native.recv_part_raw(rx.fileno(), rx.gettimeout(), fd, offset, length,
                                             bytearray(buf_len), seed))
        else:
            res = ref.recv_part(rx, fd, offset, length, buf_len, seed)
        rest = _rest(rx)
        sender.join()
        with open(path, "rb") as fh:
            written = fh.read()
        return res, written, rest   # type: ignore[return-value]
    finally:
        os.close(fd)
        tx.close()
        rx.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 300_000), data_seed=st.integers(0, 2**32 - 1),
       cuts=st.lists(st.integers(0, 300_000), max_size=6),
       extra=st.integers(-2_000, 2_000), buf_len=st.integers(1, 200_000),
       offset=st.integers(0, 50_000), seed=st.integers(0, 2**64 - 1),
       blocking=st.booleans())
def test_c_matches_the_reference(tmp_path, size, data_seed, cuts, extra, buf_len, offset, seed,
                                 blocking):
    payload = random.Random(data_seed).randbytes(size)
    length = max(0, size + extra)     # past the payload: the stream ends early (EOF)
    timeout = None if blocking else 10.0
    got_c = _run("c", payload, sorted(cuts), length, buf_len, offset, seed, timeout, str(tmp_path / "c"))
    got_py = _run("py", payload, sorted(cuts), length, buf_len, offset, seed, timeout, str(tmp_path / "p"))
    assert got_c == got_py
    (outcome, err, received, crc), written, rest = got_c
    if length <= size:
        assert (outcome, err, received) == (lib.OSR_RECV_OK, 0, length)
        assert rest == payload[length:]           # not one byte more than the body
    else:
        assert (outcome, received) == (lib.OSR_RECV_EOF, size)
    assert written[offset:offset + received] == payload[:received]
    assert crc == native.crc64(payload[:received], seed)


@pytest.mark.parametrize("impl", ["c", "py"])
def test_a_stalled_stream_times_out_with_what_arrived_written(tmp_path, impl):
    tx, rx = _pair(0.05)
    path = str(tmp_path / "out")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        tx.sendall(b"x" * 5000)     # then nothing more, the sender stays connected
        if impl == "c":
            res = tuple(native.recv_part_raw(rx.fileno(), rx.gettimeout(), fd, 100, 9000,
                                             bytearray(4096), 7))
        else:
            res = ref.recv_part(rx, fd, 100, 9000, 4096, 7)
    finally:
        os.close(fd)
        tx.close()
        rx.close()
    assert res == (lib.OSR_RECV_SOCKET, errno.ETIMEDOUT, 5000, native.crc64(b"x" * 5000, 7))
    with open(path, "rb") as fh:
        assert fh.read() == bytes(100) + b"x" * 5000


@pytest.mark.parametrize("impl", ["c", "py"])
def test_a_file_that_cannot_be_written_is_a_file_error(tmp_path, impl):
    path = tmp_path / "ro"
    path.write_bytes(b"")
    tx, rx = _pair(5.0)
    fd = os.open(str(path), os.O_RDONLY)
    try:
        tx.sendall(b"y" * 3000)
        if impl == "c":
            res = tuple(native.recv_part_raw(rx.fileno(), 5.0, fd, 0, 3000, bytearray(1000), 0))
        else:
            res = ref.recv_part(rx, fd, 0, 3000, 1000, 0)
    finally:
        os.close(fd)
        tx.close()
        rx.close()
    assert res == (lib.OSR_RECV_FILE, errno.EBADF, 0, 0)


def test_bad_arguments_are_refused_before_reading():
    tx, rx = _pair(None)
    try:
        assert native.recv_part_raw(rx.fileno(), None, 1, -1, 10, bytearray(10)).outcome == lib.OSR_RECV_ARGS
        assert native.recv_part_raw(rx.fileno(), None, 1, 0, 10, bytearray(0)).outcome == lib.OSR_RECV_ARGS
        assert native.recv_part_raw(-1, None, 1, 0, 10, bytearray(10)).outcome == lib.OSR_RECV_ARGS
        # a zero-length body needs no buffer and reads nothing
        assert tuple(native.recv_part_raw(rx.fileno(), None, 1, 0, 0, bytearray(0), 5)) == (0, 0, 0, 5)
    finally:
        tx.close()
        rx.close()


def test_recv_part_raises_what_the_transport_retries(tmp_path):
    path = str(tmp_path / "out")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        tx, rx = _pair(5.0)
        tx.sendall(b"a" * 100)
        tx.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionError, match="ended 50 bytes early"):
            native.recv_part(rx.fileno(), 5.0, fd, 0, 150, bytearray(64))
        tx.close()
        rx.close()
        tx, rx = _pair(0.02)
        with pytest.raises(TimeoutError):
            native.recv_part(rx.fileno(), 0.02, fd, 0, 10, bytearray(64))
        tx.close()
        rx.close()
        tx, rx = _pair(5.0)
        tx.sendall(b"b" * 10)
        assert native.recv_part(rx.fileno(), 5.0, fd, 3, 10, bytearray(4), 0) == native.crc64(b"b" * 10)
        tx.close()
        rx.close()
    finally:
        os.close(fd)
    ro = os.open(path, os.O_RDONLY)
    tx, rx = _pair(5.0)
    try:
        tx.sendall(b"c" * 10)
        with pytest.raises(native.PartWriteError) as caught:
            native.recv_part(rx.fileno(), 5.0, ro, 0, 10, bytearray(64))
        assert caught.value.errno == errno.EBADF
    finally:
        os.close(ro)
        tx.close()
        rx.close()
