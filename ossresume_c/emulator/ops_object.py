"""The object resource: put, get (ranges, conditions, overrides), head, meta, delete."""
from __future__ import annotations

import dataclasses
import os
import time
from typing import List, Tuple

from . import ranges
from .errors import OssError
from .exchange import ObjectStream, Request, Response
from .copy_object import Copier
from .ops_common import Resource, check_preconditions, http_date, quoted
from .ops_object_attrs import requested_attributes
from .storage_class import check_readable, requested_storage_class
from .store import ObjectMeta

RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


class ObjectOps(Resource):
    """Operations on one object."""

    OPERATIONS = {
        "PutObject": "put_object",
        "GetObject": "get_object",
        "HeadObject": "head_object",
        "GetObjectMeta": "get_object_meta",
        "DeleteObject": "delete_object",
    }

    @property
    def copier(self) -> Copier:
        return Copier(self)

    def put_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        if request.header("x-oss-copy-source") is not None:
            return self.copier.copy_object(request)
        self.check_body(request)
        acl, tags = requested_attributes(request, self.store)
        storage_class = requested_storage_class(self, request)
        self.check_overwrite(request)
        callback = self.read_callback(request)  # a refused callback URL stops the upload before it starts
        intake = self.intake(request, lambda: self.store.new_data_path(request.bucket))
        meta = ObjectMeta(
            key=request.key,
            size=intake.received.size,
            etag=intake.etag,
            crc64=intake.received.crc64,
            content_type=request.header("Content-Type") or "application/octet-stream",
            user_meta=request.user_meta(),
            headers=self.stored_headers(request),
            last_modified=time.time(),
            object_type="Normal",
            segments=[(intake.name, intake.received.size)] if intake.name else [],
            version=os.urandom(8).hex(),
            content_md5=intake.content_md5,
            discarded=not intake.name,
            acl=acl,
            tags=tags,
            storage_class=storage_class,
        )
        self.store.commit_object(request.bucket, meta)
        return self.call_back(request, self.body_response(intake), callback, meta)

    def _object_headers(self, meta: ObjectMeta) -> List[Tuple[str, str]]:
        headers = [
            ("Content-Type", meta.content_type),
            ("ETag", quoted(meta.etag)),
            ("Last-Modified", http_date(meta.last_modified)),
            ("Accept-Ranges", "bytes"),
            ("x-oss-object-type", meta.object_type),
            ("x-oss-storage-class", meta.storage_class),
            ("x-oss-hash-crc64ecma", str(meta.crc64)),
        ]
        headers += list(meta.headers.items())
        headers += sorted(meta.user_meta.items())
        if meta.tags:
            headers.append(("x-oss-tagging-count", str(len(meta.tags))))
        return headers

    @staticmethod
    def _check_conditions(request: Request, meta: ObjectMeta) -> None:
        check_preconditions(request, meta)

    def _resolve(self, bucket: str, key: str) -> ObjectMeta:
        """The object, or for a symlink the object it names (NoSuchKey when that is gone)."""
        meta = self.store.head(bucket, key)
        if meta.symlink_target is not None:
            target = self.store.head(bucket, meta.symlink_target)
            return dataclasses.replace(target, object_type="Symlink", user_meta={**target.user_meta, **meta.user_meta})
        return meta

    def head_object(self, request: Request) -> Response:
        meta = self._resolve(request.bucket, request.key)
        self._check_conditions(request, meta)
        headers = self._object_headers(meta)
        if meta.content_md5:
            headers.append(("Content-MD5", meta.content_md5))
        response = Response(200, headers)
        response.set("Content-Length", str(meta.size))
        return response

    def get_object_meta(self, request: Request) -> Response:
        meta = self.store.head(request.bucket, request.key)
        response = Response(
            200,
            [
                ("ETag", quoted(meta.etag)),
                ("Last-Modified", http_date(meta.last_modified)),
                ("x-oss-hash-crc64ecma", str(meta.crc64)),
            ],
        )
        response.set("Content-Length", str(meta.size))
        return response

    def get_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        key = request.key
        link = self.store.head(request.bucket, key).symlink_target
        reader = self.store.open_object(request.bucket, link if link is not None else key)
        try:
            meta = reader.meta
            check_readable(meta.storage_class)
            self._check_conditions(request, meta)
            if meta.discarded and meta.size:
                raise OssError(
                    "InvalidObjectState",
                    "The emulator runs with --discard: this object's data was checksummed and dropped "
                    "(HEAD and listings answer; GET cannot).",
                )
            standard = (request.header("x-oss-range-behavior") or "").lower() == "standard"
            decision = ranges.decide(request.header("Range"), meta.size, standard)
            if decision.status == 416:
                raise OssError("InvalidRange", ActualObjectSize=str(meta.size), RangeRequested=request.header("Range") or "")
            headers = self._object_headers(meta)
            if decision.status == 206:
                headers.append(("Content-Range", f"bytes {decision.start}-{decision.end}/{meta.size}"))
            elif meta.content_md5:
                headers.append(("Content-MD5", meta.content_md5))
            response = Response(decision.status, headers, stream=ObjectStream(reader, decision.start, decision.length))
            for param, header in RESPONSE_OVERRIDES.items():
                value = request.param(param)
                if value is not None:
                    response.set(header, value)
            return response
        except BaseException:
            reader.close()
            raise

    def delete_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        self.store.delete_object(request.bucket, request.key)
        return Response(204)
