"""Parse an HTTP request head (request line and header fields) without the email package.

``http.server`` parses header fields with ``email.parser``, which was half of the
emulator's CPU time for a small PutObject. ``RequestHeadParsing.parse_request``
does what ``BaseHTTPRequestHandler.parse_request`` does (same checks, same
error answers, same Connection handling; ``Expect: 100-continue`` is answered
later, from the first body read) with a plain line reader, and ``Headers`` is
the small, case-insensitive view of the fields the emulator uses.
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

MAX_LINE = 65536  # as http.client
MAX_HEADERS = 100


class Headers:
    """Header fields in arrival order; ``get`` is case-insensitive and returns the first value."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields: List[Tuple[str, str]]) -> None:
        self._fields = fields
        first: Dict[str, str] = {}
        for name, value in fields:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str) -> Optional[str]:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def items(self) -> List[Tuple[str, str]]:
        return list(self._fields)

    def keys(self) -> List[str]:
        return [name for name, _ in self._fields]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._fields)


def read_fields(rfile: Any) -> Tuple[Optional[List[Tuple[str, str]]], str]:
    """The header fields up to the blank line, or (None, why) when a line or the count is too large.

    Values lose leading white space and the line end; a continuation line (obsolete
    folding) is joined to the field before it with one space.
    """
    fields: List[Tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            return None, "Line too long"
        if line in (b"\r\n", b"\n", b""):
            return fields, ""
        if len(fields) >= MAX_HEADERS:
            return None, "Too many headers"
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {text.strip()}")
            continue
        name, _, value = text.partition(":")
        fields.append((name, value.lstrip(" \t")))


def _version_number(version: str) -> Optional[Tuple[int, int]]:
    if not version.startswith("HTTP/"):
        return None
    numbers = version[5:].split(".")
    if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
        return None
    return int(numbers[0]), int(numbers[1])


class RequestHeadParsing:
    """Mixin for a ``BaseHTTPRequestHandler``: a faster ``parse_request`` with the same contract."""

    raw_requestline: bytes
    default_request_version: str
    protocol_version: str
    rfile: Any

    send_error: Callable[..., None]  # BaseHTTPRequestHandler's

    command: str

    def parse_request(self) -> bool:
        self.command = None  # type: ignore[assignment]  # as http.server until the line is read
        self.request_version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            number = _version_number(words[-1])
            if number is None:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({words[-1]!r})")
                return False
            if number >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({words[-1][5:]})")
                return False
            self.request_version = words[-1]
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as http.server
        fields, why = read_fields(self.rfile)
        if fields is None:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, why)
            return False
        self.headers = Headers(fields)
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        return True
