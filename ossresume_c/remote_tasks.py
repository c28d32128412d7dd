"""Runs one transfer's missing parts as batches on an executor (SCALE §3), for both
directions: how many parts a task carries, which worker ran it, and the coordinator's
loop that submits each batch, presigns again what expired and records what came back.

The direction modules (``remote_parts`` for uploads, ``remote_ranges`` for downloads)
supply the worker function and how a batch of part indexes is presigned; everything a
worker returns is a :class:`BatchResult` of small rows.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import status as st
from .engine import PartDone, TransferJob
from .scheduler import WorkResult

EXPIRY_MARGIN = 60           # a part is not started on a URL with less than this left
MAX_PARTS_PER_TASK = 8       # a lost task costs at most this many parts again
TASKS_PER_SLOT = 4           # enough tasks that slow and fast workers even out

Query = Tuple[Tuple[str, Optional[str]], ...]
Recorder = Callable[[int, PartDone, str], None]      # (part index, what finished, worker)


def parts_per_task(todo: int, slots: int) -> int:
    """How many parts one task carries: ``TASKS_PER_SLOT`` tasks per slot in flight
    when there are parts enough, never more than ``MAX_PARTS_PER_TASK``, at least 1."""
    if todo <= 0:
        return 1
    return max(1, min(MAX_PARTS_PER_TASK, todo // (max(1, slots) * TASKS_PER_SLOT)))


def expiring(expires_at: float) -> bool:
    """A URL expiring at ``expires_at`` (epoch seconds) is too close to its end to start on."""
    return time.time() >= expires_at - EXPIRY_MARGIN


@dataclass
class BatchResult:
    """``done``: ``(part number, PartDone)``; ``expired``: part numbers not transferred
    because their URL was about to expire; ``failure`` stops the transfer."""

    worker: str
    done: List[Tuple[int, PartDone]] = field(default_factory=list)
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


def on_open_file(path: str, flags: int, work: Callable[[int, BatchResult], None]) -> BatchResult:
    """Worker: open ``path`` (``os.open`` flags), run ``work(fd, result)`` and close it.
    Never raises: a file this worker cannot open, and a bug, are the result's ``failure``,
    naming this worker."""
    result = BatchResult(worker_name())
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        result.failure = cannot_open(result.worker, path, exc)
        return result
    try:
        work(fd, result)
    except Exception as exc:  # noqa: BLE001 - a bug must come back as a Status, not a lost task
        result.failure = internal_error(result.worker, exc)
    finally:
        os.close(fd)
    return result


def cannot_open(worker: str, path: str, exc: OSError) -> st.Status:
    """A worker that cannot open the transfer's file: the files must be at the same
    path on every worker (shared storage)."""
    return st.Status(exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                     f"{worker} cannot open {path!r}: {exc.strerror or exc}")


def internal_error(worker: str, exc: BaseException) -> st.Status:
    """A bug on a worker comes back as a Status, not as a lost task."""
    return st.Status(st.INTERNAL_ERROR, "InternalError", f"{worker}: {exc!r}")


# -- the coordinator side ----------------------------------------------------------------

def run_batches(job: TransferJob, executor: Executor, task: Callable[[Any], BatchResult],
                presign: Callable[[Sequence[int]], Any], name: str,
                record: Optional[Recorder] = None) -> Optional[st.Status]:
    """Run ``task`` on ``executor`` for batches of the parts ``job`` has not done,
    ``job.threads`` batches in flight; ``presign(indexes)`` makes a batch's task
    argument (again for parts that came back expired).  Each finished part is
    recorded here, in the caller's process (``record``, default ``job.record``)."""
    assert job.plan is not None
    todo = [p.index for p in job.plan.parts if p.index not in job.done]
    per = parts_per_task(len(todo), job.threads)
    batches = [todo[i:i + per] for i in range(0, len(todo), per)]
    recorder: Recorder = record or (lambda index, part, _worker: job.record(index, part))

    def work(b: int) -> WorkResult:
        remaining = list(batches[b])
        done: List[Tuple[int, PartDone, str]] = []
        while remaining:
            if job.cancel.is_set():
                return None, done
            try:
                result: BatchResult = executor.submit(task, presign(remaining)).result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, a broken pool, a pickling error
                return st.Status(st.INTERNAL_ERROR, "WorkerLost",
                                 f"a task of parts {remaining[0] + 1}..{remaining[-1] + 1} "
                                 f"failed: {type(exc).__name__}: {exc}"), None
            done.extend((n - 1, part, result.worker) for n, part in result.done)
            if result.failure is not None:
                return result.failure, None
            remaining = [n - 1 for n in result.expired]
        return None, done

    def record_batch(_b: int, done: List[Tuple[int, PartDone, str]]) -> None:
        for index, part, worker in done:
            recorder(index, part, worker)

    return job.run_parts(work, name, units=range(len(batches)), record=record_batch)
