"""Drives a tree's small files on an executor in batches: forms them as the walk streams,
submits them presigned, feeds idle workers the partial batch and hands each file's
result back to the engine; the files of a lost task fail, and a broken executor stops
the run.

The coordinator's side of ``remote_files`` (which runs on the workers) for
``tree_engine``: batches of up to ``tree_batches.LIMITS`` (256 files or 64 MiB), at most
``batch_slots`` of them out, so memory is O(what is in flight).  A file whose URLs
expired before its worker started it is presigned again.  The engine (a
:class:`Coordinator`) keeps the futures, records results and writes the manifest.
"""
from __future__ import annotations

import threading
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Callable, Iterable, List, Optional, Protocol, Tuple

from . import status as st
from . import tree_batches
from .executors import executor_workers
from .read_ahead import PAUSED, ReadAhead
from .remote_files import EXPIRED, presigned_batch, send_files
from .tree_batches import BatchFormer, batch_slots, idle_workers, split_evenly
from .tree_plan import LocalFile, RemoteObject
from .tree_tasks import SENDERS, SendContext, Task, TaskResult, remote_context
from .tree_types import FileOutcome

WALK_PAUSE = 0.05     # seconds without a new key after which idle workers get the partial batch

Batch = List[Tuple[LocalFile, Task]]
Triple = Tuple[Optional[LocalFile], Optional[RemoteObject], bool]


class Coordinator(Protocol):
    """What the batches need from the engine that owns them."""

    stop: threading.Event
    fatal: Optional[st.Status]

    def track(self, future: Future, need: int, what: Batch) -> None: ...

    def record_finished(self, block: bool) -> None: ...

    def record(self, local: LocalFile, result: TaskResult) -> None: ...

    def finish(self, outcome: FileOutcome) -> None: ...


class RemoteBatches:
    """The small files of one tree run on ``executor``, sent in batches."""

    def __init__(self, job: Coordinator, executor: Executor, ctx: SendContext,
                 threads: int) -> None:
        self.job = job
        self.executor = executor
        self.ctx = ctx
        self.remote_ctx = remote_context(ctx)
        self.former: BatchFormer[Tuple[LocalFile, Task]] = BatchFormer(tree_batches.LIMITS)
        self.workers = executor_workers(executor, threads)
        self.batches_out = 0

    def stream(self, triples: Iterable[Triple], one_pair: Callable[..., bool],
               close_source: Callable[[], None]) -> None:
        """The merge is read ahead by a thread, so that while the walk pauses, finished
        batches are still recorded and idle workers get the partial one."""
        ahead = ReadAhead(triples, name="ossresume-walk")
        try:
            while True:
                item = ahead.next(WALK_PAUSE)
                if item is None:
                    return
                if item is PAUSED:
                    self.job.record_finished(block=False)
                    self.send_partial()
                    continue
                local, remote, walk_done = item  # type: ignore[misc]
                if not one_pair(local, remote, walk_done):
                    return
        finally:
            ahead.stop()
            close_source()           # a reader waiting for a page sees it closed
            ahead.close()

    def add(self, local: LocalFile, task: Task) -> None:
        for batch in self.former.add((local, task), task.size):      # a delete carries no bytes
            self.submit(batch)
        self.send_partial()

    def send_partial(self, last: bool = False) -> None:
        """The partial batch, shared among the idle workers (the ``last`` one goes anyway)."""
        idle = idle_workers(self.batches_out, self.workers)
        if len(self.former) and (idle or last):
            for piece in split_evenly(self.former.flush() or [], idle):
                self.submit(piece)

    def submit(self, items: Batch) -> None:
        """Presign ``items`` and submit them as one task, once a batch slot is free."""
        job = self.job
        while self.batches_out >= batch_slots(self.workers) and not job.stop.is_set():
            job.record_finished(block=True)
        if job.stop.is_set() or job.fatal is not None:
            self._give_up(items, "cancelled" if job.stop.is_set() else "failed", job.fatal)
            return
        try:
            # another process or host: presigned requests, no credentials in the task
            batch = presigned_batch(SENDERS.get(self.ctx)[0], self.ctx, self.remote_ctx,
                                    [task for _local, task in items])
            future = self.executor.submit(send_files, batch)
        except Exception as exc:  # noqa: BLE001 - a broken pool, a pickling error
            self._give_up(items, "failed", self._lost(exc, len(items)))
            return
        self.batches_out += 1
        job.track(future, 0, items)

    def done(self, future: Future, items: Batch) -> None:
        """Record the results of a finished batch; its expired files go again."""
        self.batches_out -= 1
        try:
            results: List[TaskResult] = future.result()
            if len(results) != len(items):
                raise ValueError(f"{len(results)} results for {len(items)} files")
        except Exception as exc:  # noqa: BLE001 - a lost worker fails its batch, not the run
            status = self._lost(exc, len(items))
            results = [TaskResult(task, "failed", status) for _local, task in items]
        expired = [item for item, result in zip(items, results) if result.action == EXPIRED]
        for (local, _task), result in zip(items, results):
            if result.action != EXPIRED:
                self.job.record(local, result)
        if expired:              # started too late for their URLs: presigned again
            self.submit(expired)

    def _lost(self, exc: Exception, files: int) -> st.Status:
        """The Status of files whose task was lost; a broken executor stops the run."""
        status = st.Status(st.INTERNAL_ERROR, "WorkerLost",
                           f"a task of {files} files was lost: {type(exc).__name__}: {exc}")
        if isinstance(exc, BrokenExecutor):
            self.job.fatal = self.job.fatal or status
        return status

    def _give_up(self, items: Batch, action: str, status: Optional[st.Status]) -> None:
        for local, _task in items:
            self.job.finish(FileOutcome(local.path, local.key, local.size, action, status))
