"""The OSS C++ SDK's checkpoint records (aliyun-oss-cpp-sdk 1.10): their file
names, their exact bytes, and a loader that rejects anything the SDK would not
accept as its own.

The C++ SDK keeps one JSON record per transfer in ``checkpointDir``, named
``MD5HEX(source) "--" MD5HEX(destination)`` (upper-case hex MD5s of the UTF-8
strings; upload: the file path then ``oss://bucket/key``; download the other
way round, ``?versionId=V`` appended to the object when given).  The record is
written by jsoncpp 1.8.4's default ``StreamWriterBuilder`` (keys sorted by
bytes, tab indentation, ``" : "``, no final newline, every non-ASCII byte
escaped as ``\\uXXXX``) and carries ``md5Sum``: the upper-case hex MD5 of the
same document written without ``md5Sum`` (and, for downloads, without the
range keys).  Upload records hold no part list (the SDK asks ListParts);
download records list the finished parts with their CRC-64.

* ``upload_record_name`` / ``download_record_name``: the file names.
* ``dump_upload`` / ``dump_download``: the bytes the SDK would write.
* ``load(data)``: an ``UploadRecord`` or ``DownloadRecord``, or
  ``CppCheckpointInvalid`` with a one-line reason (never another exception).
* ``http_date(seconds)``: the SDK's ``mtime`` for an upload's file.

docs/checkpoints.md describes the format in full.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple, Union

__all__ = [
    "UPLOAD_OP", "DOWNLOAD_OP", "MAX_PARTS", "MAX_RECORD_BYTES",
    "CppCheckpointInvalid", "UploadRecord", "DownloadRecord", "DownloadedPart",
    "upload_record_name", "download_record_name", "dump_upload", "dump_download", "load",
    "http_date", "http_date_seconds", "jsoncpp_dumps", "upload_document", "download_document",
    "signed_bytes",
]

UPLOAD_OP = "ResumableUpload"
DOWNLOAD_OP = "ResumableDownload"
MAX_PARTS = 10000
MAX_RECORD_BYTES = 16 * 1024 * 1024   # 10000 download parts take about 0.8 MB
_UINT64 = (1 << 64) - 1
_INT64 = (1 << 63) - 1
_INT32 = (1 << 31) - 1


class CppCheckpointInvalid(ValueError):
    """A record the C++ SDK would not resume from; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class UploadRecord:
    upload_id: str
    file_path: str
    bucket: str
    key: str
    mtime: str          # http_date(st_mtime) of the file when the upload began
    size: int
    part_size: int
    md5sum: str = ""    # as read; dump_upload computes its own


@dataclass(frozen=True)
class DownloadedPart:
    part_number: int
    size: int
    crc64: int


@dataclass
class DownloadRecord:
    bucket: str
    key: str
    file_path: str
    mtime: str          # always "" in records the SDK writes (it never sets it)
    size: int
    part_size: int
    parts: List[DownloadedPart] = field(default_factory=list)
    range_start: int = 0
    range_end: int = -1  # (0, -1): the whole object
    md5sum: str = ""

    @property
    def has_range(self) -> bool:
        return (self.range_start, self.range_end) != (0, -1)


Record = Union[UploadRecord, DownloadRecord]


# -- names ---------------------------------------------------------------------

def _md5_hex(text: str) -> str:
    return hashlib.md5(_utf8(text)).hexdigest().upper()


def _utf8(text: str) -> bytes:
    # Paths from os.fsdecode carry undecodable bytes as lone surrogates: give the bytes back.
    return text.encode("utf-8", "surrogateescape")


def upload_record_name(bucket: str, key: str, file_path: str) -> str:
    """The upload record's file name inside ``checkpointDir``."""
    return _md5_hex(file_path) + "--" + _md5_hex(f"oss://{bucket}/{key}")


def download_record_name(bucket: str, key: str, file_path: str, version_id: str = "") -> str:
    """The download record's file name inside ``checkpointDir``."""
    source = f"oss://{bucket}/{key}" + (f"?versionId={version_id}" if version_id else "")
    return _md5_hex(source) + "--" + _md5_hex(file_path)


