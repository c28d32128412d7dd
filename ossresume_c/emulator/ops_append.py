"""AppendObject: add a body at the end of an appendable object, at the position the client names.

Each append is one more data file (segment) of the object; the object's CRC-64 is the
previous one combined with the new body's, so it always covers the whole content. The
position is checked again under the store lock when the append is published, so of two
racing appends at the same position one wins and the other gets PositionNotEqualToLength.
"""
from __future__ import annotations

import os
import time
from typing import Dict, Tuple

from ..native import crc64_combine
from .errors import OssError
from .exchange import Request, Response
from .ops_common import Resource, declared_md5, pseudo_etag, quoted
from .ops_object_attrs import requested_attributes
from .storage_class import requested_storage_class
from .store import ObjectMeta

NEXT_POSITION = "x-oss-next-append-position"


def _position_error(size: int) -> OssError:
    error = OssError("PositionNotEqualToLength", "Position is not equal to file length.", status=409)
    error.headers.append((NEXT_POSITION, str(size)))
    return error


class AppendOps(Resource):
    """The AppendObject operation."""

    OPERATIONS = {"AppendObject": "append_object"}

    def _check_position(self, request: Request, position: int) -> None:
        try:
            current = self.store.head(request.bucket, request.key)
        except OssError:
            if position != 0:
                raise _position_error(0) from None
            return
        if current.object_type != "Appendable":
            raise OssError("ObjectNotAppendable", "The object is not appendable.", status=409)
        if current.size != position:
            raise _position_error(current.size)

    def append_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        raw = request.param("position")
        if raw is None or not raw.isdigit():
            raise OssError("InvalidArgument", "position must be a non-negative integer.", ArgumentName="position",
                           ArgumentValue=raw or "")
        position = int(raw)
        self._check_position(request, position)
        # ACL, tags and storage class are the creating append's; OSS ignores them on later appends
        acl, tags = requested_attributes(request, self.store) if position == 0 else ("default", {})
        storage_class = requested_storage_class(self, request) if position == 0 else ""
        self.check_body(request)
        expected_md5 = declared_md5(request)
        rel, path = self.store.new_data_path(request.bucket)
        received = self.receive(request, path, expected_md5 is not None)
        try:
            self.etag_and_md5(received, expected_md5)
            if position + received.size > self.config.max_object_size:
                raise OssError("EntityTooLarge")
            with self.store.lock:
                self._check_position(request, position)
                meta = self._appended(request, position, rel, received.size, received.crc64,
                                      (acl, tags, storage_class))
                self.store.commit_object(request.bucket, meta)
        except BaseException:
            os.unlink(path)
            raise
        return Response(200, [
            ("ETag", quoted(meta.etag)),
            (NEXT_POSITION, str(meta.size)),
            ("x-oss-hash-crc64ecma", str(meta.crc64)),
        ])

    def _appended(self, request: Request, position: int, rel: str, size: int, crc: int,
                  created: Tuple[str, Dict[str, str], str]) -> ObjectMeta:
        """The object's metadata after this append (a new object when position is 0 and none exists,
        with the ``created`` ACL, tags and storage class)."""
        now = time.time()
        if position == 0:
            try:
                self.store.head(request.bucket, request.key)
            except OssError:
                acl, tags, storage_class = created
                return ObjectMeta(
                    key=request.key, size=size, etag=pseudo_etag(crc, size), crc64=crc,
                    content_type=request.header("Content-Type") or "application/octet-stream",
                    user_meta=request.user_meta(), headers=self.stored_headers(request), last_modified=now,
                    object_type="Appendable", segments=[(rel, size)], version=os.urandom(8).hex(),
                    acl=acl, tags=tags, storage_class=storage_class,
                )
        current = self.store.head(request.bucket, request.key)
        total = current.size + size
        combined = crc64_combine(current.crc64, crc, size)
        return ObjectMeta(
            key=current.key, size=total, etag=pseudo_etag(combined, total), crc64=combined,
            content_type=current.content_type, user_meta=current.user_meta, headers=current.headers,
            last_modified=now, object_type="Appendable", segments=[*current.segments, (rel, size)],
            version=os.urandom(8).hex(), acl=current.acl, tags=current.tags, storage_class=current.storage_class,
        )
