"""A lean ranged GET of one part: the signed head out, the reply head in, the body straight into the file.

Through ``requests`` each part's GET costs ~1 ms of interpreter time and needs
``requests`` imported (~0.1 s of CPU per process).  Here the signed head goes out
in one ``sendall`` on a kept-alive socket of our own (``small_put.SmallPutter``'s
connections, one per worker thread), the reply head is parsed by
``small_put.read_reply_head``, and for a clean part reply the bytes that came
with the head are written with pwrite + CRC-64 and the rest is received into the
file by ``direct_body.receive_rest`` (in C without the GIL over plain HTTP, one
SSL read per record over HTTPS), the CRC-64 carried across both pieces.

Outcomes mirror ``part_put``: a clean part, a file write error and an error reply
no retry can change (403, 404, 412...) are final; a broken, timed-out or garbled
exchange or a retryable error reply (5xx, 429) is the first attempt's Status and
the regular path continues with the retries (``ops.get_object(after=)``), so the
retry count does not change.  A well-formed reply that is not a clean part
(chunked, encoded, another range or length) returns None before a body byte is
consumed, and the regular path sends the GET itself.  Off with a proxy, a
bandwidth cap, on Windows, or with ``OSSRESUME_PART_GETTER=requests``.
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Mapping, Optional, Sequence, Tuple

from . import bandwidth, direct_body, native, retry, wire
from . import status as st
from .credentials.base import CredentialsError, invalidate
from .part_put import LeanPart
from .small_put import Headers, LeanConnections, read_reply_body, read_reply_head
from .transport import Transport, io_status

GETTERS = ("lean", "requests")
OP = "GetObject"


def getter_from_env() -> str:
    value = os.environ.get("OSSRESUME_PART_GETTER", "lean").strip().lower()
    return value if value in GETTERS else "lean"


def part_reply_problem(code: int, headers: Mapping[str, str], first: int, last: int,
                       object_size: int) -> str:
    """Why a 2xx reply head is not a clean part ``first..last`` whose body can be
    received straight into the file ("" when it is): the range checks of the
    regular path, plus a Content-Length (the exact body size) and no chunked
    framing or content encoding."""
    if "transfer-encoding" in headers:
        return "chunked"
    encoding = (headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"Content-Encoding {encoding[:40]!r}"
    length = headers.get("content-length")
    if length is None:
        return "no Content-Length"
    return wire.range_reply_problem(code, length, headers.get("content-range"), first, last,
                                    object_size)


class PartGetter(LeanConnections):
    """Kept-alive connections (one per worker thread) for the parts of one download."""

    def __init__(self, transport: Transport, getter: Optional[str] = None) -> None:
        super().__init__(transport)
        self.getter = getter or getter_from_env()
        conns = self.conns
        self.enabled = (conns is not None and conns.enabled and self.getter != "requests"
                        and os.name == "posix" and bandwidth.bucket_for(transport.ctl) is None)
        self.used = 0          # GETs settled here (tests and benchmarks look)
        self.lock = threading.Lock()

    def get(self, bucket: str, key: str, first: int, last: int, object_size: int,
            headers: Mapping[str, str], fd: int, filepath: str,
            query: Sequence[Tuple[str, Optional[str]]] = ()) -> Optional[LeanPart]:
        """GET bytes ``first..last`` into ``fd`` at ``first`` as the first attempt;
        None: nothing was written, GET it the regular way.  ``query``: a presigned
        one (a worker's part); ``filepath`` names ``fd`` in a FileWriteError."""
        conns = self.conns
        if not self.enabled or conns is None or last < first:
            return None
        hdrs = dict(headers)
        hdrs["Range"] = f"bytes={first}-{last}"
        try:
            head, host, port = conns.signed_head(bucket, key, query, hdrs, None, "GET")
        except CredentialsError:
            return None    # the regular path turns it into its Status
        sock = conns.fresh_socket(host, port)
        if sock is None:
            return None
        try:
            sock.sendall(head)
            code, reply, keep, rest = read_reply_head(sock)
            if 200 <= code < 300:
                size = last - first + 1
                if part_reply_problem(code, reply, first, last, object_size) or len(rest) > size:
                    conns.drop(sock)
                    return None
                return self._body(sock, keep, fd, first, size, rest, reply, code, filepath)
            code, reply, keep, body = read_reply_body(sock, "GET", code, reply, keep, rest)
        except socket.timeout as exc:     # not yet a TimeoutError before Python 3.10
            conns.drop(sock)
            return self._retryable(io_status(exc, OP))
        except (OSError, ValueError) as exc:
            conns.drop(sock)
            return self._retryable(io_status(exc, OP))
        if not keep:
            conns.drop(sock)
        status = st.status_from_response(code, reply, body)
        if status.error_code == "SecurityTokenExpired" and invalidate(self.t.credentials_source):
            return None    # renewed, as Transport.send does: the regular path sends again
        self._count()
        return self._retryable(status) if retry.is_retryable(status.code) else LeanPart(status)

    def _body(self, sock: socket.socket, keep: bool, fd: int, offset: int, size: int, rest: bytes,
              reply: Headers, code: int, filepath: str) -> LeanPart:
        assert self.conns is not None
        try:
            crc = direct_body.receive_rest(sock, fd, offset, size, memoryview(rest))
        except native.PartWriteError as exc:
            self.conns.drop(sock)
            return LeanPart(st.Status(st.FILE_WRITE_ERROR, "FileWriteError",
                                      f"writing {filepath!r}: {exc.strerror or exc}"))
        except (ConnectionError, TimeoutError) as exc:
            self.conns.drop(sock)
            return self._retryable(io_status(exc, OP))
        if not keep:
            self.conns.drop(sock)
        self._count()
        return LeanPart(st.status_from_response(code, reply, b""), True, "", crc)

    def _count(self) -> None:
        with self.lock:
            self.used += 1

    def _retryable(self, status: st.Status) -> LeanPart:
        """The first attempt failed in a way a retry may mend: the last attempt when
        there are no retries, else the regular path carries on."""
        return LeanPart(status, final=int(self.t.ctl.max_retries) <= 0)
