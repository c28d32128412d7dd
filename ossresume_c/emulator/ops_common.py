"""What the emulator's OSS operations share: the ``Resource`` base, request checks and body intake.

Each resource (service, bucket, object, multipart) is a ``Resource`` subclass
whose ``OPERATIONS`` maps operation names to its methods; ``operations.py``
dispatches to them.
"""
from __future__ import annotations

import base64
import binascii
import os
from email.utils import formatdate, parsedate_to_datetime
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from .bodyio import BodyTooLarge
from .config import EmulatorConfig
from .errors import OssError
from .exchange import Request, Response
from .ingest import Received, TooLarge, receive_to_file
from .store import ObjectMeta, Store
from .xmlout import Element

STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
MAX_XML_BODY = 8 * 1024 * 1024
OWNER_ID = "1000000000000000"
OWNER: List[Element] = [("ID", OWNER_ID), ("DisplayName", OWNER_ID)]


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def parse_http_date(text: Optional[str]) -> Optional[float]:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OssError("InvalidArgument", f"{name} must be an integer.", ArgumentName=name, ArgumentValue=raw) from None
    if not low <= value <= high:
        raise OssError(
            "InvalidArgument", f"{name} must be between {low} and {high}.", ArgumentName=name, ArgumentValue=raw
        )
    return value


def encoding_type(request: Request) -> Optional[str]:
    value = request.param("encoding-type")
    if value is None or value == "":
        return None
    if value != "url":
        raise OssError("InvalidArgument", "encoding-type must be 'url'.", ArgumentName="encoding-type", ArgumentValue=value)
    return value


