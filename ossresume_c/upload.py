"""Resumable upload: ``resumable_upload_file``, the C SDK's
``oss_resumable_upload_file`` in Python.

The engine reads as its steps: check the arguments, stat the file, plan the
parts, then either one PutObject (a file of at most one part) or: lock the
checkpoint, resume it (reconciled with ListParts and verified against the
local file's CRC-64) or initiate anew, send the missing parts in parallel,
re-check the file, Complete, and verify the whole object's CRC-64.
"""
from __future__ import annotations

import logging
import mimetypes
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Mapping, Optional, Tuple

from . import checkpoint_codec as codec
from . import native
from . import ops, orphans
from . import status as st
from .checkpoint_file import CheckpointFile, CheckpointLocked, resolve_checkpoint_path
from .config import RequestOptions
from .engine import (JobFailed, TransferJob, check_transfer_arguments, checked_call_arguments,
                     checkpoint_write_failed, lock_checkpoint)
from .layout import PartPlan, plan_from_sizes, plan_parts, upload_part_size_error
from .params import ResumableCltParams
from .progress import ProgressCallback
from .reconcile import (LocalFile, ServerPart, parts_to_verify, reconcile_with_server,
                        upload_checkpoint_problem)
from .scheduler import PartRunner

log = logging.getLogger("ossresume_c")

CALLBACK_HEADERS = ("x-oss-callback", "x-oss-callback-var")
PART_HEADERS = ("x-oss-traffic-limit",)
_EXTRA_TYPES = {".ts": "video/MP2T", ".m3u8": "application/x-mpegURL"}


def resumable_upload_file(options: RequestOptions, bucket: str, object: str, filepath: str,
                          headers: Optional[Mapping[str, str]] = None,
                          params: Optional[Mapping[str, str]] = None,
                          clt_params: Optional[ResumableCltParams] = None,
                          progress_callback: Optional[ProgressCallback] = None,
                          resp_headers: Optional[dict] = None,
                          resp_body: Optional[list] = None,
                          *, checkpoint_interval: float = 1.0) -> st.Status:
    """Upload ``filepath`` to ``bucket/object`` in parallel parts, resumably.

    Returns a Status (never raises for OSS, network or file errors).
    ``resp_headers``/``resp_body`` are filled like the C out-parameters with
    the final request's response.  ``params`` is accepted and ignored, as in
    the C SDK.  KeyboardInterrupt is re-raised after the in-flight parts finish
    and the checkpoint is written.
    """
    clt_params = checked_call_arguments(options, clt_params)
    job = UploadJob(options, bucket, object, filepath, headers, clt_params, progress_callback,
                    checkpoint_interval)
    status = None
    try:
        status = job.run()
    finally:  # uploads created with their id lost, or whose abort failed (orphans.py)
        job.ledger.sweep(options, bucket, object, job.upload_id, status)
    if resp_headers is not None:
        resp_headers.clear()
        resp_headers.update(status.resp_headers)
    if resp_body is not None:
        resp_body.extend(status.resp_body)
    return status


def guess_content_type(key: str) -> str:
    ext = os.path.splitext(key)[1].lower()
    if ext in _EXTRA_TYPES:
        return _EXTRA_TYPES[ext]
    guessed = mimetypes.guess_type("x" + ext)[0] if ext else None
    return guessed or "application/octet-stream"


def _pick(headers: Mapping[str, str], names: Tuple[str, ...]) -> Dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in names}


