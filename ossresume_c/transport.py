"""HTTP transport: URL building, signing, pooled sessions and per-request retries.

One ``Transport`` serves one engine call; its connection pool is sized for the
number of parallel workers.  Bodies are bytes-like objects, sent as one
zero-copy chunk (never a file object, which requests would send in 16 KiB
writes), so a retry re-sends the body from its start.
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, Tuple, Type
from urllib.parse import quote

from . import auth, bandwidth
from . import retry
from . import status as st
from ._version import __version__
from .config import Endpoint, RequestOptions
from .credentials.base import CredentialsError, invalidate
from .reply import Reply, io_status, settle

if TYPE_CHECKING:
    import requests

    from .lean_request import LeanRequests

log = logging.getLogger("ossresume_c")

Query = Sequence[Tuple[str, Optional[str]]]
USER_AGENT = f"ossresume_c/{__version__}"

_io_errors: Tuple[Type[BaseException], ...] = ()
HTTPAdapter: Any = None     # requests' HTTPAdapter unless replaced (tests/wire_fakes.py)


def io_errors() -> Tuple[Type[BaseException], ...]:
    """The exceptions that mean "the connection or the stream broke" (requests is
    imported on the first request that goes through it, not with this module)."""
    global _io_errors
    if not _io_errors:
        import http.client

        import requests
        import urllib3
        _io_errors = (requests.ConnectionError, requests.Timeout,
                      requests.exceptions.ChunkedEncodingError,
                      requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError,
                      http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout)
    return _io_errors


class _ViewBody:
    """A memoryview body that requests sends as is on every Python.

    requests streams a body only when it has ``__iter__``, which memoryview
    lacks before Python 3.10; there it took the view for form data and added
    ``Content-Type: application/x-www-form-urlencoded`` after signing, so V4
    (which signs Content-Type) got 403 SignatureDoesNotMatch on UploadPart.
    """

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def __len__(self) -> int:
        return self.view.nbytes

    def __iter__(self) -> Iterator[memoryview]:
        yield self.view   # one zero-copy chunk, again on every retry


def encode_key(key: str) -> str:
    # Every '/' is sent as %2F (the server decodes the path), so no client-side
    # library can rewrite '.'/'..' segments of a key.
    enc = quote(key, safe="")
    if set(key) == {"."}:
        enc = enc.replace(".", "%2E")
    return enc


class Transport:
    def __init__(self, options: RequestOptions, pool_size: int = 10,
                 cancel: Optional[threading.Event] = None) -> None:
        self.options = options
        self.config = options.config
        self.ctl = options.ctl
        self.endpoint: Endpoint = Endpoint.parse(self.config.endpoint)
        self.credentials_source = self.config.credentials_source()
        self.cancel = cancel or threading.Event()
        self.pool_size = pool_size
        self.user_agent = USER_AGENT + (f" {self.ctl.user_agent_suffix}"
                                        if self.ctl.user_agent_suffix else "")
        self._session: Optional["requests.Session"] = None
        self._lean: Optional["LeanRequests"] = None
        self._lock = threading.Lock()

    @property
    def session(self) -> "requests.Session":
        """The requests session, made on first use: a call whose requests all go the
        lean way (lean_request.py) never imports requests (~0.1 s of start-up)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._new_session()
        return self._session

    def _new_session(self) -> "requests.Session":
        import requests
        import requests.adapters
        session = requests.Session()
        adapter_type = HTTPAdapter or requests.adapters.HTTPAdapter
        adapter = adapter_type(pool_connections=4, pool_maxsize=max(4, self.pool_size), max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.ctl.verify
        session.trust_env = False
        if self.ctl.proxy:
            session.proxies = {"http": self.ctl.proxy, "https": self.ctl.proxy}
        session.headers.update({"User-Agent": self.user_agent, "Accept-Encoding": "identity"})
        return session

    def lean(self) -> Optional["LeanRequests"]:
        """The kept-alive sockets of lean_request.py, or None where that path is off."""
        if self._lean is None:
            with self._lock:
                if self._lean is None:
                    from .lean_request import LeanRequests
                    self._lean = LeanRequests(self)
        return self._lean if self._lean.enabled else None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._lean is not None:
            self._lean.close()

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addressing ---------------------------------------------------------
    def url(self, bucket: Optional[str], key: Optional[str], query: Query) -> str:
        ep = self.endpoint
        path_key = encode_key(key) if key else ""
        if not bucket:
            url = f"{ep.scheme}://{ep.netloc}/"
        elif self.config.is_cname:
            url = f"{ep.scheme}://{ep.netloc}/{path_key}"
        elif ep.is_ip:
            url = f"{ep.scheme}://{ep.netloc}/{bucket}/{path_key}"
        else:
            url = f"{ep.scheme}://{bucket}.{ep.netloc}/{path_key}"
        q = auth.encode_query(list(query))
        return f"{url}?{q}" if q else url

    def sign(self, method: str, bucket: Optional[str], key: Optional[str], query: Query,
             headers: dict) -> None:
        creds = self.credentials_source()   # per request: temporary credentials get renewed
        if not creds.access_key_id or not creds.access_key_secret:
            return  # anonymous request
        if int(self.config.signature_version) == 1:
            auth.sign_v1(method, bucket, key, list(query), headers, creds)
        else:
            region = self.config.region or _region_from_host(self.endpoint.host)
            auth.sign_v4(method, bucket, key, list(query), headers, creds, region,
                         product=self.config.product or "oss")

    def presign(self, method: str, bucket: str, key: str, query: Query,
                headers: Mapping[str, str], expires: int) -> list:
        """``query`` plus the V4 query-signature parameters that let a holder of no
        secret send this request for ``expires`` seconds (unchanged when anonymous)."""
        creds = self.credentials_source()   # the current (renewed) credentials
        if not creds.access_key_id or not creds.access_key_secret:
            return list(query)
        region = self.config.region or _region_from_host(self.endpoint.host)
        return list(query) + auth.presign_v4(method, bucket, key, list(query), headers, creds, region,
                                             expires, product=self.config.product or "oss")

    # -- sending ------------------------------------------------------------
    def send(self, op: str, method: str, bucket: Optional[str], key: Optional[str],
             query: Query = (), headers: Optional[Mapping[str, str]] = None,
             body: Any = None, stream: bool = False,
             consume: Optional[Callable[[Any], Tuple[Optional[st.Status], Any]]] = None,
             after: Optional[st.Status] = None, lean: bool = False) -> Reply:
        """Send one request with retries.

        ``consume(response)`` runs on a 2xx response (inside the retry loop) and
        returns ``(error_status_or_None, result)``; an error status with a
        retryable code (CRC mismatch, broken stream) is retried like a 5xx.
        ``after``: the retryable outcome of a first attempt made elsewhere (the lean
        UploadPart of part_put.py); sending continues with the first retry.
        ``lean``: the request's reply is small and read whole (no ``stream``, a
        ``consume`` that reads only ``status_code``, ``headers`` and ``content``), so
        its first attempt may go the lean way (lean_request.py); retries go through
        requests.
        """
        attempts = max(0, int(self.ctl.max_retries)) + 1
        url = self.url(bucket, key, query)
        last: Optional[Reply] = None if after is None else Reply(after, None)
        for attempt in range(0 if after is None else 1, attempts):
            if attempt:
                delay = retry.backoff_delay(attempt - 1, self.ctl.backoff_base, self.ctl.backoff_cap)
                log.info("%s %s/%s: retry %d/%d in %.2fs after %s", op, bucket, key, attempt,
                         attempts - 1, delay, last.status if last else "?")
                if self.cancel.wait(delay):
                    break
            sent = None
            if lean and attempt == 0 and not stream:
                sender = self.lean()
                if sender is not None:
                    sent = sender.attempt(op, method, bucket, key, query, headers, body, consume)
            last = sent or self._attempt(op, method, bucket, key, query, headers, body, url, stream,
                                         consume)
            if last.status.error_code == "SecurityTokenExpired" and invalidate(self.credentials_source):
                # the server's clock says the token expired before ours did: renew, send again once
                log.info("%s %s/%s: security token expired at the server; renewing", op, bucket, key)
                last = self._attempt(op, method, bucket, key, query, headers, body, url, stream, consume)
            last.attempts = attempt + 1
            if last.status.is_ok() or not retry.is_retryable(last.status.code):
                return last
        assert last is not None
        return last

    def _attempt(self, op: str, method: str, bucket: Optional[str], key: Optional[str],
                 query: Query, headers: Optional[Mapping[str, str]], body: Any, url: str,
                 stream: bool, consume: Any) -> Reply:
        hdrs = dict(headers or {})
        try:
            self.sign(method, bucket, key, query, hdrs)
        except CredentialsError as exc:
            return Reply(st.Status(st.INVALID_ARGUMENT, "CredentialsError", f"{op}: {exc}"), None)
        data: Any = _ViewBody(body) if isinstance(body, memoryview) else body
        limiter = bandwidth.bucket_for(self.ctl)
        if limiter is not None and not limiter.acquire(bandwidth.request_bytes(method, body, hdrs),
                                                       self.cancel):
            return Reply(st.Status(st.ABORT_CALLBACK, "Cancelled", f"{op}: cancelled"), None)
        session = self.session
        import requests
        try:
            resp = session.request(
                method, url, data=data, headers=hdrs, stream=True, allow_redirects=False,
                timeout=(self.ctl.connect_timeout, self.ctl.read_timeout))
        except io_errors() as exc:
            return Reply(io_status(exc, op), None)
        except requests.RequestException as exc:
            return Reply(st.Status(st.HTTP_IO_ERROR, "HttpIoError", f"{op}: {exc}"), None)
        try:
            return settle(op, bucket, key, resp, stream, consume)
        except io_errors() as exc:
            return Reply(io_status(exc, op), resp)
        finally:
            if not stream or not (200 <= resp.status_code < 300) or consume is not None:
                resp.close()


def _region_from_host(host: str) -> str:
    # oss-cn-hangzhou.aliyuncs.com / oss-cn-hangzhou-internal.aliyuncs.com -> cn-hangzhou
    first = host.split(".")[0]
    if first.startswith("oss-"):
        region = first[4:]
        for suffix in ("-internal",):
            if region.endswith(suffix):
                region = region[: -len(suffix)]
        return region
    return "cn-hangzhou"
