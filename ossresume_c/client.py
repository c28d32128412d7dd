"""The Pythonic layer for new code: ``Client`` methods raise ``OssError``
instead of returning a failed ``Status``.  Same engine as the C-style calls.

    client = oss.Client("https://oss-cn-hangzhou.aliyuncs.com", region="cn-hangzhou")
    client.upload_file("big.iso", "examplebucket", "iso/big.iso", part_size=16 << 20, threads=8)
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Mapping, Optional, Union

from .config import RequestOptions, request_options_create
from .params import create_resumable_clt_params
from .status import Status

Checkpoint = Union[bool, str, "os.PathLike[str]"]
Progress = Callable[[int, int], object]


class OssError(Exception):
    """A failed call.  ``status`` is the ``Status`` the C-style API would have
    returned; ``code``, ``error_code``, ``error_msg`` and ``req_id`` are its fields."""

    def __init__(self, status: Status, summary: Any = None) -> None:
        super().__init__(str(status))
        self.status = status
        self.summary = summary      # upload_tree: the TreeSummary of the whole run

    @property
    def code(self) -> int:
        return self.status.code

    @property
    def error_code(self) -> str:
        return self.status.error_code

    @property
    def error_msg(self) -> str:
        return self.status.error_msg

    @property
    def req_id(self) -> str:
        return self.status.req_id


def _checkpoint_args(checkpoint: Checkpoint) -> tuple:
    """``True`` = the default path, ``False`` = none, a path = that file or directory."""
    if checkpoint is True or checkpoint is None:
        return True, None
    if checkpoint is False:
        return False, None
    return True, os.fspath(checkpoint)


class Client:
    """Holds one ``RequestOptions``; credentials default to the ``OSS_ACCESS_KEY_ID``,
    ``OSS_ACCESS_KEY_SECRET`` and ``OSS_SESSION_TOKEN`` environment variables.
    Other keyword arguments name ``Config`` / ``HttpController`` fields
    (``signature_version=1``, ``max_retries=5``, ``verify=False``...)."""

    def __init__(self, endpoint: str, access_key_id: Optional[str] = None,
                 access_key_secret: Optional[str] = None, region: Optional[str] = None,
                 **options: Any) -> None:
        self.options: RequestOptions = request_options_create(
            endpoint=endpoint, access_key_id=access_key_id, access_key_secret=access_key_secret,
            region=region, **options)

    def __repr__(self) -> str:
        return f"Client({self.options.config!r})"

    def upload_file(self, local: Union[str, "os.PathLike[str]"], bucket: str, key: str,
                    part_size: int = 0, threads: int = 3, checkpoint: Checkpoint = True,
                    progress: Optional[Progress] = None,
                    headers: Optional[Mapping[str, str]] = None, *, verify: str = "sample") -> Status:
        """Upload resumably; returns the final Status, raises ``OssError`` on failure.
        ``progress(consumed_bytes, total_bytes)`` is called from this thread; ``verify``
        is what a resume reads back ("sample", "all", "none": see the README)."""
        from .upload import resumable_upload_file
        enable, path = _checkpoint_args(checkpoint)
        clt = create_resumable_clt_params(part_size, threads, enable, path)
        status = resumable_upload_file(self.options, bucket, key, os.fspath(local), headers, None,
                                       clt, progress, verify=verify)
        if not status.is_ok():
            raise OssError(status)
        return status

    def download_file(self, bucket: str, key: str, local: Union[str, "os.PathLike[str]"],
                      part_size: int = 0, threads: int = 3, checkpoint: Checkpoint = True,
                      progress: Optional[Progress] = None,
                      headers: Optional[Mapping[str, str]] = None) -> Status:
        """Download resumably into ``local`` (written as ``local.tmp``, renamed at
        the end); raises ``OssError`` on failure."""
        from .download import resumable_download_file
        enable, path = _checkpoint_args(checkpoint)
        clt = create_resumable_clt_params(part_size, threads, enable, path)
        status = resumable_download_file(self.options, bucket, key, os.fspath(local), headers, None,
                                         clt, progress)
        if not status.is_ok():
            raise OssError(status)
        return status

    def upload_tree(self, local_dir: Union[str, "os.PathLike[str]"], bucket: str, prefix: str = "",
                    part_size: int = 0, threads: int = 8, checkpoint: Checkpoint = True,
                    progress: Optional[Progress] = None,
                    headers: Optional[Mapping[str, str]] = None,
                    cancel: Optional[threading.Event] = None) -> Any:
        """Upload a directory tree (see :func:`ossresume_c.bulk.upload_tree`); returns
        the ``TreeSummary``.  When a file failed, raises ``OssError`` with the first
        failure's Status and the whole summary in ``.summary``."""
        from .bulk import upload_tree
        enable, path = _checkpoint_args(checkpoint)
        summary = upload_tree(self.options, os.fspath(local_dir), bucket, prefix, part_size, threads,
                              enable_checkpoint=enable, checkpoint_dir=path, headers=headers,
                              progress=progress, cancel=cancel)
        if summary.failed:
            first = next(iter(summary.failed.values()))
            raise OssError(first, summary)
        return summary
