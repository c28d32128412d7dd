"""The request and response objects passed between the HTTP layer and the operations."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .bodyio import BodyReader
from .requesthead import Headers
from .routing import Query, Target, query_value
from .store import ObjectReader


def wire_text(value: str) -> str:
    """A header value as the client wrote it: http.server reads header bytes as Latin-1, while
    SDKs send (and sign) UTF-8 text, e.g. a UTF-8 ``x-oss-meta-*`` value."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def new_request_id() -> str:
    """24 upper-case hex characters, like OSS's x-oss-request-id."""
    return os.urandom(12).hex().upper()


@dataclass
class Request:
    method: str
    raw_path: str
    query: Query
    headers: Headers
    target: Target
    op: str
    body: Optional[BodyReader]
    request_id: str
    host: str  # Host header without the port, for HostId and Location

    @property
    def bucket(self) -> str:
        return self.target.bucket

    @property
    def key(self) -> str:
        return self.target.key

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.headers.get(name)
        return value.strip() if value is not None else default

    def param(self, name: str) -> Optional[str]:
        return query_value(self.query, name)

    def user_meta(self) -> Dict[str, str]:
        """``x-oss-meta-*`` headers, names lower-cased as OSS stores them."""
        out: Dict[str, str] = {}
        for name, value in self.headers.items():
            lower = name.lower()
            if lower.startswith("x-oss-meta-"):
                out[lower] = wire_text(value.strip())
        return out


@dataclass
class ObjectStream:
    """A response body read from the store: ``length`` bytes from ``start``."""

    reader: ObjectReader
    start: int
    length: int


@dataclass
class Response:
    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Optional[ObjectStream] = None
    error_code: Optional[str] = None

    def set(self, name: str, value: str) -> None:
        lower = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lower]
        self.headers.append((name, value))

    def get(self, name: str) -> Optional[str]:
        lower = name.lower()
        for n, v in self.headers:
            if n.lower() == lower:
                return v
        return None

    @property
    def content_length(self) -> int:
        return self.stream.length if self.stream is not None else len(self.body)
