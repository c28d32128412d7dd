"""A slow, obviously-correct twin of the C checkpoint codec, for tests only.

It implements the same documented rules as ``csrc/checkpoint.c`` (see its top
comment) in the plainest Python: f-strings to write, regular expressions to
tokenize, a dict per element to check the schema.  Hypothesis compares the two.
Errors are ``RefInvalid(code, reason)`` with the codec's codes.
"""
from __future__ import annotations

import hashlib
import re
from typing import Dict, List, Optional, Tuple, Union

from ossresume_c.checkpoint_codec import (
    EINVAL, ELIMIT, EMD5, EPARSE, Checkpoint, CheckpointPart,
)

DECL = b'<?xml version="1.0" encoding="utf-8"?>'
MAX_PARTS = 10000
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
INT32_MAX = 2**31 - 1

# byte capacity (including the NUL) of each string field, as in the C struct
STR_CAP = 1024
MD5_CAP = 64
ETAG_CAP = 128


class RefInvalid(ValueError):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------- dump

def escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _check_text(text: str, cap: int, what: str) -> None:
    if not isinstance(text, str):
        raise TypeError(what)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise RefInvalid(EINVAL, f"{what}: not UTF-8") from None
    if len(raw) > cap - 1:
        raise RefInvalid(ELIMIT, f"{what}: too long")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise RefInvalid(EINVAL, f"{what}: control character")
    if "\ufffe" in text or "\uffff" in text:
        raise RefInvalid(EINVAL, f"{what}: non-character")


def validate(cp: Checkpoint) -> None:
    """The layout and string rules, on the dataclass."""
    if cp.type not in (1, 2):
        raise RefInvalid(EINVAL, "Type")
    n = len(cp.parts)
    if n > MAX_PARTS:
        raise RefInvalid(ELIMIT, "too many parts")
    if cp.part_size < 1:
        raise RefInvalid(EINVAL, "part size")
    if cp.file_size < 0 or cp.object_size < 0:
        raise RefInvalid(EINVAL, "negative size")
    for name, value, lo, hi in (("file_size", cp.file_size, 0, INT64_MAX),
                                ("object_size", cp.object_size, 0, INT64_MAX),
                                ("file_mtime", cp.file_mtime, -INT64_MAX - 1, INT64_MAX),
                                ("part_size", cp.part_size, 1, INT64_MAX)):
        if not lo <= value <= hi:
            raise RefInvalid(EINVAL, name)
    total = cp.file_size if cp.type == 1 else cp.object_size
    for k, p in enumerate(cp.parts):
        if p.index != k:
            raise RefInvalid(EINVAL, f"part {k}: index")
        if p.offset != k * cp.part_size:
            raise RefInvalid(EINVAL, f"part {k}: offset")
        if k < n - 1:
            if p.size != cp.part_size:
                raise RefInvalid(EINVAL, f"part {k}: size")
        elif not 1 <= p.size <= cp.part_size:
            raise RefInvalid(EINVAL, f"part {k}: last size")
        if not 0 <= p.crc64 <= UINT64_MAX:
            raise RefInvalid(EINVAL, f"part {k}: crc64")
    if sum(p.size for p in cp.parts) != total:
        raise RefInvalid(EINVAL, "sizes do not sum to the total")
    # cp.md5 is not checked: dump ignores it (and parse has checked it)
    for what, value, cap in (("file_path", cp.file_path, STR_CAP),
                             ("file_md5", cp.file_md5, MD5_CAP),
                             ("object_key", cp.object_key, STR_CAP),
                             ("object_last_modified", cp.object_last_modified, STR_CAP),
                             ("object_etag", cp.object_etag, STR_CAP),
                             ("upload_id", cp.upload_id, STR_CAP)):
        _check_text(value, cap, what)
    for p in cp.parts:
        _check_text(p.etag, ETAG_CAP, "etag")


def dump(cp: Checkpoint, fill_md5: bool = True) -> bytes:
    validate(cp)
    parts = "".join(
        f"<Part><Index>{p.index}</Index><Offset>{p.offset}</Offset><Size>{p.size}</Size>"
        f"<Completed>{1 if p.completed else 0}</Completed><ETag>{escape(p.etag)}</ETag>"
        f"<Crc64>{p.crc64}</Crc64></Part>"
        for p in cp.parts)
    body = (f"<Type>{cp.type}</Type>"
            f"<LocalFile><Path>{escape(cp.file_path)}</Path><Size>{cp.file_size}</Size>"
            f"<LastModified>{cp.file_mtime}</LastModified><MD5>{escape(cp.file_md5)}</MD5></LocalFile>"
            f"<Object><Key>{escape(cp.object_key)}</Key><Size>{cp.object_size}</Size>"
            f"<LastModified>{escape(cp.object_last_modified)}</LastModified>"
            f"<ETag>{escape(cp.object_etag)}</ETag></Object>"
            f"<UploadId>{escape(cp.upload_id)}</UploadId>"
            f"<CPParts><Number>{len(cp.parts)}</Number><Size>{cp.part_size}</Size>"
            f"<Parts>{parts}</Parts></CPParts></Checkpoint>\n").encode("utf-8")
    head = DECL + b"<Checkpoint><MD5>"
    tail = b"</MD5>" + body
    md5 = hashlib.md5(head + tail).hexdigest().encode() if fill_md5 else b""
    return head + md5 + tail


