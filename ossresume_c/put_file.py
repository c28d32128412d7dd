"""One PutObject of a whole local file: the small-file upload of both
``resumable_upload_file`` (a file of at most one part) and ``upload_tree``.

The file is read in one C pass that also computes its CRC-64, checked to be
still the same file with the same size and mtime after the read, and sent with
that CRC-64 checked against the server's.  The two things every upload path
shares live here too: the default Content-Type and the "file changed" Status.
"""
from __future__ import annotations

import mimetypes
import os
from typing import Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from . import native, ops
from . import status as st
from .transport import Transport

_EXTRA_TYPES = {".ts": "video/MP2T", ".m3u8": "application/x-mpegURL"}


# A faster sender tried first (tree engine: small_put): the Status of a confirmed PutObject,
# or None to send the file through the transport instead.
FastSend = Callable[[str, str, bytearray, Dict[str, str], int], Optional[st.Status]]


class SentFile(NamedTuple):
    """What a successful :func:`put_file` sent: the file's size and CRC-64."""

    size: int
    crc64: int


def put_file(transport: Transport, bucket: str, key: str, path: str,
             headers: Optional[Mapping[str, str]] = None,
             expect: Optional[os.stat_result] = None,
             fast: Optional[FastSend] = None) -> Tuple[st.Status, Optional[SentFile]]:
    """PutObject of the whole file at ``path`` (its Content-Type guessed from
    ``key`` unless ``headers`` set one).  ``expect`` is the stat the caller
    planned with: a file that is no longer that one is not sent.  Returns the
    Status and, on success, what was sent; never raises for file or network
    errors.  The whole file is in memory while it is sent: for small files."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        return st.Status(exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                         f"cannot open {path!r}: {exc.strerror or exc}"), None
    try:
        before = os.fstat(fd)
        problem = _difference(expect, before) if expect is not None else None
        if problem:
            return file_changed(path, problem), None
        buf = bytearray(before.st_size)
        got = native.read_part(fd, 0, before.st_size, buf)
    except OSError as exc:
        return st.Status(st.FILE_READ_ERROR, "FileReadError", f"reading {path!r}: {exc}"), None
    finally:
        os.close(fd)
    problem = "it was shorter than its size" if got.bytes_read != before.st_size else \
        change_since(before, path)
    if problem:
        return file_changed(path, problem), None
    hdrs = with_content_type(headers, key)
    status = fast(bucket, key, buf, hdrs, got.crc64) if fast is not None else None
    if status is None:
        status, _crc = ops.put_object(transport, bucket, key, memoryview(buf), hdrs,
                                      expect_crc=got.crc64)
    return status, (SentFile(before.st_size, got.crc64) if status.is_ok() else None)


def change_since(before: os.stat_result, path: str) -> Optional[str]:
    """Why ``path`` is no longer the file ``before`` describes; None when it is
    the same file with the same size and mtime."""
    try:
        now = os.stat(path)
    except OSError as exc:
        return str(exc.strerror or exc)
    return _difference(before, now)


def _difference(before: os.stat_result, now: os.stat_result) -> Optional[str]:
    if not os.path.samestat(before, now):
        return "it was replaced by another file"
    if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return "its size or modification time changed"
    return None


def file_changed(path: str, detail: str) -> st.Status:
    return st.Status(st.INCONSISTENT_ERROR, "FileChanged",
                     f"{path!r} changed during the upload ({detail}); nothing was completed")


def guess_content_type(key: str) -> str:
    ext = os.path.splitext(key)[1].lower()
    if ext in _EXTRA_TYPES:
        return _EXTRA_TYPES[ext]
    guessed = mimetypes.guess_type("x" + ext)[0] if ext else None
    return guessed or "application/octet-stream"


def with_content_type(headers: Optional[Mapping[str, str]], key: str) -> Dict[str, str]:
    """``headers`` plus a Content-Type guessed from the key's extension when they have none."""
    hdrs = dict(headers or {})
    if not any(k.lower() == "content-type" for k in hdrs):
        hdrs["Content-Type"] = guess_content_type(key)
    return hdrs
