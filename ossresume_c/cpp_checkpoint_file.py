"""The C++ SDK's checkpoint records as the engine's checkpoint file, so that
the C++ facade and a C++ program resume each other's transfers.

The facade passes ``CppCltParams`` (``ResumableCltParams`` plus a
``checkpoint_format``, a ``CppCheckpointFormat(directory)``); the engine asks
that format for the transfer's checkpoint file, a
``CppCheckpointFile``: the C++ SDK's record name in ``directory`` and its JSON
(``cpp_checkpoint``), translated to and from the engine's ``Checkpoint``.
Locking, atomic writes and coalescing are the base class's.

What the C++ records do not hold is recovered from elsewhere:

* an upload record lists no parts: every part comes from ListParts and counts
  once its size and CRC-64 match the file (the engine's reconciliation);
* its ``mtime`` is the file's in whole seconds as an HTTP date: it matches when
  the file's current mtime prints the same;
* a download record has no ETag or Last-Modified (the SDK leaves ``mtime``
  empty): the object is taken as unchanged when its size is, and the CRC-64s
  decide (each recorded part is re-checked against the temporary file, the
  combined CRC-64 against the object's);
* the SDK's temporary file ``{file}.temp`` only grows as far as the parts
  written so far: it is extended to the object's size before resuming.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import checkpoint_codec as codec
from . import cpp_checkpoint as cc
from .checkpoint_file import CheckpointFile
from .layout import plan_from_sizes
from .params import ResumableCltParams

log = logging.getLogger("ossresume_c")

UPLOAD_SUFFIX = ".ucp"          # what the engine asks for, per direction
TEMP_SUFFIX = ".temp"           # the C++ SDK's download temporary file
_UPLOAD_ID = re.compile(rb'"uploadID"\s*:\s*"([0-9A-Za-z]{16,64})"')


class CppCheckpointFormat:
    """Checkpoint records in ``directory``, named and written as the C++ SDK does."""

    def __init__(self, directory: str) -> None:
        self.directory = os.fspath(directory)

    def record_path(self, filepath: str, bucket: str, key: str, suffix: str) -> str:
        if suffix == UPLOAD_SUFFIX:
            name = cc.upload_record_name(bucket, key, filepath)
        else:
            name = cc.download_record_name(bucket, key, filepath)
        return os.path.join(self.directory, name)

    def checkpoint_file(self, filepath: str, bucket: str, key: str, suffix: str,
                        interval: float = 1.0) -> "CppCheckpointFile":
        return CppCheckpointFile(self.record_path(filepath, bucket, key, suffix),
                                 suffix == UPLOAD_SUFFIX, filepath, bucket, key, interval)

    def __repr__(self) -> str:
        return f"CppCheckpointFormat({self.directory!r})"


@dataclass
class CppCltParams(ResumableCltParams):
    """``clt_params`` whose checkpoints are C++ SDK records (engine.lock_checkpoint)."""
    checkpoint_format: Optional[CppCheckpointFormat] = None


class CppCheckpointFile(CheckpointFile):
    """One C++ SDK record, read and written through the engine's ``Checkpoint``."""

    def __init__(self, path: str, upload: bool, filepath: str, bucket: str, key: str,
                 interval: float = 1.0) -> None:
        super().__init__(path, interval=interval)
        self.upload = upload
        self.filepath = filepath
        self.bucket = bucket
        self.key = key
        self.object_size: Optional[int] = None
        self.object_etag = ""
        self.object_last_modified = ""
        self.temp_path = filepath + TEMP_SUFFIX

    def download_temp_path(self, filepath: str, meta: object) -> str:
        """Remembers the object's HEAD (size, ETag, Last-Modified) for ``decode``."""
        self.object_size = getattr(meta, "size", None)
        self.object_etag = getattr(meta, "etag", "")
        self.object_last_modified = getattr(meta, "last_modified", "")
        self.temp_path = filepath + TEMP_SUFFIX
        return self.temp_path

    # -- reading --------------------------------------------------------------
    def decode(self, data: bytes) -> Tuple[Optional[codec.Checkpoint], str]:
        try:
            record = cc.load(data)
        except cc.CppCheckpointInvalid as exc:
            match = _UPLOAD_ID.search(data) if self.upload else None
            self.salvaged_upload_id = match.group(1).decode("ascii") if match else ""
            return None, f"invalid C++ SDK checkpoint: {exc.reason}"
        if isinstance(record, cc.UploadRecord) != self.upload:
            return None, f"C++ SDK checkpoint is a {record.__class__.__name__}, not for this direction"
        if (record.bucket, record.key) != (self.bucket, self.key):
            return None, "C++ SDK checkpoint is for another object"
        if isinstance(record, cc.UploadRecord):
            return self._from_upload(record), ""
        if record.has_range:
            return None, "C++ SDK checkpoint is for a range of the object"
        return self._from_download(record), ""

    def _from_upload(self, record: cc.UploadRecord) -> codec.Checkpoint:
        parts = _layout(record.size, record.part_size, {})
        return codec.Checkpoint(type=codec.UPLOAD, file_path=record.file_path,
                                file_size=record.size, file_mtime=self._mtime_us(record.mtime),
                                object_key=record.key, object_size=0, object_last_modified="",
                                object_etag="", upload_id=record.upload_id,
                                part_size=record.part_size, parts=parts)

    def _mtime_us(self, recorded: str) -> int:
        """The file's mtime when the record's whole-second date is still the
        file's, so that the engine's exact comparison agrees; -1 otherwise."""
        try:
            now = os.stat(self.filepath)
        except OSError:
            return -1
        seconds = now.st_mtime_ns // 1_000_000_000
        return now.st_mtime_ns // 1000 if cc.http_date(seconds) == recorded else -1

    def _from_download(self, record: cc.DownloadRecord) -> codec.Checkpoint:
        crcs = {p.part_number - 1: p.crc64 for p in record.parts}
        parts = _layout(record.size, record.part_size, crcs)
        etag, last_modified = "", ""
        if record.size == self.object_size:
            # No identity in the record: the CRC-64 checks decide (module docstring).
            etag, last_modified = self.object_etag, self.object_last_modified
            self._extend_temp(record.size)
        return codec.Checkpoint(type=codec.DOWNLOAD, file_path=record.file_path, file_size=0,
                                file_mtime=0, object_key=record.key, object_size=record.size,
                                object_last_modified=last_modified, object_etag=etag,
                                upload_id="", part_size=record.part_size, parts=parts)

    def _extend_temp(self, size: int) -> None:
        try:
            if os.path.isfile(self.temp_path) and os.path.getsize(self.temp_path) < size:
                os.truncate(self.temp_path, size)
        except OSError as exc:
            log.warning("cannot extend %s: %s", self.temp_path, exc)

    # -- writing --------------------------------------------------------------
    def encode(self, cp: codec.Checkpoint) -> bytes:
        if cp.type == codec.UPLOAD:
            return cc.dump_upload(cc.UploadRecord(
                upload_id=cp.upload_id, file_path=cp.file_path, bucket=self.bucket, key=self.key,
                mtime=cc.http_date(cp.file_mtime // 1_000_000), size=cp.file_size,
                part_size=cp.part_size))
        done = [cc.DownloadedPart(p.index + 1, p.size, p.crc64) for p in cp.parts if p.completed]
        return cc.dump_download(cc.DownloadRecord(
            bucket=self.bucket, key=self.key, file_path=cp.file_path, mtime="",
            size=cp.object_size, part_size=cp.part_size, parts=done))


def _layout(size: int, part_size: int, crcs: Dict[int, int]) -> List[codec.CheckpointPart]:
    """Every part of the record's layout; those in ``crcs`` (index -> CRC-64) are done."""
    count = (size + part_size - 1) // part_size
    sizes = [min(part_size, size - i * part_size) for i in range(count)]
    plan = plan_from_sizes(size, part_size, sizes)
    return [codec.CheckpointPart(p.index, p.offset, p.size, p.index in crcs, "",
                                 crcs.get(p.index, 0)) for p in plan.parts]