def declared_md5(request: Request) -> Optional[bytes]:
    """The decoded Content-MD5 header, or None; a malformed one is InvalidDigest."""
    value = request.header("Content-MD5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise OssError("InvalidDigest") from None
    if len(digest) != 16:
        raise OssError("InvalidDigest")
    return digest


def pseudo_etag(crc: int, size: int) -> str:
    """Benchmark-mode ETag: 32 hex characters from the CRC-64 and the size (no MD5)."""
    return f"{crc:016X}{size & 0xFFFFFFFFFFFFFFFF:016X}"


def check_preconditions(request: Request, meta: ObjectMeta, prefix: str = "") -> None:
    """If-Match / If-Unmodified-Since (412), then If-None-Match / If-Modified-Since (304).

    ``prefix`` "x-oss-copy-source-" checks a copy's source conditions instead.
    """
    etag = meta.etag.lower()

    def matches(header: str) -> bool:
        tags = [t.strip().strip('"').lower() for t in header.split(",")]
        return "*" in tags or etag in tags

    names = [prefix + name for name in ("If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since")]
    if_match = request.header(names[0])
    if if_match is not None and not matches(if_match):
        raise OssError("PreconditionFailed", Condition=names[0])
    since = parse_http_date(request.header(names[1]))
    if since is not None and int(meta.last_modified) > since:
        raise OssError("PreconditionFailed", Condition=names[1])
    if_none = request.header(names[2])
    if if_none is not None and matches(if_none):
        raise OssError("NotModified")
    modified = parse_http_date(request.header(names[3]))
    if modified is not None and int(meta.last_modified) <= modified:
        raise OssError("NotModified")


def endpoint_host(request: Request) -> str:
    """The service endpoint as the client reached it, port included (Extranet/IntranetEndpoint)."""
    host = request.header("Host") or request.host
    if request.target.virtual_host and host.lower().startswith(request.bucket + "."):
        host = host[len(request.bucket) + 1:]
    return host


def xml_response(body: bytes) -> Response:
    return Response(200, [("Content-Type", "application/xml")], body)


class Intake(NamedTuple):
    """A received PutObject/UploadPart body: its checksums, its data file name ("" when discarded), ETag."""

    received: Received
    name: str
    etag: str
    content_md5: Optional[str]


class Resource:
    """Operations on one kind of OSS resource; ``OPERATIONS`` maps names to method names."""

    OPERATIONS: Dict[str, str] = {}

    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config

    def handlers(self) -> Dict[str, Callable[[Request], Response]]:
        return {op: getattr(self, method) for op, method in self.OPERATIONS.items()}

    def location(self) -> str:
        return self.config.region if self.config.region.startswith("oss-") else f"oss-{self.config.region}"

    def check_overwrite(self, request: Request) -> None:
        """``x-oss-forbid-overwrite: true`` on an existing key: 409 FileAlreadyExists."""
        if (request.header("x-oss-forbid-overwrite") or "").lower() != "true":
            return
        try:
            self.store.head(request.bucket, request.key)
        except OssError:
            return
        raise OssError("FileAlreadyExists", "The object you specified already exists.", status=409)

    def want_md5(self, request: Request) -> bool:
        return not self.config.benchmark_mode or request.header("Content-MD5") is not None

    def receive(self, request: Request, path: Optional[str], want_md5: bool) -> Received:
        """Stream the body into a new file at ``path`` (removed if that fails), or nowhere for None."""
        body = request.body
        if body is None:
            raise OssError("MissingContentLength")
        if path is None:
            try:
                return receive_to_file(body, None, want_md5, self.config.max_object_size)
            except TooLarge:
                raise OssError("EntityTooLarge") from None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        completed = False
        try:
            received = receive_to_file(body, fd, want_md5, self.config.max_object_size, self.config.direct_io)
            completed = True
            return received
        except TooLarge:
            raise OssError("EntityTooLarge") from None
        finally:
            os.close(fd)
            if not completed:
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def intake(self, request: Request, new_path: Callable[[], Tuple[str, str]]) -> Intake:
        """Receive a PutObject/UploadPart body into the file ``new_path()`` names ((name, path)),
        or, in discard mode, nowhere; checked against Content-MD5 (the file goes if that fails)."""
        expected_md5 = declared_md5(request)
        name, path = ("", None) if self.config.discard else new_path()
        received = self.receive(request, path, self.want_md5(request))
        try:
            etag, content_md5 = self.etag_and_md5(received, expected_md5)
        except OssError:
            if path is not None:
                os.unlink(path)
            raise
        return Intake(received, name, etag, content_md5)

    @staticmethod
    def body_response(intake: Intake) -> Response:
        """The answer to a stored body: ETag, CRC-64, and Content-MD5 when computed."""
        response = Response(200, [("ETag", quoted(intake.etag)), ("x-oss-hash-crc64ecma", str(intake.received.crc64))])
        if intake.content_md5 is not None:
            response.set("Content-MD5", intake.content_md5)
        return response

    @staticmethod
    def etag_and_md5(received: Received, expected_md5: Optional[bytes]) -> Tuple[str, Optional[str]]:
        """(ETag, Content-MD5 base64) of a received body; InvalidDigest on mismatch."""
        if expected_md5 is not None and received.md5 != expected_md5:
            raise OssError("InvalidDigest")
        if received.md5 is None:
            return pseudo_etag(received.crc64, received.size), None
        return received.md5.hex().upper(), base64.b64encode(received.md5).decode("ascii")

    def stored_headers(self, request: Request) -> Dict[str, str]:
        out = {}
        for name in STORED_HEADERS:
            value = request.header(name)
            if value is not None:
                out[name] = value
        return out

    def check_body(self, request: Request) -> None:
        """A PutObject/UploadPart body must be framed and within the size limit."""
        body = request.body
        if body is None:
            raise OssError("MissingContentLength")
        if body.length_hint is not None and body.length_hint > self.config.max_object_size:
            raise OssError("EntityTooLarge")

    def read_xml_body(self, request: Request) -> bytes:
        if request.body is None:
            return b""
        try:
            return request.body.read_all(MAX_XML_BODY)
        except BodyTooLarge:
            raise OssError("MalformedXML", "The XML body is too large.") from None
