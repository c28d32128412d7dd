"""A lean PutObject for small bodies: one ``sendall`` per request on a kept-alive socket.

Measured (see the bulk note): through ``requests`` a 4 KiB PutObject costs the
client ~1.2 ms of CPU, most of it in urllib3/http.client layers; signed and sent
here it costs ~0.5 ms.  Only the happy path lives here: any answer other than
``200`` with a matching CRC-64, any I/O error, a proxy or chunked framing returns
None, and the caller sends the file again through the regular transport, which
owns retries and error Statuses.  PutObject is idempotent, so re-sending is safe.
"""
from __future__ import annotations

import select
import socket
import threading
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from . import auth
from . import status as st
if TYPE_CHECKING:
    import ssl

    from .transport import Transport


class SmallPutter:
    """One kept-alive connection per worker thread, for one engine call."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.enabled = not transport.ctl.proxy and transport.endpoint.scheme in ("http", "https")
        self.local = threading.local()
        self.lock = threading.Lock()
        self.socks: List[socket.socket] = []
        self.place: Optional[Tuple[Tuple[Optional[str], Optional[str]], Tuple[str, str, str, Optional[int]]]] = None
        self.tls: Optional[ssl.SSLContext] = None
        if transport.endpoint.scheme == "https":
            from .tls_context import client_context   # one per trust setting and process
            self.tls = client_context(transport.ctl.verify)

    def close(self) -> None:
        with self.lock:
            for s in self.socks:
                s.close()
            self.socks.clear()

    def put(self, bucket: str, key: str, body: bytearray, headers: Mapping[str, str],
            expect_crc: Optional[int], query: Sequence[Tuple[str, Optional[str]]] = ()
            ) -> Optional[st.Status]:
        """The Status of a confirmed 200 (with the reply's headers), else None: send it
        the regular way.  ``query``: a presigned one."""
        if not self.enabled:
            return None
        head, host, port = self.signed_head(bucket, key, query, headers, len(body))
        request = head + bytes(body)
        sock = self.socket_for(host, port)
        if sock is None:
            return None
        try:
            sock.sendall(request)
            status, reply, keep = read_reply(sock)
        except (OSError, ValueError):
            self.drop(sock)
            return None
        if not keep:
            self.drop(sock)
        if status != 200:
            return None
        crc_text = reply.get("x-oss-hash-crc64ecma")
        crc = int(crc_text) if crc_text and crc_text.isdigit() else None
        if expect_crc is not None and self.t.ctl.enable_crc and crc is not None and crc != expect_crc:
            return None
        return st.Status(200, req_id=reply.get("x-oss-request-id") or "",
                         resp_headers={"ETag": reply.get("etag") or "", "x-oss-hash-crc64ecma": crc_text or ""})

    def signed_head(self, bucket: Optional[str], key: Optional[str],
                    query: Sequence[Tuple[str, Optional[str]]], headers: Mapping[str, str],
                    length: Optional[int], method: str = "PUT") -> Tuple[bytes, str, Optional[int]]:
        """The signed head of a ``method`` request with a ``length``-byte body (None: no
        body, no Content-Length), and the host and port to send it to.
        CredentialsError when the credentials cannot be had."""
        last = self.place     # the object's URL without a query: the same for all its parts
        if last is None or last[0] != (bucket, key):
            url = urlsplit(self.t.url(bucket, key, ()))
            last = self.place = ((bucket, key), (url.path, url.netloc, url.hostname or "", url.port))
        path, netloc, host, port = last[1]
        q = auth.encode_query(list(query))
        hdrs: Dict[str, str] = dict(headers)
        if length is not None:
            hdrs["Content-Length"] = str(length)
        self.t.sign(method, bucket, key, query, hdrs)
        lines = [f"{method} {path}?{q} HTTP/1.1" if q else f"{method} {path} HTTP/1.1",
                 f"Host: {netloc}", f"User-Agent: {self.t.user_agent}", "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), host, port

    def socket_for(self, host: str, port: Optional[int]) -> Optional[socket.socket]:
        sock = getattr(self.local, "sock", None)
        if sock is not None:
            return sock
        default = 443 if self.tls else 80
        try:
            sock = socket.create_connection((host, port or default), timeout=self.t.ctl.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=host)
            sock.settimeout(self.t.ctl.read_timeout)
        except OSError:
            return None
        self.local.sock = sock
        with self.lock:
            self.socks.append(sock)
        return sock

    def fresh_socket(self, host: str, port: Optional[int]) -> Optional[socket.socket]:
        """The thread's kept-alive socket, unless the server closed it while idle (a
        readable idle socket holds an EOF or stray bytes): then a new one."""
        sock = self.socket_for(host, port)
        if sock is None:
            return None
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            readable = [sock]
        if not readable:
            return sock
        self.drop(sock)
        return self.socket_for(host, port)

    def drop(self, sock: socket.socket) -> None:
        self.local.sock = None
        with self.lock:
            if sock in self.socks:
                self.socks.remove(sock)
        sock.close()


class Headers(Dict[str, str]):
    """A reply's headers under the server's own names, looked up case-insensitively."""

    def __init__(self) -> None:
        super().__init__()
        self.lower: Dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        real = self.lower.setdefault(name.lower(), name)
        dict.__setitem__(self, real, value)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, self.lower.get(name.lower(), name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.lower

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:  # type: ignore[override]
        real = self.lower.get(name.lower())
        return default if real is None else dict.__getitem__(self, real)


def read_reply(sock: socket.socket) -> Tuple[int, Headers, bool]:
    """Status, headers and whether the connection stays open; the body
    (an error document at most) is read and dropped.  ValueError on framing we
    do not handle here."""
    status, headers, keep, _body = read_reply_with_body(sock)
    return status, headers, keep


MAX_HEAD = 65536
MAX_BODY = 64 << 20     # a control reply (XML, an error document) is far smaller


def read_reply_with_body(sock: socket.socket, method: str = "PUT", prefix: bytes = b""
                         ) -> Tuple[int, Headers, bool, bytes]:
    """``read_reply`` and the body it read: framed by Content-Length, chunked, or (on a
    connection the server closes) by the end of the stream; none after a HEAD, a 204
    or a 304.  Interim 1xx replies are skipped.  ValueError on a reply that is not
    HTTP/1.x or is framed in a way that cannot be trusted.  ``prefix``: the reply's
    first bytes, already received."""
    status, headers, keep, buf = read_reply_head(sock, prefix)
    return read_reply_body(sock, method, status, headers, keep, buf)


def read_reply_head(sock: socket.socket, prefix: bytes = b"") -> Tuple[int, Headers, bool, bytes]:
    """Status, headers, whether the connection stays open (as far as the head says)
    and the bytes received past the head (the start of the body).  Interim 1xx
    replies are skipped.  ValueError on a reply that is not HTTP/1.x.  ``prefix``: the
    reply's first bytes, already received."""
    buf = prefix
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ValueError("connection closed mid-reply")
            buf += chunk
            if len(buf) > MAX_HEAD:
                raise ValueError("reply head too long")
        head, _, buf = buf.partition(b"\r\n\r\n")
        status, version, headers = _parse_head(head)
        if not 100 <= status < 200:
            break
    keep = (headers.get("connection") or "").lower() != "close" and version != "HTTP/1.0"
    return status, headers, keep, buf