def http_date(seconds: int) -> str:
    """``ToGmtTime``: ``"Mon, 30 Nov 2026 14:49:37 GMT"`` for a ``time_t``."""
    tm = time.gmtime(seconds)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (f"{days[tm.tm_wday]}, {tm.tm_mday:02d} {months[tm.tm_mon - 1]} {tm.tm_year} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} GMT")


def http_date_seconds(text: str) -> int:
    """The inverse of :func:`http_date`; ValueError when ``text`` is not one."""
    parsed = time.strptime(text, "%a, %d %b %Y %H:%M:%S GMT")
    seconds = calendar.timegm(parsed)
    if http_date(seconds) != text:
        raise ValueError(f"not an HTTP date: {text!r}")
    return seconds


# -- jsoncpp 1.8.4's writer ------------------------------------------------------

_SHORT_ESCAPES = {0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n",
                  0x0D: b"\\r", 0x09: b"\\t"}
_REPLACEMENT = 0xFFFD


def _next_codepoint(raw: bytes, i: int) -> Tuple[int, int]:
    """jsoncpp's ``utf8ToCodepoint``: ``(code point, bytes consumed)``, replacing
    what it cannot decode with U+FFFD.  Its quirks are kept on purpose (lead
    bytes 0x80-0xBF are read as two-byte sequences; four-byte sequences use
    ``lead << 24``), because the record's ``md5Sum`` covers these bytes."""
    lead = raw[i]
    left = len(raw) - i
    if lead < 0x80:
        return lead, 1
    if lead < 0xE0:
        if left < 2:
            return _REPLACEMENT, 1
        cp = ((lead & 0x1F) << 6) | (raw[i + 1] & 0x3F)
        return (_REPLACEMENT if cp < 0x80 else cp), 2
    if lead < 0xF0:
        if left < 3:
            return _REPLACEMENT, 1
        cp = ((lead & 0x0F) << 12) | ((raw[i + 1] & 0x3F) << 6) | (raw[i + 2] & 0x3F)
        if 0xD800 <= cp <= 0xDFFF or cp < 0x800:
            return _REPLACEMENT, 3
        return cp, 3
    if lead < 0xF8:
        if left < 4:
            return _REPLACEMENT, 1
        cp = (((lead & 0x07) << 24) | ((raw[i + 1] & 0x3F) << 12) | ((raw[i + 2] & 0x3F) << 6)
              | (raw[i + 3] & 0x3F))
        return (_REPLACEMENT if cp < 0x10000 else cp), 4
    return _REPLACEMENT, 1


def _hex16(value: int) -> bytes:
    return b"\\u%04x" % (value & 0xFFFF)


def _quote(raw: bytes) -> bytes:
    """jsoncpp's ``valueToQuotedStringN``."""
    out = bytearray(b'"')
    i = 0
    while i < len(raw):
        byte = raw[i]
        short = _SHORT_ESCAPES.get(byte)
        if short is not None:
            out += short
            i += 1
            continue
        cp, used = _next_codepoint(raw, i)
        i += used
        if 0x20 <= cp < 0x80:
            out.append(cp)
        elif cp < 0x10000:
            out += _hex16(cp)
        else:
            cp -= 0x10000
            out += _hex16((cp >> 10) + 0xD800) + _hex16((cp & 0x3FF) + 0xDC00)
    out += b'"'
    return bytes(out)


JsonValue = Union[str, bytes, int, List[Any], Dict[str, Any]]


def jsoncpp_dumps(value: JsonValue) -> bytes:
    """``stream << value`` with jsoncpp 1.8.4's default ``StreamWriterBuilder``
    for strings, integers, arrays and objects (the values a record holds)."""
    out = bytearray()
    _emit(value, out, b"", on_fresh_line=True)
    return bytes(out)


def _emit(value: JsonValue, out: bytearray, indent: bytes, on_fresh_line: bool) -> None:
    """``on_fresh_line``: the writer's ``indented_`` flag.  After a member name
    it is false, so a non-empty array or object opens on a line of its own."""
    if isinstance(value, bool) or value is None:
        raise TypeError("records hold no booleans or nulls")
    if isinstance(value, int):
        out += str(value).encode("ascii")
    elif isinstance(value, (str, bytes)):
        out += _quote(_utf8(value) if isinstance(value, str) else value)
    elif isinstance(value, dict):
        members = [(_quote(_utf8(name)) + b" : ", value[name], False)
                   for name in sorted(value, key=_utf8)]
        _emit_block(b"{", b"}", members, out, indent, on_fresh_line)
    elif isinstance(value, list):
        _emit_block(b"[", b"]", [(b"", item, True) for item in value], out, indent, on_fresh_line)
    else:
        raise TypeError(f"records hold no {type(value).__name__}")


