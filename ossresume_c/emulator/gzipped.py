"""HTTP compression of GetObject bodies: when OSS gzips, and the chunked gzip stream it sends.

OSS compresses a whole-object GET when the client accepts gzip, the object is text-like
(by Content-Type) and at least 1 KiB; the response then has ``Content-Encoding: gzip``,
``Transfer-Encoding: chunked`` and no Content-Length. Ranges are never compressed.
"""
from __future__ import annotations

import zlib
from typing import Iterable, Optional, Protocol

MIN_SIZE = 1024


class SupportsWrite(Protocol):
    def write(self, data: bytes, /) -> object: ...

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-javascript", "application/xhtml+xml")
READ_CHUNK = 256 * 1024


def wants_gzip(accept_encoding: Optional[str], content_type: str, size: int, status: int) -> bool:
    """Whether a GET answer is sent gzip-compressed."""
    if status != 200 or size < MIN_SIZE or not accept_encoding:
        return False
    codings = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    return "gzip" in codings and content_type.lower().startswith(_TEXT_TYPES)


def write_chunked_gzip(out: SupportsWrite, pieces: Iterable[bytes]) -> None:
    """Write ``pieces`` gzip-compressed as HTTP/1.1 chunks, then the last (empty) chunk."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip framing

    def chunk(data: bytes) -> None:
        if data:
            out.write(b"%x\r\n" % len(data) + data + b"\r\n")

    for piece in pieces:  # flushed per piece: every chunk decodes to some output on its own
        chunk(compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH))
    chunk(compressor.flush())
    out.write(b"0\r\n\r\n")
