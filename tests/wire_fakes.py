"""A fake OSS at the requests adapter level: plausible answers, then damaged ones.

``FakeOss`` answers each request the way OSS would (an upload id, part ETags and
CRC-64s, ranges of one object...), and ``damage`` then mutates that answer: bytes
flipped or cut in the body, a proxy's HTML page, a broken XML declaration,
headers dropped or garbled, another status code.  ``installed(fake)`` makes every
``Transport`` created inside it send through the fake.
"""
from __future__ import annotations

import contextlib
import io
import random
import threading
from email.utils import formatdate
from typing import Callable, Dict, Iterator, Optional, Tuple
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter

from ossresume_c import native, transport

Answer = Tuple[int, Dict[str, str], bytes]

HTML_PAGE = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
             b"<body><h1>Bad Gateway</h1><hr>proxy</body></html>")
GARBAGE_HEADER_VALUES = ["", "-1", "1_000", " 12 ", "\u0663", "abc", "18446744073709551616",
                         "bytes 5-2/10", "bytes */10", "Mon, 99 Foo 2026", "\"\"", "\"a\"b\"",
                         "9" * 40, "\x7f", "\u00e9t\u00e9"]


def _xml(root: str, inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'.encode()


class FakeOss:
    """Answers like OSS for one object of ``object_bytes``; thread-safe."""

    def __init__(self, object_bytes: bytes = b"", seed: int = 0) -> None:
        self.object = object_bytes
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.uploads = 0

    def answer(self, request: requests.PreparedRequest) -> Answer:
        url = urlsplit(request.url or "")
        q = parse_qs(url.query, keep_blank_values=True)
        method = request.method
        base = {"x-oss-request-id": "FAKE", "Date": formatdate(usegmt=True)}
        body = request.body if isinstance(request.body, (bytes, bytearray, memoryview)) else b""
        if method == "POST" and "uploads" in q:
            with self.lock:
                self.uploads += 1
                uid = f"UPLOAD{self.uploads:04d}"
            return 200, base, _xml("InitiateMultipartUploadResult",
                                   f"<Bucket>b</Bucket><Key>k</Key><UploadId>{uid}</UploadId>")
        if method == "PUT":
            crc = native.crc64(bytes(body))
            return 200, dict(base, ETag=f'"{crc:032X}"', **{"x-oss-hash-crc64ecma": str(crc)}), b""
        if method == "POST":
            return 200, dict(base, ETag='"DONE-1"'), _xml("CompleteMultipartUploadResult", "<Key>k</Key>")
        if method == "DELETE":
            return 204, base, b""
        if method == "GET" and "uploadId" in q:
            return 200, base, _xml("ListPartsResult", "<IsTruncated>false</IsTruncated>")
        if method == "GET" and "uploads" in q:
            return 200, base, _xml("ListMultipartUploadsResult", "<IsTruncated>false</IsTruncated>")
        meta = dict(base, ETag='"OBJ"', **{"Last-Modified": "Mon, 30 Nov 2026 10:00:00 GMT",
                                           "x-oss-hash-crc64ecma": str(native.crc64(self.object)),
                                           "Content-Length": str(len(self.object))})
        if method == "HEAD":
            return 200, meta, b""
        rng = request.headers.get("Range", "")
        if rng.startswith("bytes="):
            first, last = (int(x) for x in rng[6:].split("-"))
            part = self.object[first:last + 1]
            meta.update({"Content-Length": str(len(part)),
                         "Content-Range": f"bytes {first}-{last}/{len(self.object)}"})
            return 206, meta, part
        return 200, meta, self.object


def damage(answer: Answer, rng: random.Random) -> Answer:
    """One random mutation of an answer."""
    code, headers, body = answer
    headers = dict(headers)
    kind = rng.randrange(9)
    if kind == 0 and body:
        pos = rng.randrange(len(body))
        body = body[:pos] + bytes([body[pos] ^ (1 << rng.randrange(8))]) + body[pos + 1:]
    elif kind == 1:
        body = body[:rng.randrange(len(body) + 1)]
    elif kind == 2:
        body = HTML_PAGE
    elif kind == 3:
        body = b'<?xml version="1.0" encoding="UUF-8"?>' + body.split(b"?>", 1)[-1]
    elif kind == 4 and headers:
        headers.pop(rng.choice(sorted(headers)))
    elif kind == 5 and headers:
        headers[rng.choice(sorted(headers))] = rng.choice(GARBAGE_HEADER_VALUES)
    elif kind == 6 and headers:
        name = rng.choice(sorted(headers))
        value = headers[name]
        if value:
            pos = rng.randrange(len(value))
            headers[name] = value[:pos] + chr(rng.randrange(32, 256)) + value[pos + 1:]
    elif kind == 7:
        code = rng.choice([200, 201, 204, 206, 301, 304, 400, 403, 404, 409, 416, 500, 503])
    else:
        body = rng.randbytes(rng.randrange(64))
    return code, headers, body


class FakeAdapter(BaseAdapter):
    """Builds each response from ``respond(request)`` as requests would from the wire."""

    def __init__(self, respond: Callable[[requests.PreparedRequest], Answer]) -> None:
        super().__init__()
        self.respond = respond
        self.builder = HTTPAdapter()
        self.requests = 0

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests += 1
        code, headers, body = self.respond(request)
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=code,
                                   preload_content=False, decode_content=False,
                                   request_method=request.method, enforce_content_length=True)
        return self.builder.build_response(request, raw)

    def close(self) -> None:
        pass


def damaging(fake: FakeOss, seed: int, rate: float) -> Callable[[requests.PreparedRequest], Answer]:
    """``fake``'s answers, each damaged with probability ``rate`` (seeded, thread-safe)."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(request: requests.PreparedRequest) -> Answer:
        answer = fake.answer(request)
        with lock:
            if rng.random() < rate:
                return damage(answer, rng)
        return answer
    return respond


@contextlib.contextmanager
def installed(respond: Callable[[requests.PreparedRequest], Answer]) -> Iterator[FakeAdapter]:
    """Every Transport made inside sends through one FakeAdapter."""
    adapter = FakeAdapter(respond)
    # transport.py imports HTTPAdapter from requests.adapters when it builds its session
    with mock.patch.object(requests.adapters, "HTTPAdapter", lambda *a, **k: adapter):
        yield adapter


def fake_transport(respond: Callable[[requests.PreparedRequest], Answer],
                   options: Optional[object] = None) -> transport.Transport:
    import ossresume_c as oss
    opts = options or oss.request_options_create(
        endpoint="http://127.0.0.1:9", access_key_id="AK", access_key_secret="SK",
        region="cn-hangzhou", max_retries=1, backoff_base=0.0, backoff_cap=0.0)
    with installed(respond):
        t = transport.Transport(opts)  # type: ignore[arg-type]
        t.session    # built now, while the fake adapter is installed (it is made on first use)
        return t