def _emit_block(opening: bytes, closing: bytes, entries: List[Tuple[bytes, Any, bool]],
                out: bytearray, indent: bytes, on_fresh_line: bool) -> None:
    """An object's members (``"name" : `` then the value, which starts off its
    line) or an array's items (each on a fresh line), one level deeper."""
    if not entries:
        out += opening + closing
        return
    if not on_fresh_line:
        out += b"\n" + indent
    out += opening
    inner = indent + b"\t"
    for n, (head, item, fresh) in enumerate(entries):
        out += b"\n" + inner + head
        _emit(item, out, inner, on_fresh_line=fresh)
        if n + 1 < len(entries):
            out += b","
    out += b"\n" + indent + closing


def _md5_of(document: Dict[str, Any]) -> str:
    return hashlib.md5(jsoncpp_dumps(document)).hexdigest().upper()


# -- records ---------------------------------------------------------------------

def upload_document(rec: UploadRecord) -> Dict[str, Any]:
    return {"opType": UPLOAD_OP, "uploadID": rec.upload_id, "filePath": rec.file_path,
            "bucket": rec.bucket, "key": rec.key, "mtime": rec.mtime, "size": rec.size,
            "partSize": rec.part_size}


def download_document(rec: DownloadRecord) -> Dict[str, Any]:
    return {"opType": DOWNLOAD_OP, "bucket": rec.bucket, "key": rec.key,
            "filePath": rec.file_path, "mtime": rec.mtime, "size": rec.size,
            "partSize": rec.part_size,
            "parts": [{"partNumber": p.part_number, "size": p.size, "crc64": p.crc64}
                      for p in rec.parts]}


def signed_bytes(document: Dict[str, Any]) -> bytes:
    """``document`` plus its ``md5Sum``, written: the SDK's record bytes."""
    return jsoncpp_dumps(dict(document, md5Sum=_md5_of(document)))


def dump_upload(rec: UploadRecord) -> bytes:
    """The upload record as the C++ SDK writes it after InitiateMultipartUpload."""
    _check_upload(rec)
    return signed_bytes(upload_document(rec))


def dump_download(rec: DownloadRecord) -> bytes:
    """The download record as the C++ SDK writes it after each finished part
    (``md5Sum`` covers the document without the range keys, as there)."""
    _check_download(rec)
    doc = download_document(rec)
    doc["md5Sum"] = _md5_of(doc)
    if rec.has_range:
        doc["rangeStart"] = rec.range_start
        doc["rangeEnd"] = rec.range_end
    return jsoncpp_dumps(doc)


