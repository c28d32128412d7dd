"""Total parsers for what a server sends back: every input gives a value or None, never an exception.

Response bodies and headers can arrive damaged (a flipped byte on the wire, a proxy's
HTML page, a cut connection); the callers turn ``None`` into a Status (-980 for a body
that is not the expected XML, -996 for a broken header).
"""
from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from typing import Optional, Tuple

UINT64_MAX = (1 << 64) - 1
_DIGITS = re.compile(r"[0-9]{1,20}")
_RANGE = re.compile(r"bytes ([0-9]{1,20})-([0-9]{1,20})/([0-9]{1,20}|\*)")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?Z")


def xml_root(body: object) -> Optional[ET.Element]:
    """The root element of an XML document, or None for anything else.

    A damaged XML declaration (``encoding="UUF-8"``) makes expat raise
    LookupError, deep nesting RecursionError, and so on: all of them are None.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)) or not body:
        return None
    try:
        return ET.fromstring(bytes(body))
    except Exception:  # noqa: BLE001 - any way a document can fail to parse means "not XML"
        return None


def uint(text: object, limit: int = UINT64_MAX) -> Optional[int]:
    """A decimal of ASCII digits only (no sign, space, ``_`` or other scripts' digits)
    within ``0..limit``, else None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= limit else None


def content_range(text: object) -> Optional[Tuple[int, int, Optional[int]]]:
    """``bytes FIRST-LAST/TOTAL`` (TOTAL may be ``*``) as ``(first, last, total)``, else None."""
    if not isinstance(text, str):
        return None
    m = _RANGE.fullmatch(text.strip())
    if not m:
        return None
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if first > last or (total is not None and last >= total):
        return None
    return first, last, total


def http_date(text: object) -> Optional[float]:
    """An RFC 7231 date (``Mon, 30 Nov 2026 14:50:00 GMT``) as epoch seconds, else None."""
    if not isinstance(text, str) or not text.isascii():
        return None
    try:
        from email.utils import parsedate_tz   # here: ~7 ms of imports few calls need
        parts = parsedate_tz(text)
        if parts is None or parts[9] is None:
            return None
        return float(calendar.timegm(parts[:9]) - parts[9])   # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def iso8601(text: object) -> Optional[float]:
    """``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (OSS ``Initiated``/``LastModified``) as epoch seconds, else None."""
    if not isinstance(text, str):
        return None
    m = _ISO.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return None
    try:
        whole = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return whole + (float(m.group(7)) if m.group(7) else 0.0)


def etag(text: object) -> Optional[str]:
    """An ETag header's value when it is printable ASCII without quotes inside
    (what OSS sends: ``"HEX"``, possibly ``W/``), else None."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if not value or not value.isascii() or not value.isprintable():
        return None
    inner = value[2:] if value.startswith("W/") else value
    if inner.startswith('"') and inner.endswith('"') and len(inner) >= 2:
        inner = inner[1:-1]
    if '"' in inner or not inner:
        return None
    return value


def range_reply_problem(code: int, content_length: object, content_range_value: object,
                        first: int, last: int, object_size: int) -> str:
    """Why a ranged GET's response does not carry bytes ``first..last`` of an object
    of ``object_size`` bytes ("" when it does).  A 206 must say that range in
    Content-Range; a 200 (the whole object) is accepted only for a part that is
    the whole object.  Content-Length, when sent, must be the part's size."""
    size = last - first + 1
    if code == 206:
        got = content_range(content_range_value)
        if got is None:
            return f"missing or broken Content-Range {content_range_value!r:.80}"
        if got[:2] != (first, last) or got[2] not in (None, object_size):
            return f"Content-Range {content_range_value!r:.80} is not bytes {first}-{last}/{object_size}"
    elif not (code == 200 and size == object_size):
        return f"HTTP {code} instead of 206"
    if content_length is not None:
        length = uint(content_length)
        if length is None:
            return f"broken Content-Length {content_length!r:.80}"
        if length != size:
            return f"{length} bytes instead of {size}"
    return ""
