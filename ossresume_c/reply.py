"""A finished request as the engines see it: its Status, the response and what its
``consume`` hook made of it; how a response, or a broken connection, becomes one."""
from __future__ import annotations

import logging
import socket
import sys
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from . import status as st

log = logging.getLogger("ossresume_c")


@dataclass
class Reply:
    """A finished request: its Status, the raw response (body consumed) and what
    the ``consume`` hook returned."""

    status: st.Status
    response: Any             # requests.Response, or lean_request.LeanResponse
    result: Any = None
    attempts: int = 1      # how many times it was sent (orphans.py: a retried Initiate is in doubt)


def settle(op: str, bucket: Optional[str], key: Optional[str], resp: Any, stream: bool,
           consume: Any) -> Reply:
    """The Reply of a response: ``consume``'s on a 2xx, else the body's Status."""
    ok = 200 <= resp.status_code < 300
    if ok and consume is not None:
        err, result = consume(resp)
        status = err or st.status_from_response(resp.status_code, resp.headers, b"")
        return Reply(status, resp, result)
    if ok and stream:
        return Reply(st.status_from_response(resp.status_code, resp.headers, b""), resp)
    content = resp.content
    status = st.status_from_response(resp.status_code, resp.headers, content)
    if not ok:
        log.debug("%s %s/%s -> %s", op, bucket, key, status)
    return Reply(status, resp, content)


def io_status(exc: BaseException, op: str) -> st.Status:
    """-998 HttpIoError for a broken connection or stream, -995 RequestTimeout for one
    that stopped answering (requests' or the socket's own timeout)."""
    timeouts: Tuple[type, ...] = (TimeoutError, socket.timeout)
    if "requests" in sys.modules:
        timeouts += (sys.modules["requests"].Timeout,)
    code = st.REQUEST_TIMEOUT if isinstance(exc, timeouts) else st.HTTP_IO_ERROR
    name = "RequestTimeout" if code == st.REQUEST_TIMEOUT else "HttpIoError"
    return st.Status(code, name, f"{op}: {type(exc).__name__}: {exc}")
