"""Sends one multipart upload's missing parts from other processes or hosts (SCALE §3):
the coordinator presigns, workers read and PUT, the coordinator records.

The caller's process stays the coordinator: it has initiated or resumed the upload
and alone writes the checkpoint.  It cuts the parts still to send into batches
(``remote_tasks.parts_per_task``), presigns each part's UploadPart with V4 query signing valid
for :data:`PRESIGN_SECONDS`, and submits one :class:`PartBatch` per batch to the
executor.  A worker (:func:`send_batch`) holds no secret: it opens the file at the
same path and sends each part to its URL the way a thread's upload does: the lean
path first (``part_put``: the part from the file in C, CRC-64 in the same pass),
else a plain PUT through an unsigned transport (the usual retries, a CRC-64
mismatch with the response header retried as -978) and returns small
:class:`BatchResult` rows ``(part number, PartDone(crc64, etag))``.  Parts whose URL would
expire before they start come back unsent and are presigned again.
"""
from __future__ import annotations

import functools
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

from . import native, ops
from . import status as st
from .config import RequestOptions
from .engine import PartDone
from .part_put import PartPutter
from .presigned import PRESIGN_SECONDS, transport_for, without_secrets
from .put_file import file_changed
from .remote_tasks import BatchResult, expiring, on_open_file, run_batches
from .transport import Transport

if TYPE_CHECKING:
    from .upload import UploadJob

Query = Tuple[Tuple[str, Optional[str]], ...]


@dataclass(frozen=True)
class PartURL:
    number: int
    offset: int
    size: int
    query: Query           # partNumber, uploadId and the V4 query signature
    expires_at: float      # epoch seconds


@dataclass(frozen=True)
class PartBatch:
    """One task: parts of one file to PUT to presigned URLs."""

    options: RequestOptions      # without credentials (``without_secrets``)
    bucket: str
    key: str
    path: str
    file_size: int
    file_mtime_ns: int
    headers: Tuple[Tuple[str, str], ...]
    parts: Tuple[PartURL, ...]


# -- the worker side --------------------------------------------------------------------

def send_batch(batch: PartBatch) -> BatchResult:
    """Worker: read and PUT each part of ``batch``; never raises for OSS, network or
    file errors (they are the result's ``failure``, naming this worker)."""
    return on_open_file(batch.path, os.O_RDONLY, functools.partial(_send_parts, batch))


def _send_parts(batch: PartBatch, fd: int, result: BatchResult) -> None:
    info = os.fstat(fd)
    if (info.st_size, info.st_mtime_ns) != (batch.file_size, batch.file_mtime_ns):
        result.failure = file_changed(batch.path, f"{result.worker} sees another size or "
                                                  "modification time")
        return
    transport = transport_for(batch.options)
    putter = PartPutter(transport)
    try:
        for part in batch.parts:
            if expiring(part.expires_at):
                result.expired.append(part.number)
                continue
            status, done = _send_part(batch, fd, part, transport, putter, result.worker)
            if done is None:
                status.error_msg = f"{status.error_msg} (part {part.number}, {result.worker})".strip()
                result.failure = status
                return
            result.done.append((part.number, done))
    finally:
        putter.close()


def _send_part(batch: PartBatch, fd: int, part: PartURL, transport: Transport, putter: PartPutter,
               worker: str) -> Tuple[st.Status, Optional[PartDone]]:
    """One part on its presigned URL: the lean path first (as a thread's upload
    sends it), the regular one for what that leaves (retries, a fallback)."""
    headers = dict(batch.headers)
    lean = putter.put(batch.bucket, batch.key, "", part.number, fd, part.offset, part.size,
                      headers, batch.path, query=part.query)
    if lean is not None and lean.final:
        return lean.status, (PartDone(lean.crc64, lean.etag) if lean.status.is_ok() else None)
    buf = bytearray(part.size)
    got = native.read_part(fd, part.offset, part.size, buf)
    if got.bytes_read != part.size:
        return file_changed(batch.path, f"part {part.number} was short on {worker}"), None
    status, res = ops.upload_part(transport, batch.bucket, batch.key, "", part.number,
                                  memoryview(buf), expect_crc=got.crc64, headers=headers,
                                  query=part.query, after=lean.status if lean is not None else None)
    return status, (PartDone(got.crc64, res.etag) if status.is_ok() and res is not None else None)


# -- the coordinator side ----------------------------------------------------------------

def send_missing_parts(job: "UploadJob", executor: Executor) -> Optional[st.Status]:
    """Send every part ``job`` has not done through ``executor``, ``job.threads``
    batches in flight; each finished batch is recorded (and checkpointed) here."""
    assert job.stat is not None
    safe = without_secrets(job.options)
    headers = tuple(sorted(job.part_headers().items()))
    stat = job.stat

    def presigned(indexes: Sequence[int]) -> PartBatch:
        assert job.plan is not None and job.transport is not None
        urls = []
        expires_at = time.time() + PRESIGN_SECONDS
        for i in indexes:
            p = job.plan.parts[i]
            query = job.transport.presign("PUT", job.bucket, job.key,
                                          ops.part_query(p.number, job.upload_id), dict(headers),
                                          PRESIGN_SECONDS)
            urls.append(PartURL(p.number, p.offset, p.size, tuple(query), expires_at))
        return PartBatch(safe, job.bucket, job.key, job.filepath, stat.st_size, stat.st_mtime_ns,
                         headers, tuple(urls))

    return run_batches(job, executor, send_batch, presigned, "ossresume-remote")
