"""Lists a bucket's unfinished multipart uploads and aborts the abandoned ones (C-style calls).

    status, uploads = oss.list_multipart_uploads(options, "bucket", "backups/")
    status, aborted = oss.abort_multipart_uploads(options, "bucket", "backups/",
                                                  older_than=7 * 86400, dry_run=True)

Both return ``(Status, list of UploadInfo)`` and never raise for OSS, network or
response errors.  Nothing is aborted unless ``older_than`` or ``all`` says which
uploads; ages are measured on the server's clock (its ``Date`` header), so a
skewed local clock cannot make a fresh upload look old.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from . import ops, wire
from . import status as st
from .config import RequestOptions
from .transport import Transport


@dataclass
class UploadInfo:
    """One unfinished upload.  ``parts``/``bytes`` are None when not asked for or
    not readable; ``status`` is the abort's outcome (None: not aborted, dry run)."""

    key: str
    upload_id: str
    initiated: str
    parts: Optional[int] = None
    bytes: Optional[int] = None
    status: Optional[st.Status] = None

    def age(self, server_now: float) -> Optional[float]:
        when = wire.iso8601(self.initiated)
        return None if when is None else server_now - when


def select_for_abort(uploads: Iterable[UploadInfo], server_now: float,
                     older_than: Optional[float], everything: bool) -> List[UploadInfo]:
    """Which uploads an abort request covers (pure): all of them with ``everything``,
    else those initiated more than ``older_than`` seconds before ``server_now``.
    An upload whose initiation time cannot be read is never "old"."""
    if everything:
        return list(uploads)
    if older_than is None:
        return []
    out = []
    for upload in uploads:
        age = upload.age(server_now)
        if age is not None and age > older_than:
            out.append(upload)
    return out


def list_multipart_uploads(options: RequestOptions, bucket: str, prefix: str = "",
                           *, with_parts: bool = True) -> Tuple[st.Status, List[UploadInfo]]:
    """The unfinished uploads whose key starts with ``prefix``, with their part
    count and bytes (one ListParts each) when ``with_parts``."""
    status, uploads, _now = _list(options, bucket, prefix, with_parts)
    return status, uploads


def abort_multipart_uploads(options: RequestOptions, bucket: str, prefix: str = "",
                            *, older_than: Optional[float] = None, all: bool = False,
                            dry_run: bool = False) -> Tuple[st.Status, List[UploadInfo]]:
    """Abort the uploads under ``prefix`` initiated more than ``older_than`` seconds
    ago, or ``all`` of them; with ``dry_run`` only list them (no write request).

    Returns the first failure (or the listing's Status) and the selected uploads,
    each with its abort's Status.  Without ``older_than`` or ``all`` (or with both)
    it is a -994 and nothing is sent."""
    if (older_than is None) == (not all):
        return st.Status(st.INVALID_ARGUMENT, "InvalidArgument",
                         "say which uploads to abort: older_than=SECONDS or all=True (one of them)"), []
    if older_than is not None and (isinstance(older_than, bool) or not older_than >= 0):
        return st.Status(st.INVALID_ARGUMENT, "InvalidArgument", f"older_than={older_than!r}"), []
    status, uploads, server_now = _list(options, bucket, prefix, with_parts=False)
    if not status.is_ok():
        return status, []
    chosen = select_for_abort(uploads, server_now, older_than, all)
    if dry_run or not chosen:
        return status, chosen
    failure: Optional[st.Status] = None
    with Transport(options) as transport:
        for upload in chosen:
            upload.status = ops.abort_multipart_upload(transport, bucket, upload.key, upload.upload_id)
            if not upload.status.is_ok() and upload.status.error_code != "NoSuchUpload":
                failure = failure or upload.status
    return failure or status, chosen


def _list(options: RequestOptions, bucket: str, prefix: str, with_parts: bool
          ) -> Tuple[st.Status, List[UploadInfo], float]:
    err = ops.check_bucket_name(bucket)
    if err:
        return err, [], time.time()
    with Transport(options) as transport:
        status, listed = ops.list_multipart_uploads(transport, bucket, prefix or "")
        server_now = wire.http_date(ops.header(status.resp_headers, "Date")) or time.time()
        uploads = [UploadInfo(u.key, u.upload_id, u.initiated) for u in listed]
        if not status.is_ok() or not with_parts:
            return status, uploads, server_now
        for upload in uploads:
            got, parts = ops.list_parts(transport, bucket, upload.key, upload.upload_id)
            if got.is_ok():
                upload.parts, upload.bytes = len(parts), sum(p.size for p in parts)
    return status, uploads, server_now
