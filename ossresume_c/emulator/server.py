"""HTTP plumbing: a threaded HTTP/1.1 server (one thread per connection, keep-alive),
request framing (Content-Length, chunked, lazy ``100 Continue``), authentication,
faults, response writing (``sendfile`` for object bodies) and the request log.
"""
from __future__ import annotations

import base64
import functools
import http.server
import ipaddress
import logging
import socket
import ssl
import struct
import time
from email.utils import formatdate
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import unquote

from . import tempkeys
from .bodyio import (
    BodyReader,
    ChunkedBody,
    ClientDisconnected,
    FixedLengthBody,
    ResetConnection,
)
from .config import EmulatorConfig
from .cors import PREFLIGHT_OPERATIONS
from .control import ControlAPI
from .errors import OssError, code_for_status, error_xml
from .exchange import ObjectStream, Request, Response, new_request_id
from .exchangelog import ExchangeRecord
from .faults import FaultPlan, FaultSet, garbled
from .gzipped import READ_CHUNK, wants_gzip, write_chunked_gzip
from .operations import Operations
from .ops_bucket_config import anonymous_allowed
from .requesthead import Headers, RequestHeadParsing
from .requestlog import RequestLog
from .routing import (
    is_valid_bucket_name,
    operation_name,
    parse_query,
    resolve_target,
    split_target,
)
from .store import Store
from .verify import verify_request

log = logging.getLogger("ossresume_c.emulator")

SERVER_NAME = "AliyunOSS"
DRAIN_LIMIT = 64 * 1024 * 1024  # unread body bytes we read and drop to keep a connection
IDLE_TIMEOUT = 300.0
SEND_CHUNK = 256 * 1024