class UploadJob(TransferJob):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.local: Optional[LocalFile] = None
        self.stat: Optional[os.stat_result] = None
        self.plan: Optional[PartPlan] = None
        self.upload_id = ""
        self.done: Dict[int, Tuple[str, int]] = {}   # index -> (etag, crc64)
        self.ledger = orphans.Ledger()

    def steps(self) -> st.Status:
        self._check_arguments()
        self._open_file()
        self.open_transport()
        if self._fits_one_request():
            return self._put_whole_file()
        return self._multipart()

    # -- steps ----------------------------------------------------------------
    def _check_arguments(self) -> None:
        self.filepath = check_transfer_arguments(self.options, self.bucket, self.key, self.filepath)

    def _open_file(self) -> None:
        try:
            self.fd = os.open(self.filepath, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self.stat = os.fstat(self.fd)
        except OSError as exc:
            raise JobFailed(st.Status(exc.errno or st.OPEN_FILE_ERROR, "OpenFileFail",
                                     f"cannot open {self.filepath!r}: {exc.strerror or exc}")) from None
        import stat as stat_mod
        if not stat_mod.S_ISREG(self.stat.st_mode):
            os.close(self.fd)
            self.fd = -1
            raise JobFailed(st.Status(21, "OpenFileFail", f"{self.filepath!r} is not a regular file"))
        self.local = LocalFile(self.stat.st_size, self.stat.st_mtime_ns // 1000)
        self.progress.total = self.stat.st_size

    def _fits_one_request(self) -> bool:
        assert self.local is not None
        self.plan = plan_parts(self.local.size, self.clt.part_size)
        return self.plan.count <= 1

    def _initiate_headers(self) -> Dict[str, str]:
        hdrs = dict(self.headers)
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = guess_content_type(self.key)
        return hdrs

    def _put_whole_file(self) -> st.Status:
        assert self.local is not None and self.transport is not None
        self._discard_stale_checkpoint()
        size = self.local.size
        buf = bytearray(size)
        try:
            got = native.read_part(self.fd, 0, size, buf)
        except OSError as exc:
            return st.Status(st.FILE_READ_ERROR, "FileReadError", f"reading {self.filepath!r}: {exc}")
        if got.bytes_read != size:
            return _file_changed(self.filepath)
        self._check_unchanged()
        status, _crc = ops.put_object(self.transport, self.bucket, self.key, memoryview(buf),
                                      self._initiate_headers(), expect_crc=got.crc64)
        if status.is_ok():
            self.progress.report_final()
        return status

    def _discard_stale_checkpoint(self) -> None:
        """A file that now fits one request may leave a multipart checkpoint behind."""
        path = resolve_checkpoint_path(self.filepath, self.bucket, self.key, self.clt.enable_checkpoint,
                                       self.clt.checkpoint_path, ".ucp")
        if path is None or not os.path.isfile(path):
            return
        cpfile = CheckpointFile(path)
        try:
            cpfile.lock()
        except CheckpointLocked as exc:
            raise JobFailed(st.Status(st.INVALID_OPERATION, "CheckpointLocked", str(exc))) from None
        try:
            cp, _reason = cpfile.load()
            if cp is not None and cp.type == codec.UPLOAD and cp.upload_id:
                self._abort_quietly(cp.upload_id, "its file changed")
            cpfile.delete()
        finally:
            cpfile.unlock(remove=True)

    def _multipart(self) -> st.Status:
        assert self.plan is not None
        bad = upload_part_size_error(self.plan)
        if bad:
            return st.Status(st.INVALID_ARGUMENT, "InvalidArgument", bad)
        self._lock_checkpoint()
        if not self._resume():
            self._initiate()
        self.progress.add(sum(self.plan.parts[i].size for i in self.done))
        failure = self._send_missing_parts()
        if failure is not None:
            return self._fail(failure)
        self._check_unchanged()
        return self._complete()

    def _lock_checkpoint(self) -> None:
        self.cpfile = lock_checkpoint(self.clt, self.filepath, self.bucket, self.key, ".ucp",
                                      self.checkpoint_interval)
        self.ledger.attach(self.cpfile.path if self.cpfile else None)

    def _resume(self) -> bool:
        """Continue the checkpoint's upload if it is usable; True when resumed."""
        if self.cpfile is None:
            return False
        assert self.local is not None and self.transport is not None
        cp, reason = self.cpfile.load()
        if cp is None:
            if reason:
                log.warning("%s: %s; starting over", self.cpfile.path, reason)
                if self.cpfile.salvaged_upload_id:
                    self._abort_quietly(self.cpfile.salvaged_upload_id, "its checkpoint is invalid")
            return False
        problem = upload_checkpoint_problem(cp.type, cp.file_size, cp.file_mtime, cp.upload_id,
                                            cp.object_key, self.key, self.local)
        if problem:
            log.warning("%s: %s; starting over", self.cpfile.path, problem)
            if cp.type == codec.UPLOAD and cp.upload_id:
                self._abort_quietly(cp.upload_id, problem)
            return False
        plan = plan_from_sizes(self.local.size, cp.part_size, [p.size for p in cp.parts])
        status, listed = ops.list_parts(self.transport, self.bucket, self.key, cp.upload_id)
        if status.code == 404 and status.error_code == "NoSuchUpload":
            log.warning("%s: upload %s no longer exists; starting over", self.cpfile.path, cp.upload_id)
            return False
        if not status.is_ok():
            raise JobFailed(status)  # checkpoint kept: the next call tries again
        server = {p.number: ServerPart(p.number, p.etag, p.size, p.crc64) for p in listed}
        local_crcs = self._local_crcs(plan, parts_to_verify(plan, server))
        recorded = [p.index for p in cp.parts if p.completed]
        rec = reconcile_with_server(plan, recorded, server, local_crcs)
        if rec.mismatched:
            log.warning("upload %s: %d part(s) on the server differ from the file; sending them again",
                        cp.upload_id, len(rec.mismatched))
        if rec.recovered:
            log.info("upload %s: %d part(s) found on the server that the checkpoint missed",
                     cp.upload_id, len(rec.recovered))
        self.plan = plan
        self.upload_id = cp.upload_id
        self.done = dict(rec.done)
        log.info("resuming upload %s: %d of %d parts verified on the server", self.upload_id,
                 len(self.done), plan.count)
        return True

    def _local_crcs(self, plan: PartPlan, indexes: List[int]) -> Dict[int, int]:
        if not indexes:
            return {}

        def one(index: int) -> Tuple[int, Optional[int]]:
            part = plan.parts[index]
            n, crc = native.crc64_file_range(self.fd, part.offset, part.size)
            return index, crc if n == part.size else None

        with ThreadPoolExecutor(min(self.threads, len(indexes))) as pool:
            results = list(pool.map(one, indexes))
        return {i: c for i, c in results if c is not None}

    def _initiate(self) -> None:
        assert self.transport is not None and self.plan is not None and self.local is not None
        status, upload_id = self.ledger.initiate(self.transport, self.bucket, self.key,
                                                 self._initiate_headers())
        if not status.is_ok() or not upload_id:
            raise JobFailed(status)
        self.upload_id = upload_id
        self.done = {}
        if self.cpfile is not None:
            try:
                self.cpfile.save(self._checkpoint())
            except OSError as exc:
                self._abort_quietly(upload_id, "its checkpoint could not be written")
                raise JobFailed(checkpoint_write_failed(self.cpfile, exc)) from None

    def _checkpoint(self) -> codec.Checkpoint:
        assert self.plan is not None and self.local is not None
        parts = []
        for p in self.plan.parts:
            etag, crc = self.done.get(p.index, ("", 0))
            parts.append(codec.CheckpointPart(p.index, p.offset, p.size, p.index in self.done, etag, crc))
        return codec.Checkpoint(type=codec.UPLOAD, file_path=self.filepath, file_size=self.local.size,
                                file_mtime=self.local.mtime_us, object_key=self.key, object_size=0,
                                object_last_modified="", object_etag="", upload_id=self.upload_id,
                                part_size=self.plan.part_size, parts=parts)

    # -- sending parts --------------------------------------------------------
    def _send_missing_parts(self) -> Optional[st.Status]:
        """Send every part not yet done, ``thread_num`` at a time."""
        assert self.plan is not None
        todo = [p.index for p in self.plan.parts if p.index not in self.done]
        buffers: "queue.SimpleQueue[bytearray]" = queue.SimpleQueue()
        for _ in range(min(self.threads, len(todo))):
            buffers.put(bytearray(self.plan.part_size))
        runner = PartRunner(self.threads, self.cancel, self.progress, self._maybe_save,
                            "ossresume-upload")
        failure = runner.run(todo, lambda i: self._upload_part(i, buffers), self._record)
        if runner.interrupted == "KeyboardInterrupt":
            if self.cpfile is not None:
                self._save_quietly()
            else:   # nothing could resume it: do not leak the upload
                self._abort_quietly(self.upload_id, "interrupted without a checkpoint")
            raise KeyboardInterrupt
        if failure is None and len(self.done) != self.plan.count:
            failure = st.Status(st.INTERNAL_ERROR, "InternalError", "not every part was sent")
        return failure

    def _upload_part(self, index: int, buffers: "queue.SimpleQueue[bytearray]"
                     ) -> Tuple[Optional[st.Status], Optional[Tuple[str, int]]]:
        """Worker: read the part (CRC-64 and optional MD5 in the same C pass) and send it."""
        assert self.plan is not None and self.transport is not None
        part = self.plan.parts[index]
        buf = buffers.get()
        try:
            try:
                got = native.read_part(self.fd, part.offset, part.size, buf,
                                       want_md5=self.options.ctl.enable_md5)
            except OSError as exc:
                return st.Status(st.FILE_READ_ERROR, "FileReadError",
                                 f"reading part {part.number} of {self.filepath!r}: {exc}"), None
            if got.bytes_read != part.size:
                return _file_changed(self.filepath), None
            status, res = ops.upload_part(self.transport, self.bucket, self.key, self.upload_id,
                                          part.number, memoryview(buf)[:part.size],
                                          expect_crc=got.crc64, content_md5=got.md5,
                                          headers=_pick(self.headers, PART_HEADERS))
            if not status.is_ok() or res is None:
                return status, None
            return None, (res.etag, got.crc64)
        finally:
            buffers.put(buf)

    def _record(self, index: int, result: Tuple[str, int]) -> None:
        assert self.plan is not None
        size = self.plan.parts[index].size
        self.done[index] = result
        self.progress.add(size)
        if self.cpfile is not None:
            self.cpfile.note_progress(size)

    def _maybe_save(self) -> None:
        if self.cpfile is not None and self.cpfile.due():
            self._save_quietly()

    def _save_quietly(self) -> None:
        if self.cpfile is None or not self.upload_id:
            return
        try:
            self.cpfile.save(self._checkpoint())
        except OSError as exc:
            log.warning("cannot write checkpoint %s: %s", self.cpfile.path, exc)

    # -- finishing ------------------------------------------------------------
    def _fail(self, failure: st.Status) -> st.Status:
        if self.cpfile is not None:
            self._save_quietly()    # the checkpoint survives every failure
        elif self.upload_id:
            self._abort_quietly(self.upload_id, "the upload failed and has no checkpoint")
        return failure

    def _check_unchanged(self) -> None:
        """A file modified during the upload must not become a silently wrong object."""
        assert self.stat is not None
        try:
            now = os.stat(self.filepath)
        except OSError as exc:
            raise JobFailed(self._fail(_file_changed(self.filepath, str(exc)))) from None
        if (now.st_size, now.st_mtime_ns) != (self.stat.st_size, self.stat.st_mtime_ns) or \
                not os.path.samestat(now, self.stat):
            raise JobFailed(self._fail(_file_changed(self.filepath)))

    def _complete(self) -> st.Status:
        assert self.plan is not None and self.transport is not None
        parts = [(p.number, self.done[p.index][0]) for p in self.plan.parts]
        expected = self._combined_crc()
        status, res = ops.complete_multipart_upload(self.transport, self.bucket, self.key,
                                                    self.upload_id, parts,
                                                    _pick(self.headers, CALLBACK_HEADERS))
        if status.code == 404 and status.error_code == "NoSuchUpload":
            # The upload may have completed with the response lost: check the object.
            confirmed = self._confirm_completed(expected)
            if confirmed is not None:
                status, res = confirmed, None
        if not status.is_ok():
            return self._fail(status)
        server_crc = res.crc64 if res is not None else ops.response_crc(status.resp_headers)
        if server_crc is None:
            server_crc = self._object_crc()
        if self.options.ctl.enable_crc and server_crc is not None and server_crc != expected:
            bad = st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                            f"object CRC-64 {server_crc} differs from the file's {expected}",
                            status.req_id, status.resp_headers, status.resp_body)
            return self._fail(bad)
        if self.cpfile is not None:
            self.cpfile.delete()
            self.cpfile.unlock(remove=True)
        self.progress.report_final()
        return status

    def _combined_crc(self) -> int:
        assert self.plan is not None
        crc = 0
        for p in self.plan.parts:
            crc = native.crc64_combine(crc, self.done[p.index][1], p.size)
        return crc

    def _confirm_completed(self, expected: int) -> Optional[st.Status]:
        assert self.transport is not None and self.local is not None
        status, meta = ops.head_object(self.transport, self.bucket, self.key)
        if status.is_ok() and meta is not None and meta.size == self.local.size \
                and meta.crc64 == expected:
            log.info("upload %s: Complete's response was lost but the object verifies", self.upload_id)
            return status
        return None

    def _object_crc(self) -> Optional[int]:
        assert self.transport is not None
        status, meta = ops.head_object(self.transport, self.bucket, self.key)
        return meta.crc64 if status.is_ok() and meta is not None else None

    def _abort_quietly(self, upload_id: str, why: str) -> None:
        transport = self.transport
        if transport is None:
            return
        status = ops.abort_multipart_upload(transport, self.bucket, self.key, upload_id)
        self.ledger.note_abort(upload_id, status)
        log.info("aborted upload %s (%s): %s", upload_id, why, status)


def _file_changed(path: str, detail: str = "") -> st.Status:
    msg = f"{path!r} changed during the upload"
    if detail:
        msg += f" ({detail})"
    return st.Status(st.INCONSISTENT_ERROR, "FileChanged", msg + "; nothing was completed")
