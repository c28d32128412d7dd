"""Steps shared by the upload and download engines: argument checks, the
checkpoint lock, and the exception that ends a job with a Status."""
from __future__ import annotations

import os
import threading
from typing import Mapping, Optional

from . import ops
from . import status as st
from .checkpoint_file import CheckpointFile, CheckpointLocked, prepare_parent, resolve_checkpoint_path
from .config import RequestOptions
from .params import ResumableCltParams, create_resumable_clt_params
from .progress import ProgressCallback, ProgressReporter
from .transport import Transport


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
    path = resolve_checkpoint_path(filepath, bucket, key, clt.enable_checkpoint, clt.checkpoint_path,
                                   suffix)
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


class TransferJob:
    """What an upload and a download job share: their arguments, the transport,
    the open file, the checkpoint, progress, and ``run()`` turning a JobFailed
    into its Status and releasing everything whatever happened."""

    def __init__(self, options: RequestOptions, bucket: str, key: str, filepath: str,
                 headers: Optional[Mapping[str, str]], clt: ResumableCltParams,
                 callback: Optional[ProgressCallback], checkpoint_interval: float) -> None:
        self.options = options
        self.bucket = bucket
        self.key = key
        self.filepath = filepath
        self.headers = dict(headers or {})
        self.clt = clt
        self.checkpoint_interval = checkpoint_interval
        self.threads = max(1, clt.thread_num)
        self.cancel = threading.Event()
        self.transport: Optional[Transport] = None
        self.fd = -1
        self.cpfile: Optional[CheckpointFile] = None
        self.progress = ProgressReporter(callback, 0)

    def run(self) -> st.Status:
        try:
            return self.steps()
        except JobFailed as failure:
            return failure.status
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            if self.transport is not None:
                self.transport.close()
            if self.cpfile is not None:
                self.cpfile.unlock()

    def steps(self) -> st.Status:
        raise NotImplementedError

    def open_transport(self) -> Transport:
        self.transport = Transport(self.options, pool_size=self.threads + 2, cancel=self.cancel)
        return self.transport
