"""Fetches one download's missing ranges from other processes or hosts (SCALE §3):
the coordinator presigns, workers GET and write into the ``.tmp``, the coordinator
records and verifies.

The caller's process stays the coordinator: it has HEADed the object, resumed or
started the ``.dcp`` checkpoint, created the ``.tmp`` at the object's size, and alone
writes the checkpoint.  It cuts the parts still to fetch into batches
(``remote_tasks.parts_per_task``), presigns one GetObject per batch with V4 query
signing valid for :data:`PRESIGN_SECONDS` (Range and If-Match are not signed, so one
URL serves every part of the batch), and submits one :class:`RangeBatch` per batch.

A worker (:func:`fetch_batch`) holds no secret.  It opens the ``.tmp`` at the same
path (never creating it: the path must be on storage every worker shares), checks its
size, and for each part sends a ranged GET with ``If-Match`` (a changed object fails
with 412, nothing is written) and streams the body into the file with the download
engine's own part receiver (``DownloadJob._write_body``: pwrite at the part's offset,
CRC-64 in the same pass, in C).  It returns :class:`BatchResult` rows
``(part number, PartDone(crc64))``; parts whose URL would expire before they start
come back unfetched and are presigned again.

The coordinator then reads back one part written by each worker and compares its
CRC-64 with what that worker reported: a worker that wrote another file at the same
path (no shared storage) fails the call, naming the worker and the path, and its parts
are dropped from the checkpoint.  ``DownloadJob`` combines the parts' CRCs and checks
the object's CRC-64 as for a local download.
"""
from __future__ import annotations

import functools
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Type

from . import ops
from . import status as st
from .config import RequestOptions
from .engine import PartDone
from .layout import Part
from .part_get import PartGetter
from .presigned import PRESIGN_SECONDS, PresignedTransport, transport_for, without_secrets
from .remote_tasks import BatchResult, Query, expiring, on_open_file, run_batches

if TYPE_CHECKING:
    from .download import DownloadJob


@dataclass(frozen=True)
class RangeBatch:
    """One task: parts of one object to GET on a presigned URL into the ``.tmp``."""

    options: RequestOptions      # without credentials (``without_secrets``)
    bucket: str
    key: str
    path: str                    # the .tmp file, created and sized by the coordinator
    object_size: int
    etag: str                    # If-Match: the object the coordinator HEADed
    query: Query                 # the GetObject's V4 query signature
    expires_at: float            # epoch seconds
    parts: Tuple[Part, ...]
    receiver: Type["DownloadJob"]   # the job's class: its part receiver writes the bytes


# -- the worker side --------------------------------------------------------------------

def fetch_batch(batch: RangeBatch) -> BatchResult:
    """Worker: GET each part of ``batch`` into the ``.tmp``; never raises for OSS,
    network or file errors (they are the result's ``failure``, naming this worker)."""
    return on_open_file(batch.path, os.O_WRONLY, functools.partial(_fetch_parts, batch))


def _receiver(batch: RangeBatch, fd: int) -> "DownloadJob":
    """The worker's view of the download: enough of a ``DownloadJob`` (the open
    ``.tmp``, the object's size) for its part receiver to write into."""
    view = batch.receiver(batch.options, batch.bucket, batch.key, batch.path, None, None, None, 0.0)
    view.fd, view.tmp_path, view.progress.total = fd, batch.path, batch.object_size
    return view


def _fetch_parts(batch: RangeBatch, fd: int, result: BatchResult) -> None:
    size = os.fstat(fd).st_size
    if size != batch.object_size:
        result.failure = st.Status(st.FILE_WRITE_ERROR, "FileWriteError",
                                   f"{result.worker} sees {batch.path!r} with {size} bytes, "
                                   f"not the {batch.object_size} this download prepared")
        return
    transport = transport_for(batch.options)
    getter = PartGetter(transport)
    try:
        _fetch_each(batch, fd, result, transport, getter)
    finally:
        getter.close()


def _fetch_each(batch: RangeBatch, fd: int, result: BatchResult, transport: PresignedTransport,
                getter: PartGetter) -> None:
    """Each part: the lean GET first (as a thread's download fetches it), the regular
    one for what that leaves (retries, a fallback)."""
    view = _receiver(batch, fd)
    with transport.using(batch.key, (("GET", batch.query),)):
        for part in batch.parts:
            if expiring(batch.expires_at):
                result.expired.append(part.number)
                continue
            hdrs = {"If-Match": batch.etag}
            lean = getter.get(batch.bucket, batch.key, part.offset, part.last_byte, batch.object_size,
                              hdrs, fd, batch.path, query=batch.query)
            crc: object
            if lean is not None and lean.final:
                status, crc = lean.status, lean.crc64
            else:   # the regular path: the fallback, or the retries after the lean attempt
                status, crc = ops.get_object(transport, batch.bucket, batch.key,
                                             (part.offset, part.last_byte), hdrs,
                                             consume=functools.partial(view._write_body, part),
                                             after=lean.status if lean is not None else None)
            if not status.is_ok():
                status.error_msg = f"{status.error_msg} (part {part.number}, {result.worker})".strip()
                result.failure = status
                return
            result.done.append((part.number, PartDone(int(crc))))  # type: ignore[call-overload]


# -- the coordinator side ----------------------------------------------------------------

def fetch_missing_parts(job: "DownloadJob", executor: Executor) -> Optional[st.Status]:
    """Fetch every part ``job`` has not done through ``executor``, ``job.threads``
    batches in flight; each finished part is recorded (and checkpointed) here, then
    one part of each worker's is read back."""
    assert job.meta is not None
    safe = without_secrets(job.options)
    meta = job.meta
    by_worker: Dict[str, List[int]] = {}

    def presigned(indexes: Sequence[int]) -> RangeBatch:
        assert job.plan is not None and job.transport is not None
        expires_at = time.time() + PRESIGN_SECONDS
        query = job.transport.presign("GET", job.bucket, job.key, (), {}, PRESIGN_SECONDS)
        return RangeBatch(safe, job.bucket, job.key, job.tmp_path, meta.size, meta.etag,
                          tuple(query), expires_at, tuple(job.plan.parts[i] for i in indexes),
                          type(job))

    def record(index: int, part: PartDone, worker: str) -> None:
        job.record(index, part)
        by_worker.setdefault(worker, []).append(index)

    failure = run_batches(job, executor, fetch_batch, presigned, "ossresume-remote-download",
                          record)
    return failure or written_where_seen(job, by_worker)


def written_where_seen(job: "DownloadJob", by_worker: Dict[str, List[int]]) -> Optional[st.Status]:
    """Read back the first part each worker wrote and compare its CRC-64 with the one the
    worker reported: a worker that sees another file at the path fails the download, and
    none of its parts stays recorded (the checkpoint keeps the others)."""
    assert job.plan is not None
    first = {worker: indexes[0] for worker, indexes in by_worker.items()}
    crcs = job.crc_ranges([(i, job.plan.parts[i].offset, job.plan.parts[i].size)
                           for i in first.values()])
    strangers = [w for w, i in first.items() if crcs[i] != job.done[i].crc64]
    if not strangers:
        return None
    for worker in strangers:
        for index in by_worker[worker]:
            job.done.pop(index, None)
    worker = strangers[0]
    part = job.plan.parts[first[worker]].number
    return st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                     f"{worker} wrote part {part} of {job.tmp_path!r}, but this process reads "
                     "other bytes there: the path must be on storage every worker shares")
