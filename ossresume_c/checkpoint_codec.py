"""The checkpoint codec: the OSS C SDK's checkpoint XML, byte for byte.

The work is done in C (``csrc/checkpoint.c``, which documents the accepted
language and the MD5 definition); this module converts between its structs and
two dataclasses.

* ``dump(cp, fill_md5=True) -> bytes``: the C SDK's exact bytes; with
  ``fill_md5`` the top-level ``<MD5>`` holds the lower-case hex MD5 of the
  document whose ``<MD5>`` element is empty (the C SDK leaves it empty and
  never reads it, so both variants resume in the C SDK).
* ``load(data) -> Checkpoint``: parses and validates everything (structure,
  each number's range, part layout, sizes summing to the file/object size,
  the MD5 when present) or raises ``CheckpointInvalid``.
* ``validate(cp)``: the layout and string checks alone.

An empty file/object has no parts (``Number`` 0) and a positive part size.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, List, Sequence, Tuple, Union

from ._native import ffi, lib

__all__ = [
    "UPLOAD", "DOWNLOAD", "MAX_PARTS", "STR_MAX", "ETAG_MAX", "MD5_MAX",
    "OK", "EINVAL", "EPARSE", "EMD5", "ELIMIT",
    "CheckpointPart", "Checkpoint", "CheckpointInvalid", "dump", "load", "validate",
]

UPLOAD = 1
DOWNLOAD = 2

MAX_PARTS: int = lib.OSR_CP_MAX_PARTS
STR_MAX: int = lib.OSR_CP_STR_MAX - 1      # bytes of UTF-8 in a path, key, upload id...
ETAG_MAX: int = lib.OSR_CP_ETAG_MAX - 1    # bytes of a part's ETag

OK: int = lib.OSR_CP_OK
EINVAL: int = lib.OSR_CP_EINVAL
EPARSE: int = lib.OSR_CP_EPARSE
EMD5: int = lib.OSR_CP_EMD5
ELIMIT: int = lib.OSR_CP_ELIMIT

_CODE_NAMES = {EINVAL: "EINVAL", EPARSE: "EPARSE", EMD5: "EMD5", ELIMIT: "ELIMIT"}


class CheckpointInvalid(ValueError):
    """A checkpoint that cannot be loaded or dumped; ``code`` is one of the
    ``E*`` constants, ``reason`` a one-line explanation."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{_CODE_NAMES.get(code, code)}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class CheckpointPart:
    index: int
    offset: int
    size: int
    completed: bool = False
    etag: str = ""       # with its quotes, as OSS returned it
    crc64: int = 0       # CRC-64 of the range (the C SDK writes 0 for upload parts)


@dataclass
class Checkpoint:
    type: int                    # UPLOAD or DOWNLOAD
    file_path: str
    file_size: int
    file_mtime: int              # microseconds (st_mtime_ns // 1000)
    object_key: str
    object_size: int
    object_last_modified: str
    object_etag: str
    upload_id: str
    part_size: int
    parts: List[CheckpointPart] = field(default_factory=list)  # parts[i].index == i
    md5: str = ""                # as read; dump computes its own
    file_md5: str = ""           # LocalFile/MD5 (reserved by the C SDK)


# C struct <-> Python ---------------------------------------------------------

# Big buffers are filled by C before they are read: no need to zero them.
_new_raw = ffi.new_allocator(should_clear_after_alloc=False)

_ERR_CAP = 512

# (Python attribute, C member, element name for messages)
_STRINGS: Tuple[Tuple[str, str, str], ...] = (
    ("file_path", "file_path", "LocalFile/Path"),
    ("file_md5", "file_md5", "LocalFile/MD5"),
    ("object_key", "object_key", "Object/Key"),
    ("object_last_modified", "object_last_modified", "Object/LastModified"),
    ("object_etag", "object_etag", "Object/ETag"),
    ("upload_id", "upload_id", "UploadId"),
)
_INTS: Tuple[Tuple[str, str], ...] = (
    ("type", "type"), ("file_size", "file_size"), ("file_mtime", "file_mtime"),
    ("object_size", "object_size"), ("part_size", "part_size"),
)


def _part_struct() -> struct.Struct:
    """A ``struct`` format with the exact layout of ``osr_cp_part`` (offsets
    from cffi), so that 10000 parts move in one memmove."""
    codes = {"index": "q", "offset": "q", "size": "q", "completed": "i",
             "etag": f"{lib.OSR_CP_ETAG_MAX}s", "crc64": "Q"}
    fmt, pos = "=", 0
    for name, code in codes.items():
        off = ffi.offsetof("osr_cp_part", name)
        if off < pos:
            raise RuntimeError("unexpected osr_cp_part layout")
        if off > pos:
            fmt += f"{off - pos}x"
        fmt += code
        pos = off + struct.calcsize("=" + code)
    size = ffi.sizeof("osr_cp_part")
    if size > pos:
        fmt += f"{size - pos}x"
    st = struct.Struct(fmt)
    if st.size != size:
        raise RuntimeError("unexpected osr_cp_part layout")
    return st


_PART = _part_struct()
_STR_CAPS = {c: ffi.sizeof(ffi.typeof("osr_checkpoint").fields[i][1].type)
             for i, (c, _f) in enumerate(ffi.typeof("osr_checkpoint").fields)
             if c in {m for _a, m, _n in _STRINGS}}
MD5_MAX: int = _STR_CAPS["file_md5"] - 1  # bytes of LocalFile/MD5