# --------------------------------------------------------------------------- parse

# element -> children (None: a leaf, with its kind)
CONTAINERS: Dict[str, List[str]] = {
    "Checkpoint": ["MD5", "Type", "LocalFile", "Object", "UploadId", "CPParts"],
    "LocalFile": ["Path", "Size", "LastModified", "MD5"],
    "Object": ["Key", "Size", "LastModified", "ETag"],
    "CPParts": ["Number", "Size", "Parts"],
    "Part": ["Index", "Offset", "Size", "Completed", "ETag", "Crc64"],
}
# (parent, leaf) -> kind: ("str", cap) or ("int", lo, hi)
LEAVES: Dict[Tuple[str, str], tuple] = {
    ("Checkpoint", "MD5"): ("str", MD5_CAP),
    ("Checkpoint", "Type"): ("int", 0, INT32_MAX),
    ("Checkpoint", "UploadId"): ("str", STR_CAP),
    ("LocalFile", "Path"): ("str", STR_CAP),
    ("LocalFile", "Size"): ("int", 0, INT64_MAX),
    ("LocalFile", "LastModified"): ("int", -INT64_MAX - 1, INT64_MAX),
    ("LocalFile", "MD5"): ("str", MD5_CAP),
    ("Object", "Key"): ("str", STR_CAP),
    ("Object", "Size"): ("int", 0, INT64_MAX),
    ("Object", "LastModified"): ("str", STR_CAP),
    ("Object", "ETag"): ("str", STR_CAP),
    ("CPParts", "Number"): ("int", 0, INT64_MAX),
    ("CPParts", "Size"): ("int", 0, INT64_MAX),
    ("Part", "Index"): ("int", 0, INT64_MAX),
    ("Part", "Offset"): ("int", 0, INT64_MAX),
    ("Part", "Size"): ("int", 0, INT64_MAX),
    ("Part", "Completed"): ("int", 0, INT32_MAX),
    ("Part", "ETag"): ("str", ETAG_CAP),
    ("Part", "Crc64"): ("int", 0, UINT64_MAX),
}

_WS = b" \t\r\n"
_NAME = rb"[A-Za-z0-9_.:\-]+"
_OPEN = re.compile(rb"<(" + _NAME + rb")[ \t\r\n]*(/?)>")
_CLOSE = re.compile(rb"</(" + _NAME + rb")[ \t\r\n]*>")
_TEXT = re.compile(rb"[^<]*")
_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class Element:
    def __init__(self, name: str, start: int) -> None:
        self.name = name
        self.children: List[Element] = []
        self.texts: List[Tuple[int, int]] = []   # raw spans of character data
        self.start = start


def _tree(data: bytes) -> Element:
    """Well-formedness: tags, nesting, nothing else (no comments, PIs...)."""
    pos = 0
    if data.startswith(b"<?xml"):
        if not data.startswith(DECL):
            raise RefInvalid(EPARSE, "declaration")
        pos = len(DECL)
    while pos < len(data) and data[pos] in _WS:
        pos += 1
    stack: List[Element] = []
    root: Optional[Element] = None
    while True:
        if not stack:
            if root is not None:
                if data[pos:].strip(_WS):
                    raise RefInvalid(EPARSE, "content after the root")
                return root
            m = _OPEN.match(data, pos)
            if m is None or m.group(1) != b"Checkpoint" or m.group(2):
                raise RefInvalid(EPARSE, "no root")
            root = Element("Checkpoint", m.end())
            stack.append(root)
            pos = m.end()
            continue
        m = _TEXT.match(data, pos)
        assert m is not None
        if m.end() > pos:
            stack[-1].texts.append((pos, m.end()))
            pos = m.end()
        if pos >= len(data):
            raise RefInvalid(EPARSE, "truncated")
        m = _CLOSE.match(data, pos)
        if m is not None:
            if m.group(1).decode() != stack[-1].name:
                raise RefInvalid(EPARSE, "mismatched close tag")
            stack.pop()
            pos = m.end()
            continue
        m = _OPEN.match(data, pos)
        if m is None:
            raise RefInvalid(EPARSE, "bad markup")
        el = Element(m.group(1).decode(), m.end())
        stack[-1].children.append(el)
        pos = m.end()
        if not m.group(2):
            stack.append(el)


def _decode_text(raw: bytes) -> str:
    if any(b < 0x20 or b == 0x7F for b in raw):
        raise RefInvalid(EPARSE, "control character")
    if b"]]>" in raw:
        raise RefInvalid(EPARSE, "]]>")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RefInvalid(EPARSE, "UTF-8") from None
    if "\ufffe" in text or "\uffff" in text:
        raise RefInvalid(EPARSE, "non-character")
    out, pos = [], 0
    while True:
        amp = text.find("&", pos)
        if amp < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:amp])
        m = _ENTITY.match(text, amp)
        if m is None:
            raise RefInvalid(EPARSE, "entity")
        ref = m.group(1)
        if ref in _NAMED:
            out.append(_NAMED[ref])
        else:
            cp = int(ref[2:], 16) if ref.startswith("#x") else int(ref[1:])
            if cp > 0x10FFFF or cp < 0x20 or cp == 0x7F or 0xD800 <= cp <= 0xDFFF or cp in (0xFFFE, 0xFFFF):
                raise RefInvalid(EPARSE, "character reference")
            out.append(chr(cp))
        pos = m.end()
    return "".join(out)


