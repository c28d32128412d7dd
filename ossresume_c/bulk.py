"""Upload a directory tree: ``upload_tree(options, local_dir, bucket, prefix)``.

Design (one global limit of ``threads`` requests in flight):

1. *Check.*  Every file is compared with the object already at its key: HEAD,
   and when the sizes match, the CRC-64 of the local file against the
   object's ``x-oss-hash-crc64ecma``.  Equal files are skipped, so a re-run
   after a crash or Ctrl-C only sends what is missing (file-level resume).
   The checks run ``threads`` at a time.
2. *Upload.*  A pool of ``threads`` slots.  Files are started in path order;
   a file of at most one part takes one slot and goes as a single PutObject
   (all such files share one HTTP connection pool); a bigger file takes
   ``min(threads, its part count)`` slots and runs ``resumable_upload_file``
   with that many threads, with its checkpoint in ``checkpoint_dir``.  A file
   waits until its slots are free, so the requests in flight never exceed
   ``threads``, and a big file is never starved by the small ones behind it.

Interruption: KeyboardInterrupt in the calling thread (or ``cancel.set()``)
stops starting files and cancels the running ones after their in-flight parts
(their checkpoints are kept); the KeyboardInterrupt is then re-raised as
:class:`TreeInterrupted`, which carries the partial summary.
"""
from __future__ import annotations

import logging
import os
import stat as stat_mod
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional

from . import native, ops
from . import status as st
from .checkpoint_file import as_directory, checkpoint_location
from .config import RequestOptions
from .layout import plan_parts
from .params import ResumableCltParams, create_resumable_clt_params
from .put_file import put_file
from .transport import Transport

log = logging.getLogger("ossresume_c")

TreeProgress = Callable[[int, int], object]

# Errors that every other file would hit as well: stop instead of repeating them.
_FATAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket",
                "BucketNameInvalidError"}


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: str
    key: str
    size: int
    action: str                       # "uploaded", "skipped", "failed", "cancelled"
    status: Optional[st.Status] = None


