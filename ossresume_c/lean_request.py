"""The first attempt of a small request on a kept-alive socket of our own, without requests.

Initiate, Complete, Abort, HEAD, the listings: their replies are small and read
whole, so they need nothing of requests but a socket.  Sent here they cost a
fraction of the CPU, and a big-file upload whose parts go through part_put.py
never imports requests at all (~0.1 s of every process's start-up).  Only the
first attempt goes this way: every retry goes through requests, which owns
proxies, redirects off, and every odd framing.  A reply this module cannot read
(lean reply parsing in small_put.py) is a retryable -998 HttpIoError, as a broken
connection is there.  Off with a proxy, a bandwidth cap, or a CA bundle Python's
``ssl`` cannot load; then every attempt goes through requests.
"""
from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Mapping, Optional

from . import bandwidth
from . import status as st
from .credentials.base import CredentialsError
from .small_put import Headers, SmallPutter, read_reply_with_body
from .reply import Reply, io_status, settle

if TYPE_CHECKING:
    from .transport import Query, Transport

BODY_METHODS = ("POST", "PUT")    # those that send Content-Length: 0 without a body, as requests does


class LeanResponse:
    """The reply as ``settle`` and the ops' ``consume`` hooks read it."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def close(self) -> None:
        """Nothing to release: the body is read and the socket stays with its thread."""


class LeanRequests:
    """One kept-alive socket per thread for the lean first attempts of one Transport."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        try:
            conns: Optional[SmallPutter] = SmallPutter(transport)
        except (OSError, ValueError):   # a CA bundle Python's ssl cannot load (a directory...)
            conns = None
        self.conns = conns
        self.enabled = (conns is not None and conns.enabled
                        and bandwidth.bucket_for(transport.ctl) is None)

    def close(self) -> None:
        if self.conns is not None:
            self.conns.close()

    def attempt(self, op: str, method: str, bucket: Optional[str], key: Optional[str],
                query: Query, headers: Optional[Mapping[str, str]], body: Any,
                consume: Any) -> Optional[Reply]:
        """The Reply of one attempt; None: nothing was sent (no connection), so the
        attempt goes through requests."""
        conns = self.conns
        assert conns is not None
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            return None
        length = memoryview(body).nbytes if body is not None else (0 if method in BODY_METHODS else None)
        try:
            head, host, port = conns.signed_head(bucket, key, query, headers or {}, length, method)
        except CredentialsError as exc:
            return Reply(st.Status(st.INVALID_ARGUMENT, "CredentialsError", f"{op}: {exc}"), None)
        sock = conns.fresh_socket(host, port)
        if sock is None:
            return None
        try:
            if body is not None and length and length <= 65536:
                sock.sendall(head + bytes(body))
            else:
                sock.sendall(head)
                if body is not None and length:
                    sock.sendall(body)
            code, reply, keep, content = read_reply_with_body(sock, method)
        except socket.timeout:     # not yet a TimeoutError before Python 3.10
            conns.drop(sock)
            return Reply(st.Status(st.REQUEST_TIMEOUT, "RequestTimeout",
                                   f"{op}: the server did not answer in time"), None)
        except (OSError, ValueError) as exc:
            conns.drop(sock)
            return Reply(io_status(exc, op), None)
        if not keep:
            conns.drop(sock)
        return settle(op, bucket, key, LeanResponse(code, reply, content), False, consume)