def _leaf(data: bytes, parent: str, el: Element) -> Union[str, int]:
    if el.children:
        raise RefInvalid(EPARSE, f"<{el.name}> has children")
    raw = b"".join(data[a:b] for a, b in el.texts)
    kind = LEAVES[(parent, el.name)]
    if kind[0] == "str":
        text = _decode_text(raw)
        if len(text.encode("utf-8")) > kind[1] - 1:
            raise RefInvalid(ELIMIT, f"<{el.name}> too long")
        return text
    signed = (parent, el.name) == ("LocalFile", "LastModified")
    if not re.fullmatch(rb"-?[0-9]+" if signed else rb"[0-9]+", raw):
        raise RefInvalid(EINVAL, f"<{el.name}> not a number")
    value = int(raw)
    if not kind[1] <= value <= kind[2]:
        raise RefInvalid(EINVAL, f"<{el.name}> out of range")
    return value


def _fields(data: bytes, el: Element) -> Dict[str, object]:
    """Children of a container, each exactly once, as a dict."""
    for a, b in el.texts:
        if data[a:b].strip(_WS):
            raise RefInvalid(EPARSE, f"text in <{el.name}>")
    out: Dict[str, object] = {}
    for child in el.children:
        if child.name not in CONTAINERS[el.name]:
            raise RefInvalid(EPARSE, f"unknown <{child.name}>")
        if child.name in out:
            raise RefInvalid(EPARSE, f"duplicate <{child.name}>")
        if child.name in CONTAINERS:
            out[child.name] = _fields(data, child)
        elif child.name == "Parts":
            for a, b in child.texts:
                if data[a:b].strip(_WS):
                    raise RefInvalid(EPARSE, "text in <Parts>")
            parts = []
            for p in child.children:
                if p.name != "Part":
                    raise RefInvalid(EPARSE, "not a <Part>")
                parts.append(_fields(data, p))
            out["Parts"] = parts
        else:
            out[child.name] = _leaf(data, el.name, child)
        if child.name == "MD5" and el.name == "Checkpoint":
            out["_md5_span"] = child.texts[0] if child.texts else (child.start, child.start)
    missing = [n for n in CONTAINERS[el.name] if n not in out]
    if missing:
        raise RefInvalid(EPARSE, f"<{el.name}> lacks <{missing[0]}>")
    return out


def parse(data: bytes) -> Checkpoint:
    """Parse and validate like osr_cp_load (raises RefInvalid)."""
    if not data:
        raise RefInvalid(EPARSE, "empty")
    f = _fields(data, _tree(data))
    md5 = f["MD5"]
    if md5:
        a, b = f["_md5_span"]  # type: ignore[misc]
        raw = data[a:b]
        if not re.fullmatch(rb"[0-9a-fA-F]{32}", raw):
            raise RefInvalid(EMD5, "MD5 is not 32 hex digits")
        if hashlib.md5(data[:a] + data[b:]).hexdigest() != raw.decode().lower():
            raise RefInvalid(EMD5, "MD5 mismatch")
    lf, ob, cpp = f["LocalFile"], f["Object"], f["CPParts"]
    raw_parts: List[dict] = cpp["Parts"]  # type: ignore[index]
    if len(raw_parts) > MAX_PARTS:
        raise RefInvalid(ELIMIT, "too many parts")
    if cpp["Number"] != len(raw_parts):  # type: ignore[index]
        raise RefInvalid(EINVAL, "Number != count")
    by_index: Dict[int, dict] = {}
    for p in raw_parts:
        if not 0 <= p["Index"] < len(raw_parts) or p["Index"] in by_index:
            raise RefInvalid(EINVAL, "Index out of range or repeated")
        by_index[p["Index"]] = p
    for p in raw_parts:
        if p["Completed"] not in (0, 1):
            raise RefInvalid(EINVAL, "Completed")
    parts = [CheckpointPart(p["Index"], p["Offset"], p["Size"], p["Completed"] == 1, p["ETag"], p["Crc64"])
             for p in (by_index[i] for i in range(len(raw_parts)))]
    cp = Checkpoint(type=f["Type"], file_path=lf["Path"], file_size=lf["Size"],  # type: ignore
                    file_mtime=lf["LastModified"], object_key=ob["Key"],  # type: ignore[index]
                    object_size=ob["Size"], object_last_modified=ob["LastModified"],  # type: ignore
                    object_etag=ob["ETag"], upload_id=f["UploadId"],  # type: ignore[index]
                    part_size=cpp["Size"], parts=parts, md5=md5, file_md5=lf["MD5"])  # type: ignore
    validate(cp)
    return cp
