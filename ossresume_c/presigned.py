"""Requests a worker sends on URLs the coordinator presigned: a transport that never
signs (and holds no credential), the per-process cache of such transports, and the
coordinator's presigning of a task's requests (V4 query signing, short expiry)."""
from __future__ import annotations

import dataclasses
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple

from .auth import Credentials
from .config import RequestOptions
from .small_put import SmallPutter
from .transport import Reply, Transport

PRESIGN_SECONDS = 900        # a presigned URL lives 15 minutes

Query = Tuple[Tuple[str, Optional[str]], ...]
Signed = Tuple[Tuple[str, Query], ...]      # (method, the whole presigned query) per request


def without_secrets(options: RequestOptions) -> RequestOptions:
    """The options a worker needs (endpoint, addressing, timeouts, retries), no credentials."""
    config = dataclasses.replace(options.config, access_key_id=None, access_key_secret=None,
                                 sts_token=None)
    return RequestOptions(config, options.ctl)


def presign_requests(transport: Transport, bucket: str, key: str,
                     requests: Sequence[Tuple[str, Mapping[str, str]]]) -> Signed:
    """Presign ``(method, headers)`` requests on ``key`` (no query of their own)."""
    return tuple((method, tuple(transport.presign(method, bucket, key, (), headers,
                                                  PRESIGN_SECONDS)))
                 for method, headers in requests)


class PresignedTransport(Transport):
    """Sends each request on the presigned query given for its method and key in
    :meth:`using` (per thread), or on the query it is given; never signs."""

    def __init__(self, options: RequestOptions, pool_size: int) -> None:
        super().__init__(options, pool_size=pool_size)
        self.credentials = Credentials("", "")
        self._signed = threading.local()
        self.putter = SmallPutter(self)       # one-sendall PutObject on the presigned query

    def sign(self, method: str, bucket: Optional[str], key: Optional[str], query: Any,
             headers: dict) -> None:
        return None

    @contextmanager
    def using(self, key: str, signed: Signed) -> Iterator["PresignedTransport"]:
        self._signed.map = {(method, key): query for method, query in signed}
        try:
            yield self
        finally:
            self._signed.map = {}

    def send(self, op: str, method: str, bucket: Optional[str], key: Optional[str],
             query: Any = (), *args: Any, **kwargs: Any) -> Reply:
        found = getattr(self._signed, "map", {}).get((method, key or ""))
        return super().send(op, method, bucket, key, found if found is not None else query,
                            *args, **kwargs)


_TRANSPORTS: Dict[Tuple[str, bool, str], PresignedTransport] = {}
_TRANSPORTS_LOCK = threading.Lock()


def transport_for(options: RequestOptions) -> PresignedTransport:
    """This process's presigned-request transport for the options' endpoint (kept alive)."""
    ident = (options.config.endpoint, options.config.is_cname, repr(options.ctl))
    with _TRANSPORTS_LOCK:
        found = _TRANSPORTS.get(ident)
        if found is None:
            found = _TRANSPORTS[ident] = PresignedTransport(options, pool_size=8)
        return found
