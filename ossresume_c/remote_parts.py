"""Sends one multipart upload's missing parts from other processes or hosts (SCALE §3):
the coordinator presigns, workers read and PUT, the coordinator records.

The caller's process stays the coordinator: it has initiated or resumed the upload
and alone writes the checkpoint.  It cuts the parts still to send into batches
(:func:`parts_per_task`), presigns each part's UploadPart with V4 query signing valid
for :data:`PRESIGN_SECONDS`, and submits one :class:`PartBatch` per batch to the
executor.  A worker (:func:`send_batch`) holds no secret: it opens the file at the
same path, reads each part with the C part reader (CRC-64 in the same pass), sends
a plain PUT to its URL through an unsigned transport (the usual retries, a CRC-64
mismatch with the response header retried as -978) and returns small
:class:`BatchResult` rows ``(part number, etag, crc64)``.  Parts whose URL would
expire before they start come back unsent and are presigned again.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from . import native, ops
from . import status as st
from .config import RequestOptions
from .engine import PartDone
from .presigned import PRESIGN_SECONDS, transport_for, without_secrets
from .put_file import file_changed
from .scheduler import WorkResult

if TYPE_CHECKING:
    from .upload import UploadJob

EXPIRY_MARGIN = 60           # a part is not started on a URL with less than this left
MAX_PARTS_PER_TASK = 8       # a lost task costs at most this many parts again
TASKS_PER_SLOT = 4           # enough tasks that slow and fast workers even out

Query = Tuple[Tuple[str, Optional[str]], ...]


def parts_per_task(todo: int, slots: int) -> int:
    """How many parts one task carries: ``TASKS_PER_SLOT`` tasks per slot in flight
    when there are parts enough, never more than ``MAX_PARTS_PER_TASK``, at least 1."""
    if todo <= 0:
        return 1
    return max(1, min(MAX_PARTS_PER_TASK, todo // (max(1, slots) * TASKS_PER_SLOT)))


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


@dataclass
class BatchResult:
    """``done``: ``(part number, etag, crc64)``; ``expired``: part numbers not sent
    because their URL was about to expire; ``failure`` stops the upload."""

    worker: str
    done: List[Tuple[int, str, int]] = field(default_factory=list)
    expired: List[int] = field(default_factory=list)
    failure: Optional[st.Status] = None


# -- the worker side --------------------------------------------------------------------

def worker_name() -> str:
    """The Dask worker's address when on one, else host and process id."""
    dist = sys.modules.get("distributed")
    if dist is not None:
        try:
            return f"dask worker {dist.get_worker().address}"
        except ValueError:
            pass
    return f"{socket.gethostname()} pid {os.getpid()}"


def send_batch(batch: PartBatch) -> BatchResult:
    """Worker: read and PUT each part of ``batch``; never raises for OSS, network or
    file errors (they are the result's ``failure``, naming this worker)."""
    result = BatchResult(worker_name())
    try:
        fd = os.open(batch.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        result.failure = st.Status(exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                                   f"{result.worker} cannot open {batch.path!r}: "
                                   f"{exc.strerror or exc}")
        return result
    try:
        info = os.fstat(fd)
        if (info.st_size, info.st_mtime_ns) != (batch.file_size, batch.file_mtime_ns):
            result.failure = file_changed(batch.path, f"{result.worker} sees another size or "
                                                      "modification time")
            return result
        _send_parts(batch, fd, result)
    except Exception as exc:  # noqa: BLE001 - a bug must come back as a Status, not a lost task
        result.failure = st.Status(st.INTERNAL_ERROR, "InternalError", f"{result.worker}: {exc!r}")
    finally:
        os.close(fd)
    return result


def _send_parts(batch: PartBatch, fd: int, result: BatchResult) -> None:
    transport = transport_for(batch.options)
    buf = bytearray(max(p.size for p in batch.parts))
    for part in batch.parts:
        if time.time() >= part.expires_at - EXPIRY_MARGIN:
            result.expired.append(part.number)
            continue
        got = native.read_part(fd, part.offset, part.size, buf)
        if got.bytes_read != part.size:
            result.failure = file_changed(batch.path, f"part {part.number} was short on "
                                                      f"{result.worker}")
            return
        status, res = ops.upload_part(transport, batch.bucket, batch.key, "", part.number,
                                      memoryview(buf)[:part.size], expect_crc=got.crc64,
                                      headers=dict(batch.headers), query=part.query)
        if not status.is_ok() or res is None:
            status.error_msg = f"{status.error_msg} (part {part.number}, {result.worker})".strip()
            result.failure = status
            return
        result.done.append((part.number, res.etag, got.crc64))


# -- the coordinator side ----------------------------------------------------------------

def send_missing_parts(job: "UploadJob", executor: Executor) -> Optional[st.Status]:
    """Send every part ``job`` has not done through ``executor``, ``job.threads``
    batches in flight; each finished batch is recorded (and checkpointed) here."""
    assert job.plan is not None and job.stat is not None and job.transport is not None
    todo = [p.index for p in job.plan.parts if p.index not in job.done]
    per = parts_per_task(len(todo), job.threads)
    batches = [todo[i:i + per] for i in range(0, len(todo), per)]
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

    def work(b: int) -> WorkResult:
        remaining = list(batches[b])
        done: List[Tuple[int, PartDone]] = []
        while remaining:
            if job.cancel.is_set():
                return None, done
            try:
                result: BatchResult = executor.submit(send_batch, presigned(remaining)).result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, a broken pool, a pickling error
                return st.Status(st.INTERNAL_ERROR, "WorkerLost",
                                 f"a task of parts {remaining[0] + 1}..{remaining[-1] + 1} "
                                 f"failed: {type(exc).__name__}: {exc}"), None
            done.extend((n - 1, PartDone(crc, etag)) for n, etag, crc in result.done)
            if result.failure is not None:
                return result.failure, None
            remaining = [n - 1 for n in result.expired]
        return None, done

    def record(_b: int, done: List[Tuple[int, PartDone]]) -> None:
        for index, part in done:
            job.record(index, part)

    return job.run_parts(work, "ossresume-remote", units=range(len(batches)), record=record)
