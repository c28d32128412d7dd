"""Sends batches of a tree's small files from other processes or hosts (SCALE §3): the
coordinator presigns, a worker sends the batch on a few threads, the coordinator records.

A :class:`FileBatch` is one executor task: up to ``tree_batches.MAX_FILES`` tree tasks
(PutObject, HEAD + CRC-64 then PutObject, DeleteObject), each with its requests
presigned (V4 query signing, :data:`presigned.PRESIGN_SECONDS`), and a context that
holds no credential.  A worker (:func:`send_files`) runs the files ``FILES_AT_ONCE`` at
a time on threads that live as long as its process, so their kept-alive connections
(``small_put``) serve batch after batch, and returns one small :class:`TaskResult` per
file, in the batch's order: action, Status (no reply headers), size, mtime, CRC-64,
ETag; a failure names the worker.  A file whose URLs would expire before it starts comes back ``expired``, unsent,
for the coordinator to presign again.  Only the coordinator writes the manifest.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from . import status as st
from .presigned import PRESIGN_SECONDS
from .remote_tasks import EXPIRY_MARGIN, worker_name
from .transport import Transport
from .tree_batches import still_fresh
from .tree_tasks import SendContext, Task, TaskResult, presigned_task, run_task

EXPIRED = "expired"          # TaskResult.action of a file not started: its URLs were too old
FILES_AT_ONCE = 8            # files a worker sends at once per process (presigned pool: 8)


@dataclass(frozen=True)
class FileBatch:
    ctx: SendContext             # without credentials (``tree_tasks.remote_context``)
    tasks: Tuple[Task, ...]      # presigned (``tree_tasks.presigned_task``)
    expires_at: float            # epoch seconds; every URL of the batch lives at least this long


# -- the worker side --------------------------------------------------------------------

_POOLS: Dict[Tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _threads(count: int) -> ThreadPoolExecutor:
    """This process's sending threads (made again in a forked child, which has none)."""
    ident = (os.getpid(), count)
    with _POOLS_LOCK:
        pool = _POOLS.get(ident)
        if pool is None:
            pool = _POOLS[ident] = ThreadPoolExecutor(count, thread_name_prefix="ossresume-files")
        return pool


def send_files(batch: FileBatch) -> List[TaskResult]:
    """Worker: send every file of ``batch``, ``FILES_AT_ONCE`` at a time (each thread
    takes the next file when it is done); one result per task, in order.  Never raises
    for OSS, network or file errors (they are the results' Statuses, naming this worker)."""
    where = worker_name()

    def one(task: Task) -> TaskResult:
        if not still_fresh(batch.expires_at, time.time(), EXPIRY_MARGIN):
            return TaskResult(_bare(task), EXPIRED, st.Status(0))
        return _small(run_task(batch.ctx, task), where)

    todo = iter(enumerate(batch.tasks))
    lock = threading.Lock()
    found: Dict[int, TaskResult] = {}

    def drain() -> None:
        """One sending thread: the batch's next file until none is left."""
        while True:
            with lock:
                nxt = next(todo, None)
            if nxt is None:
                return
            found[nxt[0]] = one(nxt[1])

    count = max(1, min(FILES_AT_ONCE, batch.ctx.pool_size))
    threads = [_threads(count).submit(drain) for _ in range(min(count, len(batch.tasks)))]
    wait(threads)                     # all of them, even when one has failed
    for thread in threads:
        thread.result()
    return [found[i] for i in range(len(batch.tasks))]


def _bare(task: Task) -> Task:
    return Task(task.kind, task.key, task.path, task.size)


def _small(result: TaskResult, where: str) -> TaskResult:
    """``result`` (made for this call) without what the coordinator does not need
    back: the presigned queries and the reply's headers and body."""
    s = result.status
    message = s.error_msg
    if result.action == "failed":             # say which machine had it
        message = f"{message} (on {where})".lstrip()
    result.task = _bare(result.task)
    result.status = st.Status(s.code, s.error_code, message, s.req_id)
    return result


# -- the coordinator side ----------------------------------------------------------------

def presigned_batch(transport: Transport, ctx: SendContext, remote_ctx: SendContext,
                    tasks: Sequence[Task]) -> FileBatch:
    """The task that sends ``tasks`` from a worker: their requests presigned by
    ``transport`` (the coordinator's), run with ``remote_ctx`` (no credentials)."""
    expires_at = time.time() + PRESIGN_SECONDS
    return FileBatch(remote_ctx, tuple(presigned_task(transport, ctx, t) for t in tasks),
                     expires_at)
