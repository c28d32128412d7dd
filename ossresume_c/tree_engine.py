"""The streaming tree engine behind ``upload_tree`` and ``ossresume sync``.

Steps, as :meth:`TreeJob.run` takes them:

1. *Lock the manifest* — before any request; another running sync on it is an error.
2. *Walk* the tree lazily in key order (``tree_walk``) while one thread *lists* the
   destination prefix a page ahead (``tree_listing``: ListObjectsV2, 1,000 keys a page).
3. *Decide* per key from the merged walk and listing plus the manifest row
   (``tree_plan.merge`` / ``tree_plan.decide``): skip with no request, HEAD + CRC-64,
   upload, delete.
4. *Send*: one-part files as tasks (``tree_tasks``: one PutObject each) on this
   process's threads, never more than ``threads`` requests in flight; on an
   executor, in batches formed as the walk streams (``tree_remote``: up to 256 files
   or 64 MiB a task, presigned, sent by ``remote_files`` on a few threads per
   worker), at most two batches per worker out, so memory is O(what is in flight);
   bigger files through the resumable engine with their checkpoints (``tree_big``).
5. *Record*, in the calling thread: manifest rows (batched commits), the summary,
   ``on_file`` and ``progress``.

Ctrl-C (or ``cancel``) stops starting files at once; running ones finish or keep
their checkpoints, the manifest is committed and :class:`TreeInterrupted` carries
the summary.  The first refusal of the credentials or the bucket stops the run.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Callable, Dict, Iterator, Optional, Tuple, Union

from . import status as st
from .config import RequestOptions
from .layout import plan_parts
from .manifest import Manifest
from .transport import Transport
from .tree_plan import (DELETE, KEEP, SKIP, UPLOAD, KeyFilter, LocalFile, ManifestRow, OrderError,
                        RemoteObject, decide, may_delete, merge, ordered)
from .tree_big import BigFiles
from .tree_listing import Listing
from .tree_remote import Batch, RemoteBatches
from .tree_tasks import DELETE, PUT, SENDERS, VERIFY, SendContext, Task, TaskResult, run_task
from .tree_walk import walk_tree
from .tree_types import FileOutcome, TreeInterrupted, TreeSummary

log = logging.getLogger("ossresume_c")

# Errors that every other file would hit as well: stop instead of repeating them.
_FATAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket",
                "BucketNameInvalidError"}
_PROBLEM_CODES = {"InvalidArgument": st.INVALID_ARGUMENT, "FileChanged": st.INCONSISTENT_ERROR,
                  "OpenFileFail": st.OPEN_FILE_ERROR}


class TreeJob:
    """One run over a tree: walks, decides per key, sends (here, on the executor's
    batches or through the resumable engine) and records."""

    def __init__(self, options: RequestOptions, root: str, bucket: str, prefix: str, *,
                 part_size: int, threads: int, cp_dir: Optional[str], headers: Dict[str, str],
                 manifest_path: Optional[str], checksum: bool = False, delete: bool = False,
                 dry_run: bool = False, key_filter: Optional[KeyFilter] = None,
                 follow_symlinks: bool = False, skip_dirs: Tuple[str, ...] = (),
                 executor: Optional[Executor] = None, keep_keys: bool = True,
                 progress: Optional[Callable[[int, int], object]] = None,
                 on_file: Optional[Callable[[FileOutcome], object]] = None,
                 cancel: Optional[threading.Event] = None, verify: str = "sample") -> None:
        self.options = options
        self.verify = verify
        self.root = root
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.threads = threads
        self.cp_dir = cp_dir
        self.headers = headers
        self.manifest_path = manifest_path
        self.checksum = checksum
        self.delete = delete
        self.dry_run = dry_run
        self.key_filter = key_filter or KeyFilter()
        self.follow_symlinks = follow_symlinks
        self.skip_dirs = skip_dirs
        self.executor = executor
        self.progress = progress
        self.on_file = on_file
        self.stop = cancel or threading.Event()
        self.summary = TreeSummary(keep_keys=keep_keys)
        self.ctx = SendContext(options, bucket, tuple(headers.items()), threads, dry_run)
        self.events: "queue.Queue[Tuple[str, object]]" = queue.Queue()
        self.inflight: Dict[Future, Tuple[int, Union[LocalFile, Batch]]] = {}
        self.in_use = 0
        self.big = BigFiles(self.ctx, part_size, cp_dir, executor, verify, self.stop,
                            lambda nbytes: self.events.put(("bytes", nbytes)))
        self.remote = RemoteBatches(self, executor, self.ctx, threads) \
            if executor is not None else None
        self.consumed = 0
        self.total = 0
        self.fatal: Optional[st.Status] = None
        self.manifest: Optional[Manifest] = None

    # -- the steps -------------------------------------------------------------------
    def run(self) -> TreeSummary:
        started = time.monotonic()
        transport = Transport(self.options, pool_size=self.threads + 2, cancel=self.stop)
        try:
            if self.manifest_path:
                self.manifest = Manifest(self.manifest_path)               # 1. lock
        except BaseException:
            transport.close()
            raise
        listing = Listing(transport, self.bucket, self.prefix, self.key_filter, self.stop)
        local_pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ossresume-tree")
        interrupted = False
        try:
            try:
                self._decide_and_send(listing, local_pool)                 # 2-4
                self._drain()                                               # 5 (the rest)
            except KeyboardInterrupt:
                interrupted = True
                self.stop.set()
                self._drain()
        finally:
            listing.close()
            local_pool.shutdown(wait=True)
            SENDERS.release(self.ctx)
            transport.close()
            if self.manifest is not None:
                self.manifest.close()
            self.summary.list_pages = listing.pages
            self.summary.requests += listing.pages
            self.summary.seconds = time.monotonic() - started
        if interrupted:
            raise TreeInterrupted(self.summary)
        return self.summary

    def _decide_and_send(self, listing: Listing, local_pool: ThreadPoolExecutor) -> None:
        walked = _Tracked(walk_tree(self.root, self.prefix, follow_symlinks=self.follow_symlinks,
                                    key_filter=self.key_filter, skip_dirs=self.skip_dirs))
        try:
            pairs = merge(ordered(walked, "walk"), ordered(listing, "listing"))
            if self.executor is None:
                for local, remote in pairs:
                    if not self._one_pair(local, remote, walked.done, listing, local_pool):
                        break
            else:
                assert self.remote is not None
                self.remote.stream(((lo, ro, walked.done) for lo, ro in pairs),
                                   lambda lo, ro, done: self._one_pair(lo, ro, done, listing,
                                                                       local_pool),
                                   listing.close)
        except OrderError as exc:
            self.fatal = self.summary.error = st.Status(st.INTERNAL_ERROR, "ListingOrder", str(exc))
        if listing.error is not None and self.summary.error is None:
            self.summary.error = listing.error

    def _one_pair(self, local: Optional[LocalFile], remote: Optional[RemoteObject],
                  walk_done: bool, listing: Listing, local_pool: ThreadPoolExecutor) -> bool:
        self.record_finished(block=False)
        if listing.error is not None and self.fatal is None:
            self.fatal = listing.error
        if local is None and walk_done and not self.delete:
            return False                         # the rest of the listing cannot matter
        if self.stop.is_set():
            if local is not None:
                self.finish(FileOutcome(local.path, local.key, local.size, "cancelled"))
            return False
        self._one_key(local, remote, local_pool)
        return True

    def _one_key(self, local: Optional[LocalFile], remote: Optional[RemoteObject],
                 local_pool: ThreadPoolExecutor) -> None:
        if local is not None and local.note:
            log.info("skipping %s: %s", local.path, local.note)
            self.finish(FileOutcome(local.path, local.key, 0, "noted", None, local.note))
            return
        if local is not None and local.problem:
            code, message = local.problem
            self.finish(FileOutcome(local.path, local.key, local.size, "failed",
                                    st.Status(_PROBLEM_CODES.get(code, st.INVALID_ARGUMENT), code,
                                              message)))
            return
        if self.fatal is not None:
            if local is not None:
                self.finish(FileOutcome(local.path, local.key, local.size, "failed", self.fatal))
            return
        row = None
        if self.manifest is not None and local is not None and remote is not None \
                and remote.size == local.size and not self.checksum:
            row = self.manifest.get(local.key)
        action = decide(local, remote, row, self.checksum, self.delete)
        if action == KEEP:
            return
        if action == SKIP:
            assert local is not None
            self.finish(FileOutcome(local.path, local.key, local.size, "skipped"))
            return
        if action == DELETE:
            assert remote is not None
            if not may_delete(remote.key, self.prefix):
                return
            gone = LocalFile(remote.key, "", remote.size)
            if self.dry_run:
                self.finish(FileOutcome("", remote.key, remote.size, "would-delete"))
                return
            self._send_small(local_pool, gone, Task(DELETE, remote.key))
            return
        assert local is not None
        self.total += local.size
        parts = max(1, plan_parts(local.size, self.part_size).count)
        if parts <= 1 and not self.big.has_checkpoint(local):
            kind = PUT if action == UPLOAD else VERIFY
            self._send_small(local_pool, local, Task(kind, local.key, local.path, local.size))
        else:
            # a big file takes at most 3/4 of the slots, so that small files keep flowing
            need = min(self.threads - self.threads // 4, parts)
            self._submit(local_pool, need, local, (action, need))

    def _submit(self, executor: Executor, need: int, local: LocalFile, work: object) -> None:
        while self.in_use + need > self.threads:
            self.record_finished(block=True)
            self._send_partial()             # small files must not wait behind a big one
            if self.stop.is_set():
                self.finish(FileOutcome(local.path, local.key, local.size, "cancelled"))
                return
        if isinstance(work, Task):
            future = executor.submit(run_task, self.ctx, work)
        else:
            big: Tuple[str, int] = work  # type: ignore[assignment]
            future = executor.submit(self.big.send, local, big[0], big[1])
        self.in_use += need
        self.track(future, need, local)

    def track(self, future: Future, need: int, what: Union[LocalFile, Batch]) -> None:
        """Keep ``future`` (holding ``need`` slots for ``what``) until its event is handled."""
        self.inflight[future] = (need, what)
        future.add_done_callback(lambda f: self.events.put(("done", f)))

    def _send_small(self, local_pool: ThreadPoolExecutor, local: LocalFile, task: Task) -> None:
        if self.remote is None:
            self._submit(local_pool, 1, local, task)
        else:
            self.remote.add(local, task)

    def _send_partial(self, last: bool = False) -> None:
        if self.remote is not None:
            self.remote.send_partial(last)

    # -- record ---------------------------------------------------------------------------
    def record_finished(self, block: bool) -> None:
        """Handle the events that are there (and with ``block``, wait up to 0.2 s for one:
        short enough for Ctrl-C to be seen at once)."""
        try:
            kind, payload = self.events.get(timeout=0.2) if block else self.events.get_nowait()
        except queue.Empty:
            return
        while True:
            if kind == "bytes":
                self._advance(int(payload))  # type: ignore[call-overload]
            else:
                self._task_done(payload)  # type: ignore[arg-type]
            try:
                kind, payload = self.events.get_nowait()
            except queue.Empty:
                return

    def _drain(self) -> None:
        self._send_partial(last=True)
        while self.inflight:
            self.record_finished(block=True)
            for future in [f for f in self.inflight if f.done()]:   # events lost to a Ctrl-C
                self._task_done(future)
        self.record_finished(block=False)

    def _task_done(self, future: Future) -> None:
        if future not in self.inflight:
            return
        need, what = self.inflight.pop(future)
        if isinstance(what, list):
            assert self.remote is not None
            self.remote.done(future, what)
            return
        local = what
        self.in_use -= need
        try:
            result: TaskResult = future.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker fails its file, not the run
            result = TaskResult(Task("?", local.key), "failed",
                                st.Status(st.INTERNAL_ERROR, "InternalError", repr(exc)))
        self.record(local, result)

    def record(self, local: LocalFile, result: TaskResult) -> None:
        """The coordinator alone writes the manifest: rows for confirmed objects only."""
        self.summary.requests += result.requests
        if result.action in ("uploaded", "skipped") and self.manifest is not None \
                and result.etag and result.crc64 is not None:
            self.manifest.record(ManifestRow(local.key, result.size, result.mtime_ns, result.crc64,
                                             result.etag))
        if result.action == "deleted" and self.manifest is not None:
            self.manifest.forget([local.key])
        if result.action == "uploaded" and result.task.kind != "big":
            self._advance(local.size)
        if result.action == "failed" and _is_fatal(result.status):
            self.fatal = self.fatal or result.status
        self.finish(FileOutcome(local.path, local.key, local.size, result.action,
                                 result.status if result.action != "would-upload" else None))

    def _advance(self, nbytes: int) -> None:
        self.consumed = min(self.total, self.consumed + max(0, nbytes))
        if self.progress is not None:
            self.progress(self.consumed, self.total)

    def finish(self, outcome: FileOutcome) -> None:
        self.summary.add(outcome)
        if self.on_file is not None:
            self.on_file(outcome)


class _Tracked:
    """An iterator that says when it has ended."""

    def __init__(self, it: Iterator[LocalFile]) -> None:
        self.it = it
        self.done = False

    def __iter__(self) -> Iterator[LocalFile]:
        yield from self.it
        self.done = True


def _is_fatal(status: st.Status) -> bool:
    """An error every other file would hit too (no connection, bad credentials,
    no such bucket): the remaining files are not tried."""
    return status.code in (st.HTTP_IO_ERROR, st.REQUEST_TIMEOUT, 401, 403) \
        or status.error_code in _FATAL_CODES
