"""Resumable download: ``resumable_download_file``, the C SDK's
``oss_resumable_download_file`` in Python.

Steps: check the arguments and the target directory, HEAD the object, resume
the ``.dcp`` checkpoint (same object, ``.tmp`` of the right size, every part
marked done re-verified against the ``.tmp`` with CRC-64) or start anew, fetch
the missing ranges in parallel with ``If-Match`` (each written with pwrite at
its offset while its CRC-64 is computed, in C, and journaled as it finishes:
parts the journal records are re-verified like the ``.dcp``'s), combine the part CRCs and
compare with the object's, then rename ``.tmp`` to the target.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from . import checkpoint_codec as codec
from . import direct_body
from . import native
from . import ops, remote_ranges
from . import status as st
from . import wire
from .config import RequestOptions
from .executors import InvalidExecutor, resolve_executor
from .engine import JobFailed, PartDone, Table, TransferJob, check_transfer_arguments, copy_out
from .layout import Part, plan_from_sizes, plan_parts
from .params import ResumableCltParams
from .part_get import PartGetter
from .progress import ProgressCallback
from .reconcile import download_checkpoint_problem

if TYPE_CHECKING:
    import requests

log = logging.getLogger("ossresume_c")

CHUNK = 1024 * 1024


def resumable_download_file(options: RequestOptions, bucket: str, object: str, filepath: str,
                            headers: Table = None, params: Table = None,
                            clt_params: Optional[ResumableCltParams] = None,
                            progress_callback: Optional[ProgressCallback] = None,
                            resp_headers: Optional[dict] = None,
                            *, checkpoint_interval: float = 1.0,
                            executor: object = None) -> st.Status:
    """Download ``bucket/object`` to ``filepath`` in parallel ranges, resumably.

    Returns a Status (never raises for OSS, network or file errors);
    ``resp_headers`` receives the HEAD response's headers.  ``headers`` go to
    the HEAD request; ``params`` is accepted and ignored, as in the C SDK.
    ``executor`` (a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``)
    fetches the ranges from other processes or hosts, on presigned URLs, into the
    ``.tmp`` at the same path (``remote_ranges``); None fetches them from threads here.
    """
    try:
        pool = resolve_executor(executor)
    except InvalidExecutor as bad:
        return bad.status
    job = DownloadJob(options, bucket, object, filepath, headers, clt_params, progress_callback,
                      checkpoint_interval)
    job.executor = pool
    status = job.run()
    copy_out(resp_headers, job.head_headers)
    return status


class DownloadJob(TransferJob):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meta: Optional[ops.ObjectMeta] = None
        self.head_headers: Dict[str, str] = {}
        self.tmp_path = ""
        self.executor: Optional[Executor] = None    # None: the ranges are fetched by threads here
        self.part_getter: Optional[PartGetter] = None

    def steps(self) -> st.Status:
        self._check_arguments()
        self.open_transport()
        head = self._head()
        self.lock(".dcp")
        if self.cpfile is not None:     # the checkpoint's format names the temporary file
            self.tmp_path = self.cpfile.download_temp_path(self.filepath, self.meta)
        if not self._resume():
            self._start_fresh()
        if self.executor is not None:
            failure = remote_ranges.fetch_missing_parts(self, self.executor)
        else:
            assert self.transport is not None
            self.part_getter = PartGetter(self.transport)
            try:
                failure = self.run_parts(self._fetch_part, "ossresume-download")
            finally:
                self.part_getter.close()
        if failure is not None:
            return self.fail(failure)
        return self._finish(head)

    # -- steps ----------------------------------------------------------------
    def _check_arguments(self) -> None:
        self.filepath = check_transfer_arguments(self.options, self.bucket, self.key, self.filepath)
        parent = os.path.dirname(os.path.abspath(self.filepath))
        if not os.path.isdir(parent):
            raise JobFailed(st.Status(st.OPEN_FILE_ERROR, "OpenFileFail",
                                     f"target directory {parent!r} does not exist"))
        if os.path.isdir(self.filepath):
            raise JobFailed(st.Status(21, "OpenFileFail", f"target {self.filepath!r} is a directory"))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise JobFailed(st.Status(13, "OpenFileFail", f"target directory {parent!r} is not writable"))
        self.tmp_path = self.filepath + ".tmp"

    def _head(self) -> st.Status:
        assert self.transport is not None
        status, meta = ops.head_object(self.transport, self.bucket, self.key, self.headers)
        self.head_headers = dict(status.resp_headers)
        if not status.is_ok() or meta is None:
            raise JobFailed(status)
        self.meta = meta
        self.progress.total = meta.size
        return status

    def _resume(self) -> bool:
        if self.cpfile is None:
            return False
        assert self.meta is not None
        cp, reason = self.cpfile.load()
        if cp is None:
            if reason:
                log.warning("%s: %s; starting over", self.cpfile.path, reason)
            return False
        try:
            tmp_size: Optional[int] = os.stat(self.tmp_path).st_size
        except OSError:
            tmp_size = None
        problem = download_checkpoint_problem(cp.type, cp.object_size, cp.object_last_modified,
                                              cp.object_etag, cp.object_key, self.key, self.meta.size,
                                              self.meta.last_modified, self.meta.etag, tmp_size)
        if problem:
            log.warning("%s: %s; starting over", self.cpfile.path, problem)
            return False
        self._open_tmp(create=False)
        plan = plan_from_sizes(self.meta.size, cp.part_size, [p.size for p in cp.parts])
        _header, journaled = self.read_journal(cp)
        claimed = [p for p in cp.parts if p.completed or p.index in journaled]
        for p in claimed:   # the journal is newer than the checkpoint's coalesced write
            p.crc64 = journaled.get(p.index, p.crc64)
        self.begin(plan, self._verified(claimed))
        log.info("resuming download of %s: %d of %d parts verified in %s", self.key, len(self.done),
                 plan.count, self.tmp_path)
        return True

    def _verified(self, claimed: List[codec.CheckpointPart]) -> Dict[int, PartDone]:
        """Parts marked done whose bytes in the .tmp still have the recorded CRC-64."""
        crcs = self.crc_ranges([(p.index, p.offset, p.size) for p in claimed])
        good = {p.index: PartDone(p.crc64) for p in claimed if crcs[p.index] == p.crc64}
        if len(good) < len(claimed):
            log.warning("%d part(s) marked done do not match the temporary file; fetching them again",
                        len(claimed) - len(good))
        return good

    def _start_fresh(self) -> None:
        assert self.meta is not None
        self._open_tmp(create=True)
        self.begin(plan_parts(self.meta.size, self.clt.part_size), {})
        self.save(strict=True)

    def _open_tmp(self, create: bool) -> None:
        assert self.meta is not None
        flags = os.O_RDWR | getattr(os, "O_BINARY", 0)
        if create:
            flags |= os.O_CREAT | os.O_TRUNC
        try:
            self.fd = os.open(self.tmp_path, flags, 0o644)
            if create:
                os.ftruncate(self.fd, self.meta.size)
        except OSError as exc:
            raise JobFailed(st.Status(st.OPEN_FILE_ERROR, "OpenFileFail",
                                     f"cannot open {self.tmp_path!r}: {exc.strerror or exc}")) from None

    def checkpoint(self) -> codec.Checkpoint:
        assert self.plan is not None and self.meta is not None
        parts = [codec.CheckpointPart(p.index, p.offset, p.size, p.index in self.done, self.meta.etag,
                                      self.done.get(p.index, PartDone(0)).crc64) for p in self.plan.parts]
        return codec.Checkpoint(type=codec.DOWNLOAD, file_path=self.filepath, file_size=0, file_mtime=0,
                                object_key=self.key, object_size=self.meta.size,
                                object_last_modified=self.meta.last_modified,
                                object_etag=self.meta.etag, upload_id="",
                                part_size=self.plan.part_size, parts=parts)

    # -- fetching parts -------------------------------------------------------
    def _fetch_part(self, index: int) -> Tuple[Optional[st.Status], Optional[PartDone]]:
        """Worker: a ranged GET streamed into the .tmp with pwrite, CRC-64 in C."""
        assert self.plan is not None and self.meta is not None and self.transport is not None
        part = self.plan.parts[index]
        hdrs = {"If-Match": self.meta.etag}
        getter = self.part_getter
        lean = None if getter is None else getter.get(
            self.bucket, self.key, part.offset, part.last_byte, self.meta.size, hdrs, self.fd,
            self.tmp_path)
        if lean is not None and lean.final:
            return (None, PartDone(lean.crc64)) if lean.status.is_ok() else (lean.status, None)
        status, crc = ops.get_object(self.transport, self.bucket, self.key,
                                     (part.offset, part.last_byte), hdrs,
                                     consume=lambda resp: self._write_body(part, resp),
                                     after=lean.status if lean is not None else None)
        if not status.is_ok():
            return status, None
        return None, PartDone(int(crc))  # type: ignore[call-overload]

    def _write_body(self, part: Part, resp: requests.Response) -> Tuple[Optional[st.Status], object]:
        problem = wire.range_reply_problem(resp.status_code, ops.header(resp.headers, "Content-Length"),
                                           ops.header(resp.headers, "Content-Range"), part.offset,
                                           part.last_byte, self.progress.total)
        if problem:
            return _bad_range(part, resp, problem), None
        try:
            direct = direct_body.receive(resp, self.fd, part.offset, part.size)
        except native.PartWriteError as exc:
            return st.Status(st.FILE_WRITE_ERROR, "FileWriteError",
                             f"writing {self.tmp_path!r}: {exc.strerror or exc}"), None
        if direct is not None:
            return None, direct
        buf = bytearray(min(CHUNK, max(1, part.size)))
        view = memoryview(buf)
        crc, offset, remaining = 0, part.offset, part.size
        while remaining > 0:
            n = resp.raw.readinto(view[:min(len(buf), remaining)])
            if not n:
                raise ConnectionError(f"part {part.number}: body ended {remaining} bytes early")
            try:
                crc = native.write_part(self.fd, offset, view[:n], crc)
            except OSError as exc:
                return st.Status(st.FILE_WRITE_ERROR, "FileWriteError",
                                 f"writing {self.tmp_path!r}: {exc.strerror or exc}"), None
            offset += n
            remaining -= n
        return None, crc

    def abandon(self, why: str) -> None:
        log.info("removing %s: %s", self.tmp_path, why)
        self._remove_tmp()

    # -- finishing ------------------------------------------------------------
    def _remove_tmp(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            os.unlink(self.tmp_path)
        except OSError:
            pass

    def _finish(self, head: st.Status) -> st.Status:
        assert self.plan is not None and self.meta is not None
        crc = self.combined_crc()
        if self.options.ctl.enable_crc and self.meta.crc64 is not None and crc != self.meta.crc64:
            # The bytes are wrong: nothing of this run can be trusted, as in the C SDK.
            self._remove_tmp()
            if self.cpfile is not None:
                self.cpfile.delete()
            if self.journal is not None:
                self.journal.delete()
            return st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                             f"downloaded data has CRC-64 {crc}, the object has {self.meta.crc64}",
                             head.req_id, head.resp_headers)
        try:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1
            os.replace(self.tmp_path, self.filepath)
        except OSError as exc:
            return self.fail(st.Status(st.FILE_WRITE_ERROR, "FileWriteError",
                                        f"cannot move {self.tmp_path!r} to {self.filepath!r}: "
                                        f"{exc.strerror or exc}"))
        return self.finish(head)


def _bad_range(part: Part, resp: requests.Response, what: str) -> st.Status:
    return st.Status(st.INTERNAL_ERROR, "ServerError", f"range of part {part.number}: {what}",
                     ops.header(resp.headers, "x-oss-request-id") or "")
