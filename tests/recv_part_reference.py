"""The contract of csrc/recv_part.c (``native.recv_part_raw``) in plain Python, for the tests.

Same loop, written the obvious way: fill a ``buf_len`` buffer from the socket with
``recv_into`` (a socket with a timeout raises ``TimeoutError`` when no data comes),
write what arrived with ``os.pwrite`` at its offset, continue the CRC-64 over it
(the table-driven reference), until ``length`` bytes are in or something stops it.
"""
from __future__ import annotations

import errno
import os
import socket
from typing import Tuple

import crc64_reference as ref

OK, SOCKET, EOF, FILE = 0, 1, 2, 3     # OSR_RECV_OK, _SOCKET, _EOF, _FILE


def recv_part(sock: socket.socket, fd: int, offset: int, length: int, buf_len: int,
              crc_seed: int = 0) -> Tuple[int, int, int, int]:
    """``(outcome, errno, received, crc64)`` as ``native.recv_part_raw`` returns them."""
    buf = memoryview(bytearray(buf_len))
    done, crc = 0, crc_seed
    while done < length:
        want = min(length - done, buf_len)
        have, outcome, err = 0, OK, 0
        while have < want:
            try:
                r = sock.recv_into(buf[have:want])
            except (TimeoutError, socket.timeout):     # the same class from Python 3.10
                outcome, err = SOCKET, errno.ETIMEDOUT
                break
            except OSError as exc:
                outcome, err = SOCKET, exc.errno or 0
                break
            if r == 0:
                outcome = EOF
                break
            have += r
        if have == 0:
            return outcome, err, done, crc
        written = 0
        while written < have:
            try:
                written += os.pwrite(fd, buf[written:have], offset + done + written)
            except OSError as exc:
                return FILE, exc.errno or 0, done, crc
        crc = ref.crc64_fast(bytes(buf[:have]), crc)
        done += have
        if outcome != OK:
            return outcome, err, done, crc
    return OK, 0, done, crc
