"""Steps shared by the upload and download engines: argument checks, the
checkpoint lock, and the exception that ends a job with a Status."""
from __future__ import annotations

import os
from typing import Optional

from . import ops
from . import status as st
from .checkpoint_file import CheckpointFile, CheckpointLocked, prepare_parent, resolve_checkpoint_path
from .config import RequestOptions
from .params import ResumableCltParams


class JobFailed(Exception):
    """Ends an engine job with this Status."""

    def __init__(self, status: st.Status) -> None:
        super().__init__(str(status))
        self.status = status


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
    return os.fspath(filepath)  # type: ignore[arg-type]


def lock_checkpoint(clt: ResumableCltParams, filepath: str, bucket: str, key: str, suffix: str,
                    interval: float) -> Optional[CheckpointFile]:
    """Resolve, prepare and lock the checkpoint before any request is sent, so
    that a bad checkpoint location never leaks an upload."""
    path = resolve_checkpoint_path(filepath, bucket, key, clt.enable_checkpoint, clt.checkpoint_path,
                                   suffix)
    if path is None:
        return None
    problem = prepare_parent(path)
    if problem:
        raise JobFailed(st.Status(st.OPEN_FILE_ERROR, "OpenFileFail", problem))
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