def read_reply_body(sock: socket.socket, method: str, status: int, headers: Headers, keep: bool,
                    buf: bytes) -> Tuple[int, Headers, bool, bytes]:
    """The rest of ``read_reply_with_body`` once ``read_reply_head`` has read the head
    and ``buf`` past it."""
    if method == "HEAD" or status in (204, 304):
        return status, headers, keep, b""
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower() != "chunked" or "content-length" in headers:
            raise ValueError("unsupported Transfer-Encoding")
        body, rest = _read_chunked(sock, buf)
        if rest:
            raise ValueError("bytes after the last chunk")
        return status, headers, keep, body
    if "content-length" not in headers:
        if keep:
            raise ValueError("a kept-alive reply without Content-Length")
        body = _read_to_end(sock, buf)
        return status, headers, False, body
    text = headers["content-length"]
    if not text.isdigit() or int(text) > MAX_BODY:
        raise ValueError(f"bad Content-Length {text[:40]!r}")
    length = int(text)
    rest = buf
    while len(rest) < length:
        chunk = sock.recv(max(65536, length - len(rest)))
        if not chunk:
            raise ValueError("connection closed mid-body")
        rest += chunk
    if len(rest) != length:
        raise ValueError("more bytes than Content-Length")
    return status, headers, keep, rest


def _parse_head(head: bytes) -> Tuple[int, str, Headers]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() \
            or len(parts[1]) != 3:
        raise ValueError("not an HTTP/1.x reply")
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError(f"broken header line {line[:40]!r}")
        value = value.strip()
        if name in headers:
            if name.lower() == "content-length":
                if headers[name] != value:
                    raise ValueError("conflicting Content-Length headers")
                continue
            value = f"{headers[name]}, {value}"
        headers.add(name, value)
    return int(parts[1]), parts[0], headers


def _read_chunked(sock: socket.socket, buf: bytes) -> Tuple[bytes, bytes]:
    """The de-chunked body and what followed it."""
    out = bytearray()
    while True:
        while b"\r\n" not in buf:
            buf = _more(sock, buf)
        size_line, _, buf = buf.partition(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
        if size < 0 or len(out) + size > MAX_BODY:
            raise ValueError("chunk too large")
        if size == 0:
            while True:      # trailers, then the empty line
                while b"\r\n" not in buf:
                    buf = _more(sock, buf)
                line, _, buf = buf.partition(b"\r\n")
                if not line:
                    return bytes(out), buf
        while len(buf) < size + 2:
            buf = _more(sock, buf)
        if buf[size:size + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        out += buf[:size]
        buf = buf[size + 2:]


def _more(sock: socket.socket, buf: bytes) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ValueError("connection closed mid-body")
    if len(buf) > MAX_HEAD + MAX_BODY:
        raise ValueError("reply too long")
    return buf + chunk


def _read_to_end(sock: socket.socket, buf: bytes) -> bytes:
    parts = [buf]
    total = len(buf)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > MAX_BODY:
            raise ValueError("reply too long")
        parts.append(chunk)


class LeanConnections:
    """The base of a lean path over one transport (``part_put``, ``part_get``): its
    kept-alive connections, or None when Python's ssl cannot load the CA bundle
    (a directory...) and everything goes the regular way."""

    def __init__(self, transport: "Transport") -> None:
        self.t = transport
        try:
            conns: Optional[SmallPutter] = SmallPutter(transport)
        except (OSError, ValueError):
            conns = None
        self.conns = conns

    def close(self) -> None:
        if self.conns is not None:
            self.conns.close()