class Emulator:
    """Everything a request handler needs, shared by all connections."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        for bucket in config.buckets:
            if not is_valid_bucket_name(bucket):
                raise ValueError(f"invalid bucket name {bucket!r}")
        self.store = Store(config.root, durable=not config.discard)
        for bucket in config.buckets:
            self.store.create_bucket(bucket)
        self.operations = Operations(self.store, config)
        self.faults = FaultSet(config.faults)
        self.log = RequestLog(config.request_log)
        self.control = ControlAPI(self)
        self.started = time.time()

    def lookup_secret(self, access_key_id: str) -> Optional[str]:
        if access_key_id == self.config.access_key_id:
            return self.config.access_key_secret
        return tempkeys.secret_for(self.config.access_key_secret, access_key_id)

    def close(self) -> None:
        self.log.close()
        self.store.close()


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class OssRequestHandler(RequestHeadParsing, http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: EmulatorHTTPServer
    headers: Headers  # type: ignore[assignment]  # RequestHeadParsing's, not an email Message

    # BaseHTTPRequestHandler answers "Expect: 100-continue" while parsing the
    # headers; we answer it from the first body read instead (bodyio.py).
    def handle_expect_100(self) -> bool:
        return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET

    # ------------------------------------------------------------------ framing
    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _make_body(self) -> Optional[BodyReader]:
        expect = (self.headers.get("Expect") or "").strip().lower() == "100-continue"
        send_continue = self._send_continue if expect and self.request_version >= "HTTP/1.1" else None
        encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        length = self.headers.get("Content-Length")
        value: Optional[int] = None
        if length is not None:
            try:
                value = int(length.strip())
            except ValueError:
                value = -1
            if value < 0:
                if "chunked" not in encoding:
                    self.close_connection = True  # the body cannot be framed
                raise OssError(
                    "InvalidArgument", "Invalid Content-Length.", ArgumentName="Content-Length", ArgumentValue=length
                )
        if "chunked" in encoding:
            # Chunked wins (the C SDK sends both); Content-Length stays a hint for size checks.
            return ChunkedBody(self.rfile, send_continue, value)  # type: ignore[arg-type]
        if value is None:
            return None
        return FixedLengthBody(self.rfile, value, send_continue)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ main flow
    def _serve(self) -> None:
        raw_path, raw_query = split_target(self.path)
        record = ExchangeRecord(self.server.emulator.log, new_request_id(), self.command, raw_path, raw_query)
        try:
            record.response = self._respond(record, raw_path, raw_query)
            if record.response is not None:  # None: a control request, already answered
                self._answer(record)
        except ResetConnection:
            self._reset()
            record.record("reset")
        except (ClientDisconnected, ConnectionError, socket.timeout, ssl.SSLError) as exc:
            log.debug("client connection lost: %s", exc)
            self.close_connection = True
            record.record("disconnected")
        finally:
            record.record()
            if record.response is not None and record.response.stream is not None:
                record.response.stream.reader.close()

    def _respond(self, record: ExchangeRecord, raw_path: str, raw_query: str) -> Optional[Response]:
        """Parse, authorize, act; an OSS error (or a bug) at any phase becomes an error response."""
        try:
            request = self._parse(record, raw_path, raw_query)
            if request is None:
                return None
            self._require_bucket(request)
            self._authorize(request)
            return self._act(request, record)
        except OssError as error:
            return self._error_response(error, record.request_id)
        except (ResetConnection, ClientDisconnected, ConnectionError, socket.timeout):
            raise
        except Exception as exc:  # a bug must not kill the connection thread silently
            log.exception("internal error in %s %s", self.command, self.path)
            return self._error_response(OssError("InternalError", f"Emulator error: {exc}"), record.request_id)

    def _host_name(self) -> str:
        """The Host header without the port."""
        host = (self.headers.get("Host") or "").strip()
        return host.rsplit(":", 1)[0] if host and not host.endswith("]") else host

    def _parse(self, record: ExchangeRecord, raw_path: str, raw_query: str) -> Optional[Request]:
        """Frame the body and route the request; serve control requests on the spot (None)."""
        emulator = self.server.emulator
        query = parse_query(raw_query)
        record.body = self._make_body()
        host = (self.headers.get("Host") or "").strip()
        target = resolve_target(raw_path, host, emulator.store.bucket_exists, emulator.config.virtual_host_suffixes)
        if target.control_path is not None:
            record.entry["op"] = "Control"
            self._serve_control(target.control_path, query, record.body, record.request_id)
            return None
        op = operation_name(self.command, target, query)
        record.count()
        params = dict(query)
        part_text = params.get("partNumber")
        record.entry.update(
            op=op,
            bucket=target.bucket or None,
            key=target.key or None,
            part_number=int(part_text) if part_text and part_text.isdigit() else None,
            upload_id=params.get("uploadId"),
        )
        return Request(
            method=self.command,
            raw_path=raw_path,
            query=query,
            headers=self.headers,
            target=target,
            op=op,
            body=record.body,
            request_id=record.request_id,
            host=self._host_name() or emulator.config.host,
        )

    def _act(self, request: Request, record: ExchangeRecord) -> Response:
        """Run the operation, through the faults planned for it if any."""
        emulator = self.server.emulator
        target = request.target
        record.plan = emulator.faults.plan(request.op, self.command, target.bucket, target.key, record.entry["part_number"])
        if record.plan:
            record.entry["fault"] = ",".join(record.plan.names)
            return self._run_with_faults(request, record.plan)
        return emulator.operations.handle(request)

    def _answer(self, record: ExchangeRecord) -> None:
        """Finish reading the body, log the request, then send the response."""
        response = record.response
        assert response is not None
        self._finish_body(record.body)
        stream = response.stream
        reset_after = record.plan.reset_after
        if reset_after is not None and stream is not None and stream.length > reset_after:
            record.record("reset", reset_after)
        else:
            record.record()
        self._write_response(response, record.request_id, record.plan)

    def _require_bucket(self, request: Request) -> None:
        """As OSS: a read (and PutBucketVersioning) of a missing bucket is NoSuchBucket before its
        key is checked; other writes check the key first (the official SDK suites expect both)."""
        if request.method not in ("GET", "HEAD") and request.op != "PutBucketVersioning":
            return
        if request.bucket and is_valid_bucket_name(request.bucket):
            if not self.server.emulator.store.bucket_exists(request.bucket):
                raise OssError("NoSuchBucket", BucketName=request.bucket)

    def _authorize(self, request: Request) -> None:
        if request.op in PREFLIGHT_OPERATIONS:  # browsers never sign a preflight; OSS ignores any signature
            return
        emulator = self.server.emulator
        config = emulator.config
        result = verify_request(
            request.method,
            request.bucket or None,
            request.key or None,
            request.query,
            request.headers,
            emulator.lookup_secret,
            max_skew=config.max_skew,
            region=config.region if config.strict_region else None,
            bare_bucket=_names_bare_bucket(request),
        )
        if result.ok:
            refused = tempkeys.token_check(config.access_key_secret, result.access_key_id or "",
                                           tempkeys.presented_token(request.query, request.headers))
            if refused is not None:
                raise OssError(refused[0], refused[1], status=403)
            return
        if config.anonymous and result.anonymous:
            return
        if result.anonymous and anonymous_allowed(emulator.store, request.op, request.bucket, request.key):
            return
        details: Dict[str, str] = {}
        if result.access_key_id:
            details["OSSAccessKeyId"] = result.access_key_id
        if result.error_code == "SignatureDoesNotMatch" and result.string_to_sign is not None:
            details["StringToSign"] = result.string_to_sign
        raise OssError(result.error_code or "AccessDenied", result.message, ec=result.ec, **details)  # type: ignore[arg-type]

    def _run_with_faults(self, request: Request, plan: FaultPlan) -> Response:
        emulator = self.server.emulator
        body = request.body
        if plan.delay:
            time.sleep(plan.delay)
        if plan.bytes_per_sec and body is not None:
            body.bytes_per_sec = plan.bytes_per_sec
        rule = plan.status
        if rule is not None and rule.phase == "before":
            raise OssError(rule.code or code_for_status(rule.status), "Injected fault.", status=rule.status)
        if plan.reset_after is not None and request.op != "GetObject":
            declared = body.declared_length if body is not None else 0
            if declared is not None and declared <= plan.reset_after:
                if body is not None:
                    body.discard(DRAIN_LIMIT)
                raise ResetConnection()
            assert body is not None
            body.reset_after = plan.reset_after
        response = emulator.operations.handle(request)
        if rule is not None and rule.phase == "after":
            if response.stream is not None:
                response.stream.reader.close()
            raise OssError(rule.code or code_for_status(rule.status), "Injected fault (after the operation).", status=rule.status)
        if plan.garble is not None and response.body:
            response.body = garbled(response.body, plan.garble)
        if plan.bad_crc:
            crc = response.get("x-oss-hash-crc64ecma")
            if crc is not None:
                response.set("x-oss-hash-crc64ecma", str(int(crc) ^ 0x1))
            if request.op == "ListParts" and response.body:
                response.body = _corrupt_listparts_crcs(response.body)
        return response

    def _serve_control(self, path: str, query: Any, body: Optional[BodyReader], request_id: str) -> None:
        if not _is_loopback(self.client_address[0]):
            response = Response(403, [("Content-Type", "application/json")], b'{"error": "control API is loopback-only"}')
        else:
            payload = body.read_all(1 << 20) if body is not None else b""
            response = self.server.emulator.control.handle(self.command, path, query, payload)
        self._finish_body(body)
        self._write_response(response, request_id, FaultPlan())

    # ------------------------------------------------------------------ responses
    def _error_response(self, error: OssError, request_id: str) -> Response:
        if error.status == 304:
            return Response(304, error_code=error.code)
        host_id = self._host_name() or self.server.emulator.config.host
        xml = error_xml(error, request_id, host_id)
        response = Response(error.status, [("Content-Type", "application/xml")], xml, error_code=error.code)
        if self.command == "HEAD":
            response.set("x-oss-err", base64.b64encode(xml).decode("ascii"))
        if error.ec:
            response.set("x-oss-ec", error.ec)
        for name, value in error.headers:
            response.set(name, value)
        return response

    def _finish_body(self, body: Optional[BodyReader]) -> None:
        """Consume what the operation left of the body, or give up the connection."""
        if body is None or body.finished:
            return
        if not body.discard(DRAIN_LIMIT):
            self.close_connection = True

    def _write_response(self, response: Response, request_id: str, plan: FaultPlan) -> None:
        head_only = self.command == "HEAD"
        length = response.content_length
        lines = [f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"]
        lines.append(f"Server: {SERVER_NAME}")
        lines.append(f"Date: {_http_date_now()}")
        gzip = response.stream is not None and not head_only and not plan and wants_gzip(
            self.headers.get("Accept-Encoding"), response.get("Content-Type") or "", length, response.status)
        if gzip:
            response.set("Content-Encoding", "gzip")
            response.set("Transfer-Encoding", "chunked")
        elif response.get("Content-Length") is None and response.status != 304:
            lines.append(f"Content-Length: {length}")
        lines.append(f"x-oss-request-id: {request_id}")
        for name, value in response.headers:
            lines.append(f"{name}: {_header_safe(value)}")
        if self.close_connection or (self.headers.get("Connection") or "").lower() == "close":
            self.close_connection = True
            lines.append("Connection: close")
        else:
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        if head_only or response.status == 304:
            self.wfile.write(head)
            return
        if response.stream is None:
            self.wfile.write(head + response.body)
            return
        self.wfile.write(head)
        if gzip:
            write_chunked_gzip(self.wfile, _stream_pieces(response.stream))
            return
        self._send_stream(response.stream, plan)

    def _send_stream(self, stream: ObjectStream, plan: FaultPlan) -> None:
        plain = plan.reset_after is None and not plan.bytes_per_sec and not isinstance(self.connection, ssl.SSLSocket)
        sent = 0
        throttle_start = time.monotonic()
        for path, offset, count in stream.reader.ranges(stream.start, stream.length):
            with open(path, "rb") as handle:
                if plain:
                    self.connection.sendfile(handle, offset, count)
                    sent += count
                    continue
                position = offset
                remaining = count
                while remaining:
                    piece = min(SEND_CHUNK, remaining)
                    if plan.bytes_per_sec:  # small pieces, each sent no earlier than the rate allows
                        piece = min(piece, max(4096, int(plan.bytes_per_sec / 20)))
                        delay = throttle_start + (sent + piece) / plan.bytes_per_sec - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    if plan.reset_after is not None:
                        piece = min(piece, plan.reset_after - sent)
                        if piece <= 0:
                            raise ResetConnection()
                    handle.seek(position)
                    data = handle.read(piece)
                    if not data:
                        raise ClientDisconnected("object data shorter than its metadata")
                    self.wfile.write(data)
                    sent += len(data)
                    position += len(data)
                    remaining -= len(data)
        if plan.reset_after is not None and sent >= plan.reset_after and stream.length > plan.reset_after:
            raise ResetConnection()

    def _reset(self) -> None:
        """Drop the connection with a TCP RST (no FIN), as a failing network would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass


