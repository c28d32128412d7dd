"""Steps shared by the upload and download engines: argument checks, the
checkpoint lock, recording finished parts, saving the checkpoint, failing with
the checkpoint kept (or the transfer cleaned up), the combined CRC-64, and
finishing; ``JobFailed`` ends a job with a Status."""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from . import checkpoint_codec as codec
from . import journal as jnl
from . import native
from . import ops
from . import status as st
from .checkpoint_file import CheckpointFile, CheckpointLocked, checkpoint_location, prepare_parent
from .config import RequestOptions
from .layout import PartPlan
from .params import ResumableCltParams, create_resumable_clt_params
from .progress import ProgressCallback, ProgressReporter
from .scheduler import PartRunner, WorkResult
from .transport import Transport

log = logging.getLogger("ossresume_c")

JOURNAL_SUFFIX = ".jnl"                 # beside the checkpoint: {checkpoint}.jnl
Table = Optional[Mapping[str, str]]   # the C SDK's aos_table_t: request headers or parameters


class JobFailed(Exception):
    """Ends an engine job with this Status."""

    def __init__(self, status: st.Status) -> None:
        super().__init__(str(status))
        self.status = status


def checked_call_arguments(options: object, clt_params: object) -> ResumableCltParams:
    """The programming errors of a public call are TypeErrors; no clt_params means the
    defaults (the C SDK crashes on NULL)."""
    if not isinstance(options, RequestOptions):
        raise TypeError("options must come from request_options_create()")
    if clt_params is None:
        return create_resumable_clt_params()
    if not isinstance(clt_params, ResumableCltParams):
        raise TypeError("clt_params must come from create_resumable_clt_params()")
    return clt_params


def check_transfer_arguments(options: RequestOptions, bucket: object, key: object,
                             filepath: object) -> str:
    """None arguments are a -994 Status (the C SDK's NULL tests); wrong types are
    programming errors (TypeError).  Returns the file path as a str."""
    for name, value in (("bucket", bucket), ("object", key), ("filepath", filepath)):
        if value is None:
            raise JobFailed(st.Status(st.INVALID_ARGUMENT, "InvalidArgument", f"{name} is None"))
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    err = ops.check_bucket_name(bucket) or ops.check_key(key)
    if err:
        raise JobFailed(err)
    try:
        options.config.endpoint_parts()
    except ValueError as exc:
        raise JobFailed(st.Status(st.INVALID_ARGUMENT, "InvalidArgument", str(exc))) from None
    return os.fspath(filepath)  # type: ignore[call-overload]


def lock_checkpoint(clt: ResumableCltParams, filepath: str, bucket: str, key: str, suffix: str,
                    interval: float) -> Optional[CheckpointFile]:
    """Resolve, prepare and lock the checkpoint before any request is sent, so
    that a bad checkpoint location never leaks an upload."""
    path = checkpoint_location(clt, filepath, bucket, key, suffix)
    if path is None:
        return None
    cpfile: Optional[CheckpointFile] = None
    fmt = getattr(clt, "checkpoint_format", None)   # another SDK's names and format (CppCltParams)
    if fmt is not None:
        cpfile = fmt.checkpoint_file(filepath, bucket, key, suffix, interval)
        path = cpfile.path
    problem = prepare_parent(path)
    if problem:
        raise JobFailed(st.Status(st.OPEN_FILE_ERROR, "OpenFileFail", problem))
    if cpfile is None:
        cpfile = CheckpointFile(path, interval=interval)
    try:
        cpfile.lock()
    except CheckpointLocked as exc:
        raise JobFailed(st.Status(st.INVALID_OPERATION, "CheckpointLocked", str(exc))) from None
    except OSError as exc:
        raise JobFailed(st.Status(st.OPEN_FILE_ERROR, "OpenFileFail",
                                  f"cannot lock checkpoint {path!r}: {exc.strerror or exc}")) from None
    return cpfile


def checkpoint_write_failed(cpfile: CheckpointFile, exc: OSError) -> st.Status:
    return st.Status(st.FILE_WRITE_ERROR, "CheckpointWriteError",
                     f"cannot write checkpoint {cpfile.path!r}: {exc.strerror or exc}")


class PartDone(NamedTuple):
    """A finished part: the CRC-64 of its bytes and, for an upload, its ETag."""

    crc64: int
    etag: str = ""


