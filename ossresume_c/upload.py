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
import os
import queue
import random
from concurrent.futures import Executor
from typing import Dict, List, Mapping, Optional, Tuple

from . import checkpoint_codec as codec
from . import native
from . import ops, orphans
from . import status as st
from .checkpoint_file import CheckpointFile, CheckpointLocked, checkpoint_location
from .config import RequestOptions
from .executors import InvalidExecutor, resolve_executor
from .engine import (JOURNAL_SUFFIX, JobFailed, PartDone, Table, TransferJob,
                     check_transfer_arguments, copy_out)
from .journal import Journal
from .layout import PartPlan, plan_from_sizes, plan_parts, upload_part_size_error
from .params import ResumableCltParams
from .part_put import LeanPart, PartPutter, batch_limit
from .progress import ProgressCallback
from .put_file import change_since, file_changed, put_file, with_content_type
from .reconcile import (VERIFY_MODES, LocalFile, ServerPart, Verification, plan_verification,
                        reconcile_with_server, sample_failed, settled_crcs, upload_checkpoint_problem)

log = logging.getLogger("ossresume_c")

CALLBACK_HEADERS = ("x-oss-callback", "x-oss-callback-var")
PART_HEADERS = ("x-oss-traffic-limit",)


def resumable_upload_file(options: RequestOptions, bucket: str, object: str, filepath: str,
                          headers: Table = None, params: Table = None,
                          clt_params: Optional[ResumableCltParams] = None,
                          progress_callback: Optional[ProgressCallback] = None,
                          resp_headers: Optional[dict] = None,
                          resp_body: Optional[list] = None,
                          *, checkpoint_interval: float = 1.0, verify: str = "sample",
                          executor: object = None) -> st.Status:
    """Upload ``filepath`` to ``bucket/object`` in parallel parts, resumably.

    Returns a Status (never raises for OSS, network or file errors).
    ``resp_headers``/``resp_body`` are filled like the C out-parameters with
    the final request's response.  ``params`` is accepted and ignored, as in
    the C SDK.  KeyboardInterrupt is re-raised after the in-flight parts finish
    and the checkpoint is written.  ``verify`` says what a resume reads back
    ("sample", "all" or "none": see ``reconcile.plan_verification``).  ``executor``
    (a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``) sends the parts
    from other processes or hosts, on presigned URLs (``remote_parts``); None sends them
    from threads here.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, not {verify!r}")
    try:
        pool = resolve_executor(executor)
    except InvalidExecutor as bad:
        return bad.status
    job = UploadJob(options, bucket, object, filepath, headers, clt_params, progress_callback,
                    checkpoint_interval)
    job.verify = verify
    job.executor = pool
    status = None
    try:
        status = job.run()
    finally:  # uploads created with their id lost, or whose abort failed (orphans.py)
        job.ledger.sweep(options, bucket, object, job.upload_id, status)
    copy_out(resp_headers, status.resp_headers)
    if resp_body is not None:
        resp_body.extend(status.resp_body)
    return status


def _pick(headers: Mapping[str, str], names: Tuple[str, ...]) -> Dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in names}


class UploadJob(TransferJob):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.local: Optional[LocalFile] = None
        self.stat: Optional[os.stat_result] = None
        self.upload_id = ""
        self.ledger = orphans.Ledger()
        self.verify = "sample"
        self.part_putter: Optional[PartPutter] = None

    def file_identity(self) -> Tuple[int, int]:
        assert self.stat is not None
        return self.stat.st_dev, self.stat.st_ino
        self.executor: Optional[Executor] = None    # None: the parts are sent from threads here

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

    def _put_whole_file(self) -> st.Status:
        assert self.stat is not None and self.transport is not None
        self._discard_stale_checkpoint()
        self._discard_stale_record()
        status, _sent = put_file(self.transport, self.bucket, self.key, self.filepath, self.headers,
                                 expect=self.stat)
        return self.finish(status) if status.is_ok() else status

    def _discard_stale_checkpoint(self) -> None:
        """A file that now fits one request may leave a multipart checkpoint behind."""
        path = checkpoint_location(self.clt, self.filepath, self.bucket, self.key, ".ucp")
        if path is None or not os.path.isfile(path):
            return
        self._discard(CheckpointFile(path))

    def _discard_stale_record(self) -> None:
        """The same for another SDK's record (the C++ facade's ``CppCltParams``)."""
        fmt = getattr(self.clt, "checkpoint_format", None)
        if fmt is None:
            return
        cpfile = fmt.checkpoint_file(self.filepath, self.bucket, self.key, ".ucp")
        if os.path.isfile(cpfile.path):
            self._discard(cpfile)

    def _discard(self, cpfile: CheckpointFile) -> None:
        """Abort the checkpoint's upload (even from an invalid file) and delete it."""
        try:
            cpfile.lock()
        except CheckpointLocked as exc:
            raise JobFailed(st.Status(st.INVALID_OPERATION, "CheckpointLocked", str(exc))) from None
        try:
            cp, _reason = cpfile.load()
            if cp is not None and cp.type == codec.UPLOAD and cp.upload_id:
                self._abort_quietly(cp.upload_id, "its file changed")
            elif cp is None and cpfile.salvaged_upload_id:
                self._abort_quietly(cpfile.salvaged_upload_id, "its checkpoint is invalid")
            cpfile.delete()
            Journal(cpfile.path + JOURNAL_SUFFIX).delete()
        finally:
            cpfile.unlock(remove=True)

    def _multipart(self) -> st.Status:
        assert self.plan is not None
        bad = upload_part_size_error(self.plan)
        if bad:
            return st.Status(st.INVALID_ARGUMENT, "InvalidArgument", bad)
        self.lock(".ucp")
        self.ledger.attach(self.cpfile.path if self.cpfile else None)
        if not self._resume():
            self._initiate()
        failure = self._send_missing_parts()
        if failure is not None:
            return self.fail(failure)
        self._check_unchanged()
        return self._complete()

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
        recorded = [p.index for p in cp.parts if p.completed]
        rec = reconcile_with_server(plan, recorded, server, self._local_crcs(cp, plan, server))
        if rec.mismatched:
            log.warning("upload %s: %d part(s) on the server differ from the file; sending them again",
                        cp.upload_id, len(rec.mismatched))
        if rec.recovered:
            log.info("upload %s: %d part(s) found on the server that the checkpoint missed",
                     cp.upload_id, len(rec.recovered))
        self.upload_id = cp.upload_id
        self.begin(plan, {i: PartDone(crc, etag) for i, (etag, crc) in rec.done.items()})
        log.info("resuming upload %s: %d of %d parts verified on the server", self.upload_id,
                 len(self.done), plan.count)
        return True

    def _local_crcs(self, cp: codec.Checkpoint, plan: PartPlan, server: Dict[int, ServerPart]
                    ) -> Dict[int, int]:
        """The local CRC-64 of each part the server holds, read back or trusted on
        its record (``plan_verification``); a failed sample means reading all."""
        header, journaled = self.read_journal(cp)
        crcs = {p.index: p.crc64 for p in cp.parts if p.completed and p.crc64}
        crcs.update(journaled)
        same_file = header is not None and (header.device, header.inode) == self.file_identity()
        v = plan_verification(plan, [p.index for p in cp.parts if p.completed], crcs, server,
                              same_file, self.verify, random.SystemRandom())
        local = self.crc_ranges([(i, plan.parts[i].offset, plan.parts[i].size) for i in v.read])
        if sample_failed(v, server, plan, local):
            log.warning("upload %s: a sampled part differs from its record; verifying every part",
                        cp.upload_id)
            rest = [i for i in v.trusted if i not in local]
            local.update(self.crc_ranges([(i, plan.parts[i].offset, plan.parts[i].size) for i in rest]))
            v = Verification(v.read + rest, [], [])
        elif v.trusted:
            log.info("upload %s: %d part(s) trusted on their recorded CRC-64, %d read back",
                     cp.upload_id, len(v.trusted), len(v.read))
        return settled_crcs(v, server, plan, local)

    def _initiate(self) -> None:
        assert self.transport is not None and self.plan is not None and self.local is not None
        status, upload_id = self.ledger.initiate(self.transport, self.bucket, self.key,
                                                 with_content_type(self.headers, self.key))
        if not status.is_ok() or not upload_id:
            raise JobFailed(status)
        self.upload_id = upload_id
        self.begin(self.plan, {})
        self.save(strict=True)

    def checkpoint(self) -> codec.Checkpoint:
        assert self.plan is not None and self.local is not None
        parts = []
        for p in self.plan.parts:
            done = self.done.get(p.index, PartDone(0))
            parts.append(codec.CheckpointPart(p.index, p.offset, p.size, p.index in self.done, done.etag,
                                              done.crc64))
        return codec.Checkpoint(type=codec.UPLOAD, file_path=self.filepath, file_size=self.local.size,
                                file_mtime=self.local.mtime_us, object_key=self.key, object_size=0,
                                object_last_modified="", object_etag="", upload_id=self.upload_id,
                                part_size=self.plan.part_size, parts=parts)

    # -- sending parts --------------------------------------------------------
    def _send_missing_parts(self) -> Optional[st.Status]:
        """Send every part not yet done, ``thread_num`` at a time."""
        assert self.plan is not None
        if self.executor is not None:
            from . import remote_parts   # here: only an executor's upload needs it
            return remote_parts.send_missing_parts(self, self.executor)
        assert self.transport is not None
        buffers: "queue.SimpleQueue[bytearray]" = queue.SimpleQueue()   # made when first needed
        self.part_putter = putter = PartPutter(self.transport)
        batch = batch_limit(self.plan.part_size) if putter.batches else 1
        try:
            return self.run_parts(lambda i: self._upload_part(i, buffers), "ossresume-upload",
                                  work_many=lambda ii: self._upload_parts(ii, buffers), batch=batch)
        finally:
            putter.close()

    def _upload_parts(self, indexes: List[int], buffers: "queue.SimpleQueue[bytearray]"
                      ) -> List[Tuple[Optional[st.Status], Optional[PartDone]]]:
        """Worker: several small parts in a row on one connection (``put_many``), each
        then settled as ``_upload_part`` settles one; stops at the first failure."""
        assert self.plan is not None and self.part_putter is not None
        parts = [self.plan.parts[i] for i in indexes]
        out: List[Tuple[Optional[st.Status], Optional[PartDone]]] = []
        while len(out) < len(parts) and (not out or out[-1][0] is None):
            rest = parts[len(out):]
            leans = self.part_putter.put_many(self.bucket, self.key, self.upload_id, self.fd,
                                              [(p.number, p.offset, p.size) for p in rest],
                                              self.part_headers(), self.filepath)
            if not leans:
                out.append(self._upload_part(rest[0].index, buffers))
                continue
            for part, lean in zip(rest, leans):
                out.append(self._settle_part(part.index, lean, buffers))
                if out[-1][0] is not None:
                    break
        return out

    def _upload_part(self, index: int, buffers: "queue.SimpleQueue[bytearray]"
                     ) -> Tuple[Optional[st.Status], Optional[PartDone]]:
        """Worker: read the part (CRC-64 and optional MD5 in the same C pass) and send it."""
        assert self.plan is not None
        part = self.plan.parts[index]
        putter = self.part_putter
        lean = None if putter is None else putter.put(
            self.bucket, self.key, self.upload_id, part.number, self.fd, part.offset, part.size,
            self.part_headers(), self.filepath)
        return self._settle_part(index, lean, buffers)

    def _settle_part(self, index: int, lean: Optional[LeanPart], buffers: "queue.SimpleQueue[bytearray]"
                     ) -> Tuple[Optional[st.Status], Optional[PartDone]]:
        """A part after its lean first attempt: done, failed for good, or sent again
        the regular way (``lean`` None or retryable)."""
        assert self.plan is not None and self.transport is not None
        part = self.plan.parts[index]
        if lean is not None and lean.final:
            return (None, PartDone(lean.crc64, lean.etag)) if lean.status.is_ok() else (lean.status, None)
        try:
            buf = buffers.get_nowait()
        except queue.Empty:   # at most one per worker thread
            buf = bytearray(self.plan.part_size)
        try:
            try:
                got = native.read_part(self.fd, part.offset, part.size, buf,
                                       want_md5=self.options.ctl.enable_md5)
            except OSError as exc:
                return st.Status(st.FILE_READ_ERROR, "FileReadError",
                                 f"reading part {part.number} of {self.filepath!r}: {exc}"), None
            if got.bytes_read != part.size:
                return file_changed(self.filepath, f"part {part.number} was short"), None
            status, res = ops.upload_part(self.transport, self.bucket, self.key, self.upload_id,
                                          part.number, memoryview(buf)[:part.size],
                                          expect_crc=got.crc64, content_md5=got.md5,
                                          headers=self.part_headers(),
                                          after=lean.status if lean is not None else None)
            if not status.is_ok() or res is None:
                return status, None
            return None, PartDone(got.crc64, res.etag)
        finally:
            buffers.put(buf)

    def part_headers(self) -> Dict[str, str]:
        """The caller's headers that every UploadPart carries."""
        return _pick(self.headers, PART_HEADERS)

    def abandon(self, why: str) -> None:
        if self.upload_id:    # do not leak the upload
            self._abort_quietly(self.upload_id, why)

    # -- finishing ------------------------------------------------------------
    def _check_unchanged(self) -> None:
        """A file modified during the upload must not become a silently wrong object."""
        assert self.stat is not None
        problem = change_since(self.stat, self.filepath)
        if problem:
            raise JobFailed(self.fail(file_changed(self.filepath, problem)))

    def _complete(self) -> st.Status:
        assert self.plan is not None and self.transport is not None
        parts = [(p.number, self.done[p.index].etag) for p in self.plan.parts]
        expected = self.combined_crc()
        status, res = ops.complete_multipart_upload(self.transport, self.bucket, self.key,
                                                    self.upload_id, parts,
                                                    _pick(self.headers, CALLBACK_HEADERS))
        if status.code == 404 and status.error_code == "NoSuchUpload":
            # The upload may have completed with the response lost: check the object.
            confirmed = self._confirm_completed(expected)
            if confirmed is not None:
                status, res = confirmed, None
        if not status.is_ok():
            return self.fail(status)
        server_crc = res.crc64 if res is not None else ops.response_crc(status.resp_headers)
        if server_crc is None:
            server_crc = self._object_crc()
        if self.options.ctl.enable_crc and server_crc is not None and server_crc != expected:
            bad = st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                            f"object CRC-64 {server_crc} differs from the file's {expected}",
                            status.req_id, status.resp_headers, status.resp_body)
            return self.fail(bad)
        return self.finish(status)

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