def load(data: Union[bytes, bytearray, memoryview]) -> Record:
    """Parse a record and check it as the C++ SDK does (``md5Sum`` recomputed
    from the values read) plus what it leaves to chance: types, ranges, the part
    layout.  Raises ``CppCheckpointInvalid`` and nothing else for any input."""
    try:
        raw = bytes(data)
    except (TypeError, ValueError):
        raise CppCheckpointInvalid(f"expected bytes, not {type(data).__name__}") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise CppCheckpointInvalid(f"record of {len(raw)} bytes is larger than any the SDK writes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CppCheckpointInvalid(f"not a JSON record ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise CppCheckpointInvalid("not a JSON object")
    op = _string(doc, "opType")
    if op == UPLOAD_OP:
        return _load_upload(doc)
    if op == DOWNLOAD_OP:
        return _load_download(doc)
    raise CppCheckpointInvalid(f"opType {op[:40]!r} is not a resumable upload or download")


def _load_upload(doc: Dict[str, Any]) -> UploadRecord:
    rec = UploadRecord(upload_id=_string(doc, "uploadID"), file_path=_string(doc, "filePath"),
                       bucket=_string(doc, "bucket"), key=_string(doc, "key"),
                       mtime=_string(doc, "mtime"), size=_number(doc, "size", 0, _INT64),
                       part_size=_number(doc, "partSize", 0, _UINT64),
                       md5sum=_string(doc, "md5Sum"))
    _check_md5(upload_document(rec), rec.md5sum)
    _check_upload(rec)
    return rec


def _load_download(doc: Dict[str, Any]) -> DownloadRecord:
    parts_value = doc.get("parts", [])
    if parts_value is None:
        parts_value = []
    if not isinstance(parts_value, list):
        raise CppCheckpointInvalid("parts is not an array")
    parts = []
    for item in parts_value:
        if not isinstance(item, dict):
            raise CppCheckpointInvalid("a part is not an object")
        parts.append(DownloadedPart(_number(item, "partNumber", 0, _INT32),
                                    _number(item, "size", -_INT64 - 1, _INT64),
                                    _number(item, "crc64", 0, _UINT64)))
    start_given, end_given = doc.get("rangeStart") is not None, doc.get("rangeEnd") is not None
    if start_given != end_given:
        raise CppCheckpointInvalid("rangeStart and rangeEnd must come together")
    rec = DownloadRecord(bucket=_string(doc, "bucket"), key=_string(doc, "key"),
                         file_path=_string(doc, "filePath"), mtime=_string(doc, "mtime"),
                         size=_number(doc, "size", 0, _INT64),
                         part_size=_number(doc, "partSize", 0, _UINT64), parts=parts,
                         range_start=_number(doc, "rangeStart", -_INT64 - 1, _INT64) if start_given else 0,
                         range_end=_number(doc, "rangeEnd", -_INT64 - 1, _INT64) if end_given else -1,
                         md5sum=_string(doc, "md5Sum"))
    document = download_document(rec)
    if rec.has_range:   # what the SDK's validateRecord hashes (its writer does not: see docs)
        document["rangeStart"], document["rangeEnd"] = rec.range_start, rec.range_end
    _check_md5(document, rec.md5sum)
    _check_download(rec)
    return rec


def _string(doc: Dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if value is None:           # a missing member reads as "" in jsoncpp
        return ""
    if not isinstance(value, str):
        raise CppCheckpointInvalid(f"{name} is not a string")
    return value


def _number(doc: Dict[str, Any], name: str, low: int, high: int) -> int:
    value = doc.get(name)
    if value is None:           # a missing member reads as 0 in jsoncpp
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise CppCheckpointInvalid(f"{name} is not an integer")
    if not low <= value <= high:
        raise CppCheckpointInvalid(f"{name} {value} is out of range")
    return value


def _check_md5(document: Dict[str, Any], md5sum: str) -> None:
    try:
        expected = _md5_of(document)
    except (TypeError, UnicodeEncodeError) as exc:
        raise CppCheckpointInvalid(f"unencodable value ({exc})") from None
    if md5sum != expected:
        raise CppCheckpointInvalid("md5Sum does not match the record")


def _part_count(size: int, part_size: int) -> int:
    if part_size <= 0:
        raise CppCheckpointInvalid(f"partSize {part_size} is not positive")
    count = (size + part_size - 1) // part_size
    if count > MAX_PARTS:
        raise CppCheckpointInvalid(f"{count} parts, more than {MAX_PARTS}")
    return count


def _check_upload(rec: UploadRecord) -> None:
    _part_count(rec.size, rec.part_size)
    if not rec.upload_id:
        raise CppCheckpointInvalid("record has no uploadID")


def _check_download(rec: DownloadRecord) -> None:
    count = _part_count(rec.size, rec.part_size)
    seen = set()
    for p in rec.parts:
        if not 1 <= p.part_number <= count:
            raise CppCheckpointInvalid(f"part {p.part_number} is outside 1..{count}")
        if p.part_number in seen:
            raise CppCheckpointInvalid(f"part {p.part_number} is listed twice")
        seen.add(p.part_number)
        expected = min(rec.part_size, rec.size - (p.part_number - 1) * rec.part_size)
        if not rec.has_range and p.size != expected:
            raise CppCheckpointInvalid(f"part {p.part_number} has {p.size} bytes, not {expected}")
        if not 0 <= p.crc64 <= _UINT64:
            raise CppCheckpointInvalid(f"part {p.part_number} has CRC-64 out of range")