def copy_out(target: Optional[Dict[str, str]], headers: Mapping[str, str]) -> None:
    """Fill a C-style ``resp_headers`` out-parameter in place (when given)."""
    if target is not None:
        target.clear()
        target.update(headers)


class TransferJob:
    """What an upload and a download job share: their arguments, the transport,
    the open file, the checkpoint, progress, the parts done, and ``run()``
    turning a JobFailed into its Status and releasing everything whatever
    happened.  A job supplies ``steps()``, ``checkpoint()`` (its state as a
    checkpoint) and ``abandon(why)`` (clean up what no checkpoint can resume)."""

    def __init__(self, options: RequestOptions, bucket: str, key: str, filepath: str,
                 headers: Optional[Mapping[str, str]], clt: Optional[ResumableCltParams],
                 callback: Optional[ProgressCallback], checkpoint_interval: float) -> None:
        self.clt = checked_call_arguments(options, clt)
        self.options = options
        self.bucket = bucket
        self.key = key
        self.filepath = filepath
        self.headers = dict(headers or {})
        self.checkpoint_interval = checkpoint_interval
        self.threads = max(1, self.clt.thread_num)
        self.cancel = threading.Event()
        self.transport: Optional[Transport] = None
        self.fd = -1
        self.cpfile: Optional[CheckpointFile] = None
        self.progress = ProgressReporter(callback, 0)
        self.plan: Optional[PartPlan] = None
        self.done: Dict[int, PartDone] = {}   # part index -> what finished
        self.started = False                  # there is a transfer a checkpoint can record
        self.journal: Optional[jnl.Journal] = None   # each finished part, between checkpoint writes

    def run(self) -> st.Status:
        try:
            return self.steps()
        except JobFailed as failure:
            return failure.status
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            if self.journal is not None:
                self.journal.close()
            if self.transport is not None:
                self.transport.close()
            if self.cpfile is not None:
                self.cpfile.unlock()

    # -- what each job supplies -------------------------------------------------
    def steps(self) -> st.Status:
        raise NotImplementedError

    def checkpoint(self) -> codec.Checkpoint:
        raise NotImplementedError

    def abandon(self, why: str) -> None:
        """Clean up a transfer that no checkpoint can resume."""
        raise NotImplementedError

    def file_identity(self) -> Tuple[int, int]:
        """(device, inode) of the local file the journal vouches for; (0, 0) for none."""
        return 0, 0

    # -- shared steps -------------------------------------------------------------
    def open_transport(self) -> Transport:
        self.transport = Transport(self.options, pool_size=self.threads + 2, cancel=self.cancel)
        return self.transport

    def lock(self, suffix: str) -> None:
        self.cpfile = lock_checkpoint(self.clt, self.filepath, self.bucket, self.key, suffix,
                                      self.checkpoint_interval)

    def journal_tag(self, cp: codec.Checkpoint) -> int:
        return jnl.tag_of(cp.type, cp.upload_id, cp.file_size, cp.file_mtime, cp.object_size,
                          cp.object_last_modified, cp.object_etag, cp.part_size)

    def read_journal(self, cp: codec.Checkpoint) -> Tuple[Optional[jnl.Header], Dict[int, int]]:
        """The previous run's journal for the transfer checkpoint ``cp`` describes:
        its header and {part index: CRC-64} (nothing when absent, damaged or stale)."""
        if self.cpfile is None:
            return None, {}
        return jnl.read(self.cpfile.path + JOURNAL_SUFFIX, self.journal_tag(cp))

    def begin(self, plan: PartPlan, done: Dict[int, PartDone]) -> None:
        """The transfer is under way with ``plan``; the parts in ``done`` (resumed)
        count as progress already made.  The journal starts afresh: what the last
        run journaled is either in ``done`` or to be transferred again."""
        self.plan = plan
        self.done = done
        self.started = True
        self.progress.add(sum(plan.parts[i].size for i in done))
        if self.cpfile is not None:
            journal = jnl.Journal(self.cpfile.path + JOURNAL_SUFFIX)
            device, inode = self.file_identity()
            try:
                journal.start(jnl.Header(self.journal_tag(self.checkpoint()), device, inode))
                self.journal = journal
            except OSError as exc:   # the coalesced checkpoint writes still record progress
                journal.close()
                log.warning("cannot write journal %s: %s", journal.path, exc)

    def record(self, index: int, done: PartDone) -> None:
        """A part finished (runs in the caller's thread)."""
        assert self.plan is not None
        size = self.plan.parts[index].size
        self.done[index] = done
        if self.journal is not None:   # before progress: a part reported done is recorded
            try:
                self.journal.append(index, done.crc64)
            except OSError as exc:
                log.warning("cannot write journal %s: %s", self.journal.path, exc)
                self.journal.close()
                self.journal = None
        self.progress.add(size)
        if self.cpfile is not None:
            self.cpfile.note_progress(size)

    def maybe_save(self) -> None:
        if self.cpfile is not None and self.cpfile.due():
            self.save()

    def save(self, strict: bool = False) -> None:
        """Write the checkpoint.  When ``strict``, a failed write ends the job with
        -981 after abandoning the transfer (nothing could resume it); otherwise it
        is logged and the next write tries again."""
        if self.cpfile is None or not self.started:
            return
        try:
            self.cpfile.save(self.checkpoint())
        except OSError as exc:
            if not strict:
                log.warning("cannot write checkpoint %s: %s", self.cpfile.path, exc)
                return
            self.abandon("its checkpoint could not be written")
            raise JobFailed(checkpoint_write_failed(self.cpfile, exc)) from None
        if self.journal is not None:
            try:
                self.journal.fold()
            except OSError as exc:   # harmless: its records repeat the checkpoint's
                log.warning("cannot truncate journal %s: %s", self.journal.path, exc)

    def keep_or_abandon(self, why: str) -> None:
        """The checkpoint survives every failure; without one, nothing is left behind."""
        if self.cpfile is not None:
            self.save()
        elif self.started:
            self.abandon(why)

    def fail(self, failure: st.Status) -> st.Status:
        self.keep_or_abandon("the transfer failed and has no checkpoint")
        return failure

    def run_parts(self, work: Callable[[int], WorkResult], name: str,
                  units: Optional[Iterable[int]] = None,
                  record: Optional[Callable[[int, Any], None]] = None,
                  work_many: Optional[Callable[[List[int]], List[WorkResult]]] = None,
                  batch: int = 1) -> Optional[st.Status]:
        """Run ``work`` for every part not done (or every one of ``units``, each
        success recorded by ``record``), ``threads`` at a time, recording each
        success; the first failure is returned.  ``work_many``/``batch``: workers
        take up to ``batch`` parts at once (``PartRunner.run``).  Ctrl-C: the parts
        in flight finish, the checkpoint is written (or the transfer abandoned) and
        KeyboardInterrupt is re-raised."""
        assert self.plan is not None
        todo = [p.index for p in self.plan.parts if p.index not in self.done] if units is None \
            else units
        runner = PartRunner(self.threads, self.cancel, self.progress, self.maybe_save, name, pull=True)
        failure = runner.run(todo, work, record or self.record, work_many, batch)
        if runner.interrupted == "KeyboardInterrupt":
            self.keep_or_abandon("interrupted without a checkpoint")
            raise KeyboardInterrupt
        if failure is None and len(self.done) != self.plan.count:
            failure = st.Status(st.INTERNAL_ERROR, "InternalError", "not every part was transferred")
        return failure

    def combined_crc(self) -> int:
        """The CRC-64 of the whole object, combined from the parts' CRCs."""
        assert self.plan is not None
        crc = 0
        for p in self.plan.parts:
            crc = native.crc64_combine(crc, self.done[p.index].crc64, p.size)
        return crc

    def crc_ranges(self, ranges: Sequence[Tuple[int, int, int]]) -> Dict[int, Optional[int]]:
        """CRC-64 of ``(index, offset, size)`` ranges of the open file, ``threads`` at
        a time (in C, GIL released): index -> CRC, None where the file is shorter."""
        if not ranges:
            return {}

        def one(item: Tuple[int, int, int]) -> Tuple[int, Optional[int]]:
            index, offset, size = item
            n, crc = native.crc64_file_range(self.fd, offset, size)
            return index, crc if n == size else None

        with ThreadPoolExecutor(min(self.threads, len(ranges))) as pool:
            return dict(pool.map(one, ranges))

    def finish(self, status: st.Status) -> st.Status:
        """Success: the checkpoint is deleted and the final progress reported."""
        if self.journal is not None:
            self.journal.delete()
        if self.cpfile is not None:
            self.cpfile.delete()
            self.cpfile.unlock(remove=True)
        self.progress.report_final()
        return status
