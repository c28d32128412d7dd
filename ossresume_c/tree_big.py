"""Sends a tree's big files (and one-part files with a checkpoint to clean up) through
the resumable engine, each with its checkpoint in the tree's checkpoint directory.

A file the listing shows at the same size is HEAD-ed first and skipped when its
CRC-64 matches.  Progress goes to the engine as byte counts; a set ``stop`` cancels
the upload at its next part, keeping its checkpoint.  On an executor the parts go
there too (presigned, ``remote_parts``).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Executor
from typing import Callable, Optional

from . import ops
from . import status as st
from .checkpoint_file import as_directory, checkpoint_location
from .params import ResumableCltParams, create_resumable_clt_params
from .tree_plan import UPLOAD, LocalFile
from .tree_tasks import SENDERS, SendContext, Task, TaskResult, file_crc


class Stop(Exception):
    """Raised from a big file's progress callback to cancel it."""


class BigFiles:
    """The big files of one tree run."""

    def __init__(self, ctx: SendContext, part_size: int, cp_dir: Optional[str],
                 executor: Optional[Executor], verify: str, stop: threading.Event,
                 report_bytes: Callable[[int], None]) -> None:
        self.ctx = ctx
        self.part_size = part_size
        self.cp_dir = cp_dir
        self.executor = executor
        self.verify = verify
        self.stop = stop
        self.report_bytes = report_bytes

    def send(self, local: LocalFile, action: str, threads: int) -> TaskResult:
        """Upload ``local`` (after HEAD + CRC-64 unless ``action`` is an upload) on
        ``threads`` threads; the result carries the ETag only if the file did not change."""
        task = Task("big", local.key, local.path, local.size)
        transport, _putter = SENDERS.get(self.ctx)
        requests = 0
        if action != UPLOAD:
            status, meta = ops.head_object(transport, self.ctx.bucket, local.key)
            requests += 1
            if status.is_ok() and meta is not None and meta.crc64 is not None \
                    and file_crc(local.path, local.size) == meta.crc64:
                return TaskResult(task, "skipped", status, local.size, local.mtime_ns, meta.crc64,
                                  meta.etag, requests=requests)
        if self.ctx.dry_run:
            return TaskResult(task, "would-upload", st.Status(200), local.size, requests=requests)
        from .upload import resumable_upload_file
        seen = [0]

        def on_progress(consumed: int, total: int) -> None:
            if self.stop.is_set() and consumed < total:
                raise Stop("the tree upload was interrupted")
            self.report_bytes(consumed - seen[0])
            seen[0] = consumed

        status = resumable_upload_file(self.ctx.options, self.ctx.bucket, local.key, local.path,
                                       dict(self.ctx.headers), None, self.clt_params(threads),
                                       on_progress, executor=self.executor, verify=self.verify)
        if not status.is_ok():
            cancelled = status.code == st.ABORT_CALLBACK and self.stop.is_set()
            return TaskResult(task, "cancelled" if cancelled else "failed", status, requests=requests)
        self.report_bytes(local.size - seen[0])
        try:
            now = os.stat(local.path)
            unchanged = (now.st_size, now.st_mtime_ns) == (local.size, local.mtime_ns)
        except OSError:
            unchanged = False
        crc = ops.response_crc(status.resp_headers)
        etag = (ops.header(status.resp_headers, "ETag") or "") if unchanged else ""
        return TaskResult(task, "uploaded", status, local.size, local.mtime_ns, crc, etag,
                          requests=requests)

    def has_checkpoint(self, local: LocalFile) -> bool:
        """A file that shrank to one part may have a multipart checkpoint to clean up:
        the engine does that, so such files go through it."""
        path = checkpoint_location(self.clt_params(1), local.path, self.ctx.bucket, local.key, ".ucp")
        return path is not None and os.path.exists(path)

    def clt_params(self, threads: int) -> ResumableCltParams:
        """A file's parameters: its checkpoint is a file in the tree's checkpoint directory."""
        cp_dir = as_directory(self.cp_dir) if self.cp_dir is not None else None
        return create_resumable_clt_params(self.part_size, threads, cp_dir is not None, cp_dir)
