"""The part journal: an append-only file beside a checkpoint that records each
finished part (index and CRC-64) at O(1) cost, read back on resume with a torn
or damaged tail ignored.

The checkpoint (the C SDK's XML) is rewritten only now and then (coalesced);
between two writes every finished part costs one 20-byte append here.  Each
checkpoint write folds the journal (truncates it to its header), and a
successful transfer deletes it.  The C SDK never reads it.

Layout (little-endian):

* header, 40 bytes: ``b"OSRJNL01"``, the transfer's tag (u64, :func:`tag_of`:
  a record never applies to another transfer or another part layout), the
  local file's device and inode (u64 each; 0 where the platform has none),
  and the CRC-64 of the 32 bytes before it;
* records, 20 bytes each: part index (u32), the part's CRC-64 (u64), and the
  CRC-64 of the tag followed by those 12 bytes.

Reading stops at the first record that is short or does not check: what
follows a tear is never trusted.  A record only says "this part was finished
with this CRC-64": resuming still checks it against the bytes (the ``.tmp``'s
range for a download, the server's CRC-64 for an upload).
"""
from __future__ import annotations

import os
import struct
from typing import Dict, NamedTuple, Optional, Tuple

from . import native

MAGIC = b"OSRJNL01"
_HEAD = struct.Struct("<8sQQQ")
_HEAD_CHECK = struct.Struct("<Q")
_BODY = struct.Struct("<IQ")
_CHECK = struct.Struct("<Q")
HEADER_SIZE = _HEAD.size + _HEAD_CHECK.size        # 40
RECORD_SIZE = _BODY.size + _CHECK.size             # 20
MAX_INDEX = 2**32 - 1


class Header(NamedTuple):
    tag: int
    device: int
    inode: int


def tag_of(kind: int, upload_id: str, file_size: int, file_mtime: int, object_size: int,
           object_last_modified: str, object_etag: str, part_size: int) -> int:
    """The transfer a journal belongs to, as a 64-bit tag: the checkpoint's
    identifying fields (not the path, not the key: a C SDK checkpoint may leave
    the key empty), the ETag without quotes and case."""
    ident = "\n".join((str(kind), upload_id, str(file_size), str(file_mtime), str(object_size),
                       object_last_modified, object_etag.strip('"').lower(), str(part_size)))
    return native.crc64(ident.encode("utf-8", "surrogatepass"))


def encode_header(header: Header) -> bytes:
    head = _HEAD.pack(MAGIC, header.tag & 0xFFFFFFFFFFFFFFFF, header.device & 0xFFFFFFFFFFFFFFFF,
                      header.inode & 0xFFFFFFFFFFFFFFFF)
    return head + _HEAD_CHECK.pack(native.crc64(head))


def encode_record(tag: int, index: int, crc64: int) -> bytes:
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"part index {index} out of range")
    body = _BODY.pack(index, crc64)
    return body + _CHECK.pack(native.crc64(_CHECK.pack(tag) + body))


def decode(data: bytes, tag: int) -> Tuple[Optional[Header], Dict[int, int]]:
    """``(header, {index: crc64})`` of a journal for the transfer ``tag``;
    ``(None, {})`` when the header is missing, damaged or for another transfer.
    Records are read up to the first one that is short or fails its check; a
    later record for the same index replaces an earlier one."""
    if len(data) < HEADER_SIZE:
        return None, {}
    head = bytes(data[:_HEAD.size])
    (check,) = _HEAD_CHECK.unpack_from(data, _HEAD.size)
    if native.crc64(head) != check:
        return None, {}
    magic, jtag, device, inode = _HEAD.unpack(head)
    if magic != MAGIC or jtag != tag:
        return None, {}
    prefix = _CHECK.pack(tag)
    records: Dict[int, int] = {}
    pos = HEADER_SIZE
    while pos + RECORD_SIZE <= len(data):
        body = bytes(data[pos:pos + _BODY.size])
        (check,) = _CHECK.unpack_from(data, pos + _BODY.size)
        if native.crc64(prefix + body) != check:
            break
        index, crc = _BODY.unpack(body)
        records[index] = crc
        pos += RECORD_SIZE
    return Header(jtag, device, inode), records


def read(path: str, tag: int, limit: int = 64 << 20) -> Tuple[Optional[Header], Dict[int, int]]:
    """:func:`decode` of the journal at ``path``; nothing when it is absent or unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return None, {}
    return decode(data, tag)


class Journal:
    """One open journal: ``start`` writes a fresh header, ``append`` one record
    (one ``write`` of 20 bytes, no fsync: a killed process loses nothing, a
    power cut at most a tail that the next run re-checks or re-transfers),
    ``fold`` truncates to the header after a checkpoint write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tag = 0
        self.fd = -1
        self.bytes_written = 0

    def start(self, header: Header) -> None:
        self.close()
        self.tag = header.tag
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
                          | getattr(os, "O_BINARY", 0), 0o600)
        self._write(encode_header(header))

    def append(self, index: int, crc64: int) -> None:
        if self.fd >= 0:
            self._write(encode_record(self.tag, index, crc64))

    def fold(self) -> None:
        """Everything recorded is now in the checkpoint: keep the header only."""
        if self.fd >= 0:
            os.ftruncate(self.fd, HEADER_SIZE)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def delete(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.bytes_written += len(data)