def _encode(value: Any, what: str, cap: int) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointInvalid(EINVAL, f"{what}: not encodable as UTF-8 ({exc.reason})") from None
    if len(raw) >= cap:
        raise CheckpointInvalid(ELIMIT, f"{what}: {len(raw)} bytes, more than {cap - 1}")
    if b"\0" in raw:
        raise CheckpointInvalid(EINVAL, f"{what}: control character 0x00")
    return raw


def _to_c(cp: Checkpoint) -> Tuple[Any, Any]:
    """``(osr_checkpoint *, parts array)``: keep both alive during the call."""
    if not isinstance(cp, Checkpoint):
        raise TypeError(f"expected Checkpoint, not {type(cp).__name__}")
    parts: Sequence[CheckpointPart] = cp.parts
    n = len(parts)
    if n > MAX_PARTS:
        raise CheckpointInvalid(ELIMIT, f"{n} parts, more than {MAX_PARTS}")
    c = ffi.new("osr_checkpoint *")
    for attr, member, what in _STRINGS:
        setattr(c, member, _encode(getattr(cp, attr), what, _STR_CAPS[member]))
    for attr, member in _INTS:
        value = getattr(cp, attr)
        if not isinstance(value, int):
            raise TypeError(f"{attr} must be int, not {type(value).__name__}")
        try:
            setattr(c, member, value)
        except OverflowError:
            raise CheckpointInvalid(EINVAL, f"{attr} {value} out of range") from None

    arr = _new_raw("osr_cp_part[]", max(n, 1))
    buf = ffi.buffer(arr)
    pack_into, size = _PART.pack_into, _PART.size
    try:
        for k, p in enumerate(parts):
            pack_into(buf, k * size, p.index, p.offset, p.size, 1 if p.completed else 0,
                      p.etag.encode("utf-8"), p.crc64)
        # struct's "s" pads and cuts silently: an ETag of ETAG_MAX+1 bytes or
        # more arrives without NUL (C says ELIMIT); a NUL inside would cut it.
        if "\0" in "".join([p.etag for p in parts]):
            raise CheckpointInvalid(EINVAL, "Part/ETag: control character 0x00")
    except UnicodeEncodeError as exc:
        raise CheckpointInvalid(EINVAL, f"Part/ETag: not encodable as UTF-8 ({exc.reason})") from None
    except struct.error as exc:
        raise CheckpointInvalid(EINVAL, f"part number out of range ({exc})") from None
    except AttributeError as exc:
        raise TypeError(f"parts must be CheckpointPart objects ({exc})") from None
    c.parts = arr
    c.part_count = n
    c.part_capacity = n
    return c, arr


def _raise(rc: int, err: Any) -> None:
    raise CheckpointInvalid(rc, ffi.string(err).decode("utf-8", "replace") or "invalid checkpoint")


def dump(cp: Checkpoint, fill_md5: bool = True) -> bytes:
    """The checkpoint document (the C SDK's bytes); ``cp.md5`` is ignored."""
    c, _keep = _to_c(cp)
    err = ffi.new("char[]", _ERR_CAP)
    cap = 1024 + 224 * len(cp.parts)  # typical: ~180 bytes per part
    while True:
        out = _new_raw("char[]", cap)
        rc = lib.osr_cp_dump(c, 1 if fill_md5 else 0, out, cap, err, _ERR_CAP)
        if rc >= 0:
            return ffi.unpack(out, rc)
        if rc >= ELIMIT:  # a code, not -(needed)
            _raise(rc, err)
        cap = -rc


def validate(cp: Checkpoint) -> None:
    """Raise ``CheckpointInvalid`` unless ``dump(cp)`` would succeed."""
    c, _keep = _to_c(cp)
    err = ffi.new("char[]", _ERR_CAP)
    rc = lib.osr_cp_validate(c, err, _ERR_CAP)
    if rc != OK:
        _raise(rc, err)


def load(data: Union[bytes, bytearray, memoryview]) -> Checkpoint:
    """Parse and validate a checkpoint document."""
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"expected bytes, not {type(data).__name__}")
    # Every Part element starts with "<Part", so this bounds the slots needed.
    capacity = max(1, min(data.count(b"<Part"), MAX_PARTS))
    c = ffi.new("osr_checkpoint *")
    arr = _new_raw("osr_cp_part[]", capacity)
    c.parts = arr
    c.part_capacity = capacity
    err = ffi.new("char[]", _ERR_CAP)
    rc = lib.osr_cp_load(ffi.from_buffer(data), len(data), c, err, _ERR_CAP)
    if rc != OK:
        _raise(rc, err)
    n = c.part_count
    part = CheckpointPart
    parts = [part(i, o, s, k != 0, e.split(b"\0", 1)[0].decode("utf-8"), crc)
             for i, o, s, k, e, crc in _PART.iter_unpack(ffi.buffer(arr, n * _PART.size))]

    def s(member: str) -> str:
        return ffi.string(getattr(c, member)).decode("utf-8")

    return Checkpoint(type=c.type, file_path=s("file_path"), file_size=c.file_size,
                      file_mtime=c.file_mtime, object_key=s("object_key"),
                      object_size=c.object_size, object_last_modified=s("object_last_modified"),
                      object_etag=s("object_etag"), upload_id=s("upload_id"),
                      part_size=c.part_size, parts=parts, md5=s("md5"), file_md5=s("file_md5"))