@dataclass
class TreeSummary:
    """Result of :func:`upload_tree`.  ``failed`` maps keys to their Status."""

    uploaded: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, st.Status] = field(default_factory=dict)
    cancelled: List[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    seconds: float = 0.0
    files: List[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def __str__(self) -> str:
        text = (f"{len(self.uploaded)} uploaded ({self.bytes_uploaded} bytes), "
                f"{len(self.skipped)} skipped as already there, {len(self.failed)} failed")
        if self.cancelled:
            text += f", {len(self.cancelled)} interrupted or not started"
        return text + f" in {self.seconds:.2f} s"


class TreeInterrupted(KeyboardInterrupt):
    """KeyboardInterrupt raised by :func:`upload_tree` once every running file
    has stopped and written its checkpoint; ``summary`` says what was done."""

    def __init__(self, summary: TreeSummary) -> None:
        super().__init__("upload_tree interrupted")
        self.summary = summary


class _Stop(Exception):
    """Raised from a file's progress callback to cancel it."""


@dataclass
class _Item:
    path: str
    key: str
    size: int
    parts: int = 1


def default_checkpoint_dir() -> str:
    """``$OSSRESUME_CHECKPOINT_DIR``, else ``$XDG_CACHE_HOME/ossresume/checkpoints``
    (``~/.cache/...``): outside the tree being uploaded."""
    explicit = os.environ.get("OSSRESUME_CHECKPOINT_DIR")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ossresume", "checkpoints")


def tree_key(local_dir: str, path: str, prefix: str) -> str:
    """The object key of ``path``: ``prefix`` + its path relative to ``local_dir``
    with ``/`` separators."""
    rel = os.path.relpath(path, local_dir)
    parts = rel.split(os.sep)
    if os.altsep:
        parts = [p for piece in parts for p in piece.split(os.altsep)]
    return normalize_prefix(prefix) + "/".join(parts)


def normalize_prefix(prefix: str) -> str:
    """``"dir"`` and ``"dir/"`` both mean the folder ``dir/``; ``""`` is the bucket's top."""
    prefix = (prefix or "").lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def upload_tree(options: RequestOptions, local_dir: str, bucket: str, prefix: str = "",
                part_size: int = 0, threads: int = 8, *,
                enable_checkpoint: bool = True, checkpoint_dir: Optional[str] = None,
                headers: Optional[Mapping[str, str]] = None,
                progress: Optional[TreeProgress] = None,
                on_file: Optional[Callable[[FileOutcome], object]] = None,
                cancel: Optional[threading.Event] = None) -> TreeSummary:
    """Upload every regular file under ``local_dir`` to ``bucket`` at
    ``prefix`` + relative path, ``threads`` requests at a time overall.

    Files whose object already has the same size and CRC-64 are skipped.
    ``progress(consumed, total)`` counts the bytes of the files being uploaded
    (restored parts included); it and ``on_file(outcome)`` are called from
    worker threads, one call at a time.  Never raises for OSS, network or file
    errors: they are in ``summary.failed``.
    """
    if not isinstance(options, RequestOptions):
        raise TypeError("options must come from request_options_create()")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    create_resumable_clt_params(part_size, 1, False, None)  # same argument rules as single files
    root = os.path.abspath(os.fspath(local_dir))
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{local_dir!r} is not a directory")
    cp_dir: Optional[str] = None
    if enable_checkpoint:
        cp_dir = os.path.abspath(checkpoint_dir or default_checkpoint_dir())
    job = _TreeJob(options, root, bucket, prefix, part_size, threads, cp_dir, dict(headers or {}),
                   progress, on_file, cancel or threading.Event())
    return job.run()


class _Slots:
    """A counting semaphore whose holders take several units at once."""

    def __init__(self, total: int) -> None:
        self.free = total
        self.cond = threading.Condition()

    def acquire(self, n: int, stop: threading.Event) -> bool:
        with self.cond:
            while self.free < n:
                if stop.is_set():
                    return False
                self.cond.wait(0.2)
            if stop.is_set():
                return False
            self.free -= n
            return True

    def release(self, n: int) -> None:
        with self.cond:
            self.free += n
            self.cond.notify_all()


class _TreeJob:
    def __init__(self, options: RequestOptions, root: str, bucket: str, prefix: str, part_size: int,
                 threads: int, cp_dir: Optional[str], headers: Dict[str, str],
                 progress: Optional[TreeProgress], on_file: Optional[Callable[[FileOutcome], object]],
                 cancel: threading.Event) -> None:
        self.options = options
        self.root = root
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.threads = threads
        self.cp_dir = cp_dir
        self.headers = headers
        self.progress = progress
        self.on_file = on_file
        self.stop = cancel
        self.summary = TreeSummary()
        self.lock = threading.Lock()
        self.total = 0
        self.consumed = 0
        self.fatal: Optional[st.Status] = None

    # -- driver ---------------------------------------------------------------
    def run(self) -> TreeSummary:
        started = time.monotonic()
        items = self._collect()
        transport = Transport(self.options, pool_size=self.threads + 2, cancel=self.stop)
        try:
            try:
                todo = self._check_all(transport, items)
                self.total = sum(i.size for i in todo)
                self._upload_all(transport, todo)
            except KeyboardInterrupt:
                self.summary.seconds = time.monotonic() - started
                raise TreeInterrupted(self.summary) from None
        finally:
            transport.close()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _collect(self) -> List[_Item]:
        items: List[_Item] = []
        skip_dir = self.cp_dir if self.cp_dir and _inside(self.cp_dir, self.root) else None
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            if skip_dir:
                dirnames[:] = [d for d in dirnames
                               if os.path.abspath(os.path.join(dirpath, d)) != skip_dir]
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                key = tree_key(self.root, path, self.prefix)
                try:
                    info = os.stat(path)
                except OSError as exc:
                    self._finish(FileOutcome(path, key, 0, "failed", st.Status(
                        exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                        f"cannot stat {path!r}: {exc.strerror or exc}")))
                    continue
                if not stat_mod.S_ISREG(info.st_mode):
                    log.info("skipping %s: not a regular file", path)
                    continue
                items.append(_Item(path, key, info.st_size,
                                   max(1, plan_parts(info.st_size, self.part_size).count)))
        return items

    # -- step 1: what is already there ----------------------------------------
    def _check_all(self, transport: Transport, items: List[_Item]) -> List[_Item]:
        if not items:
            return []
        todo: List[_Item] = []
        with ThreadPoolExecutor(min(self.threads, len(items)), thread_name_prefix="ossresume-check") as pool:
            futures = [pool.submit(self._check_one, transport, item) for item in items]
            try:
                _wait_all(futures)
            except KeyboardInterrupt:
                self.stop.set()
                _wait_all(futures)
                raise
        for item, fut in zip(items, futures):
            verdict = fut.result()
            if verdict == "upload":
                todo.append(item)
            elif verdict == "cancelled":
                self._finish(FileOutcome(item.path, item.key, item.size, "cancelled"))
        return todo

    def _check_one(self, transport: Transport, item: _Item) -> str:
        """"skip", "upload", "failed" (already recorded) or "cancelled"."""
        if self.stop.is_set():
            return "cancelled"
        if self.fatal is not None:
            self._finish(FileOutcome(item.path, item.key, item.size, "failed", self.fatal))
            return "failed"
        status, meta = ops.head_object(transport, self.bucket, item.key)
        if not status.is_ok():
            if status.code == 404 and status.error_code != "NoSuchBucket":
                return "upload"
            if _is_fatal(status):
                self.fatal = self.fatal or status
            self._finish(FileOutcome(item.path, item.key, item.size, "failed", status))
            return "failed"
        if meta is None or meta.size != item.size or meta.crc64 is None:
            return "upload"
        try:
            fd = os.open(item.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            self._finish(FileOutcome(item.path, item.key, item.size, "failed", st.Status(
                exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                f"cannot open {item.path!r}: {exc.strerror or exc}")))
            return "failed"
        try:
            got, crc = native.crc64_file_range(fd, 0, item.size)
        finally:
            os.close(fd)
        if got == item.size and crc == meta.crc64:
            self._finish(FileOutcome(item.path, item.key, item.size, "skipped", status))
            return "skip"
        return "upload"

    # -- step 2: uploads under the slot limit ----------------------------------
    def _upload_all(self, transport: Transport, todo: List[_Item]) -> None:
        if not todo:
            return
        slots = _Slots(self.threads)
        futures: List[Future] = []
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ossresume-tree")
        try:
            try:
                for n, item in enumerate(todo):
                    need = min(self.threads, item.parts)
                    if self.fatal is not None or not slots.acquire(need, self.stop):
                        for rest in todo[n:]:
                            self._finish(FileOutcome(rest.path, rest.key, rest.size, "cancelled")
                                         if self.fatal is None else
                                         FileOutcome(rest.path, rest.key, rest.size, "failed", self.fatal))
                        break
                    futures.append(pool.submit(self._upload_one, transport, item, need, slots))
                _wait_all(futures)
            except KeyboardInterrupt:
                self.stop.set()
                started = len(futures)
                for rest in todo[started:]:
                    self._finish(FileOutcome(rest.path, rest.key, rest.size, "cancelled"))
                _wait_all(futures)
                raise
        finally:
            pool.shutdown(wait=True)

    def _upload_one(self, transport: Transport, item: _Item, need: int, slots: _Slots) -> None:
        try:
            if self.stop.is_set():
                self._finish(FileOutcome(item.path, item.key, item.size, "cancelled"))
                return
            if item.parts <= 1 and not self._has_checkpoint(item):
                status = self._put_small(transport, item)
            else:
                status = self._upload_big(item, need)
            if status.is_ok():
                outcome = FileOutcome(item.path, item.key, item.size, "uploaded", status)
            elif status.code == st.ABORT_CALLBACK and self.stop.is_set():
                outcome = FileOutcome(item.path, item.key, item.size, "cancelled", status)
            else:
                outcome = FileOutcome(item.path, item.key, item.size, "failed", status)
                if _is_fatal(status):
                    self.fatal = self.fatal or status
            self._finish(outcome)
        except Exception as exc:  # noqa: BLE001 - one file's bug must not lose the others' results
            log.exception("uploading %s failed unexpectedly", item.path)
            self._finish(FileOutcome(item.path, item.key, item.size, "failed",
                                     st.Status(st.INTERNAL_ERROR, "InternalError", repr(exc))))
        finally:
            slots.release(need)

    def _has_checkpoint(self, item: _Item) -> bool:
        """A file that shrank to one part may have a multipart checkpoint to clean up:
        the engine does that, so such files go through it."""
        path = checkpoint_location(self._clt_params(1), item.path, self.bucket, item.key, ".ucp")
        return path is not None and os.path.exists(path)

    def _clt_params(self, threads: int) -> ResumableCltParams:
        """A file's parameters: its checkpoint is a file in the tree's checkpoint directory."""
        cp_dir = as_directory(self.cp_dir) if self.cp_dir is not None else None
        return create_resumable_clt_params(self.part_size, threads, cp_dir is not None, cp_dir)

    def _put_small(self, transport: Transport, item: _Item) -> st.Status:
        status, sent = put_file(transport, self.bucket, item.key, item.path, self.headers)
        if sent is not None:
            self._advance(sent.size)
        return status

    def _upload_big(self, item: _Item, need: int) -> st.Status:
        from .upload import resumable_upload_file
        seen = [0]

        def on_progress(consumed: int, total: int) -> None:
            if self.stop.is_set() and consumed < total:
                raise _Stop("upload_tree was interrupted")
            self._advance(consumed - seen[0])
            seen[0] = consumed

        status = resumable_upload_file(self.options, self.bucket, item.key, item.path,
                                       dict(self.headers), None, self._clt_params(need), on_progress)
        if status.is_ok() and seen[0] < item.size:
            self._advance(item.size - seen[0])
        return status

    # -- bookkeeping ------------------------------------------------------------
    def _advance(self, nbytes: int) -> None:
        with self.lock:
            self.consumed = min(self.total, self.consumed + max(0, nbytes))
            if self.progress is not None:
                self.progress(self.consumed, self.total)

    def _finish(self, outcome: FileOutcome) -> None:
        with self.lock:
            s = self.summary
            s.files.append(outcome)
            if outcome.action == "uploaded":
                s.uploaded.append(outcome.key)
                s.bytes_uploaded += outcome.size
            elif outcome.action == "skipped":
                s.skipped.append(outcome.key)
                s.bytes_skipped += outcome.size
            elif outcome.action == "cancelled":
                s.cancelled.append(outcome.key)
            else:
                s.failed[outcome.key] = outcome.status or st.Status(st.INTERNAL_ERROR, "InternalError")
            if self.on_file is not None:
                self.on_file(outcome)


def _is_fatal(status: st.Status) -> bool:
    """An error every other file would hit too (no connection, bad credentials,
    no such bucket): the remaining files are not tried."""
    return status.code in (st.HTTP_IO_ERROR, st.REQUEST_TIMEOUT, 401, 403) \
        or status.error_code in _FATAL_CODES


def _inside(path: str, root: str) -> bool:
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _wait_all(futures: List[Future]) -> None:
    """Wait in short steps so that KeyboardInterrupt reaches the calling thread."""
    pending = set(futures)
    while pending:
        _done, pending = wait(pending, timeout=0.2)
