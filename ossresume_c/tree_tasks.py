"""The tree engine's send step: one small, picklable task per file, run by any executor.

A task names a file and what to do with it (``put``: upload a one-part file,
``verify``: HEAD + CRC-64 then upload if different, ``delete``); it returns a
:class:`TaskResult` holding the Status and what the manifest records.  Tasks take
a :class:`SendContext` (options, bucket, headers) and keep one transport per
process, so they run the same in this process's threads or in worker processes
(the ``executor=`` seam of SCALE §3, where they travel presigned, in batches:
``remote_files``).  Files of more than one part are not tasks:
the coordinator runs them through the resumable engine in its own threads.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import native, ops
from . import status as st
from .config import RequestOptions
from .presigned import Signed, presign_requests, transport_for, without_secrets
from .put_file import FastSend, change_since, file_changed, put_file, with_content_type
from .small_put import SmallPutter
from .transport import Transport

PUT, VERIFY, DELETE = "put", "verify", "delete"


@dataclass(frozen=True)
class SendContext:
    options: RequestOptions
    bucket: str
    headers: Tuple[Tuple[str, str], ...] = ()
    pool_size: int = 8
    dry_run: bool = False


@dataclass(frozen=True)
class Task:
    kind: str
    key: str
    path: str = ""
    size: int = 0
    signed: Signed = ()      # presigned requests (``presigned.presign_requests``): no credentials


@dataclass
class TaskResult:
    """``action`` is uploaded/skipped/deleted/failed/would-upload; for uploaded and
    skipped files ``size, mtime_ns, crc64, etag`` are what the manifest records."""

    task: Task
    action: str
    status: st.Status = field(default_factory=lambda: st.Status(200))
    size: int = 0
    mtime_ns: int = 0
    crc64: Optional[int] = None
    etag: str = ""
    requests: int = 0


class _Senders:
    """This process's transports, one per (options, pool size), made on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_ctx: Dict[int, Tuple[RequestOptions, Transport, SmallPutter]] = {}

    def get(self, ctx: SendContext) -> Tuple[Transport, SmallPutter]:
        ident = id(ctx.options)
        with self.lock:
            found = self.by_ctx.get(ident)
            if found is None or found[0] is not ctx.options:
                transport = Transport(ctx.options, pool_size=ctx.pool_size + 2)
                found = (ctx.options, transport, SmallPutter(transport))
                self.by_ctx[ident] = found
            return found[1], found[2]

    def release(self, ctx: SendContext) -> None:
        with self.lock:
            found = self.by_ctx.pop(id(ctx.options), None)
        if found is not None:
            found[2].close()
            found[1].close()


SENDERS = _Senders()


def run_task(ctx: SendContext, task: Task) -> TaskResult:
    """Do ``task``; never raises for OSS, network or file errors.  A task with
    presigned requests is sent on them (its context holds no credentials)."""
    if task.signed:
        presigned = transport_for(ctx.options)
        put_query = dict(task.signed).get("PUT", ())

        def fast(bucket: str, key: str, body: bytearray, headers: Dict[str, str],
                 crc: int) -> Optional[st.Status]:
            return presigned.putter.put(bucket, key, body, headers, crc, query=put_query)

        with presigned.using(task.key, task.signed):
            return _run(ctx, presigned, fast, task)
    transport, putter = SENDERS.get(ctx)
    return _run(ctx, transport, putter.put, task)


def _run(ctx: SendContext, transport: Transport, fast: FastSend, task: Task) -> TaskResult:
    try:
        if task.kind == DELETE:
            status = ops.delete_object(transport, ctx.bucket, task.key)
            return TaskResult(task, "deleted" if status.is_ok() else "failed", status, requests=1)
        if task.kind == VERIFY:
            return _verify_then_put(ctx, transport, fast, task)
        return _put(ctx, transport, fast, task, 0)
    except Exception as exc:  # noqa: BLE001 - one file's bug must not lose the others' results
        return TaskResult(task, "failed", st.Status(st.INTERNAL_ERROR, "InternalError", repr(exc)))


def _verify_then_put(ctx: SendContext, transport: Transport, fast: FastSend,
                     task: Task) -> TaskResult:
    status, meta = ops.head_object(transport, ctx.bucket, task.key)
    if not status.is_ok() and status.code != 404:
        return TaskResult(task, "failed", status, requests=1)
    if status.is_ok() and meta is not None and meta.size == task.size and meta.crc64 is not None:
        try:
            info = os.stat(task.path)
        except OSError as exc:
            return TaskResult(task, "failed", _stat_failure(task.path, exc), requests=1)
        if file_crc(task.path, info.st_size) == meta.crc64 and not change_since(info, task.path):
            return TaskResult(task, "skipped", status, info.st_size, info.st_mtime_ns, meta.crc64,
                              meta.etag, requests=1)
    return _put(ctx, transport, fast, task, 1)


def _put(ctx: SendContext, transport: Transport, fast: FastSend, task: Task,
         sent: int) -> TaskResult:
    try:
        info = os.stat(task.path)
    except OSError as exc:
        return TaskResult(task, "failed", _stat_failure(task.path, exc), requests=sent)
    if ctx.dry_run:
        return TaskResult(task, "would-upload", st.Status(200), info.st_size, info.st_mtime_ns,
                          requests=sent)
    status, done = put_file(transport, ctx.bucket, task.key, task.path, dict(ctx.headers),
                            expect=info, fast=fast)
    if done is None:
        return TaskResult(task, "failed", status, requests=sent + 1)
    etag = ops.header(status.resp_headers, "ETag") or ""
    return TaskResult(task, "uploaded", status, done.size, info.st_mtime_ns, done.crc64, etag,
                      requests=sent + 1)


def _stat_failure(path: str, exc: OSError) -> st.Status:
    if isinstance(exc, FileNotFoundError):
        return file_changed(path, "it vanished")
    return st.Status(exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                     f"cannot open {path!r}: {exc.strerror or exc}")


def file_crc(path: str, size: int) -> Optional[int]:
    """CRC-64 of the first ``size`` bytes of ``path``; None when it cannot be read whole."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        got, crc = native.crc64_file_range(fd, 0, size)
    except OSError:
        return None
    finally:
        os.close(fd)
    return crc if got == size else None


def presigned_task(transport: Transport, ctx: SendContext, task: Task) -> Task:
    """``task`` with its requests presigned by ``transport`` (the coordinator's), to run
    with :func:`remote_context` ``(ctx)`` on a worker that holds no credentials."""
    headers = with_content_type(dict(ctx.headers), task.key)
    wanted: List[Tuple[str, Dict[str, str]]]
    if task.kind == DELETE:
        wanted = [("DELETE", {})]
    elif task.kind == VERIFY:
        wanted = [("HEAD", {}), ("PUT", headers)]
    else:
        wanted = [("PUT", headers)]
    return dataclasses.replace(task, signed=presign_requests(transport, ctx.bucket, task.key,
                                                              wanted))


def remote_context(ctx: SendContext) -> SendContext:
    """``ctx`` without credentials, for presigned tasks."""
    return dataclasses.replace(ctx, options=without_secrets(ctx.options))