def _stream_pieces(stream: ObjectStream) -> Iterator[bytes]:
    for path, offset, count in stream.reader.ranges(stream.start, stream.length):
        with open(path, "rb") as handle:
            handle.seek(offset)
            while count > 0:
                data = handle.read(min(READ_CHUNK, count))
                if not data:
                    raise ClientDisconnected("object data shorter than its metadata")
                count -= len(data)
                yield data


def _names_bare_bucket(request: Request) -> bool:
    """A path-style bucket-level request whose path is ``/bucket`` (no trailing slash)."""
    target = request.target
    return target.level == "bucket" and not target.virtual_host and unquote(request.raw_path) == f"/{target.bucket}"


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)


def _http_date_now() -> str:
    """The Date header for now (formatted once a second)."""
    return _http_date(int(time.time()))


def _header_safe(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _corrupt_listparts_crcs(body: bytes) -> bytes:
    import re

    def flip(match: re.Match[bytes]) -> bytes:
        return b"<HashCrc64ecma>" + str(int(match.group(1)) ^ 0x1).encode() + b"</HashCrc64ecma>"

    return re.sub(rb"<HashCrc64ecma>(\d+)</HashCrc64ecma>", flip, body)


class EmulatorHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, emulator: Emulator, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.emulator = emulator
        self.ssl_context = ssl_context
        config = emulator.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        self.address_family = family
        super().__init__((config.host, config.port), OssRequestHandler)

    def get_request(self) -> Tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)  # noqa: LOG014 - called from socketserver's except block

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.ssl_context is not None else "http"
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"


def build_server(config: EmulatorConfig) -> EmulatorHTTPServer:
    emulator = Emulator(config)
    context = None
    if config.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(config.tls_cert, config.tls_key)
    try:
        return EmulatorHTTPServer(emulator, context)
    except BaseException:
        emulator.close()
        raise
