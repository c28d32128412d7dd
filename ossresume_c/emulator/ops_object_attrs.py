"""Object attributes kept beside the data: ACL, tags, and symlinks (objects naming another key)."""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Dict, List, Tuple
from urllib.parse import quote, unquote

from .errors import OssError
from .exchange import Request, Response
from .object_tags import parse_tagging_document, parse_tagging_header
from .ops_bucket_config import check_public_acl_allowed
from .ops_common import OWNER, Resource, quoted, xml_response
from .store import ObjectMeta, Store
from .xmlout import Element, document

OBJECT_ACLS = ("default", "private", "public-read", "public-read-write")
SYMLINK_HEADER = "x-oss-symlink-target"


def check_object_acl(value: str, name: str = "x-oss-object-acl") -> str:
    if value not in OBJECT_ACLS:
        raise OssError("InvalidArgument", "no such object access control exists", ArgumentName=name, ArgumentValue=value)
    return value


def requested_attributes(request: Request, store: Store) -> Tuple[str, Dict[str, str]]:
    """``(acl, tags)`` a write asks for with ``x-oss-object-acl`` and ``x-oss-tagging``; a public
    ACL while Block Public Access is on is AccessDenied."""
    acl = check_object_acl(request.header("x-oss-object-acl") or "default")
    check_public_acl_allowed(store, request.bucket, acl)
    tagging = request.header("x-oss-tagging")
    return acl, parse_tagging_header(tagging) if tagging is not None else {}


class ObjectAttributeOps(Resource):
    """Get/PutObjectAcl, Get/Put/DeleteObjectTagging, Put/GetSymlink."""

    OPERATIONS = {
        "PutObjectAcl": "put_object_acl",
        "GetObjectAcl": "get_object_acl",
        "PutObjectTagging": "put_object_tagging",
        "GetObjectTagging": "get_object_tagging",
        "DeleteObjectTagging": "delete_object_tagging",
        "PutSymlink": "put_symlink",
        "GetSymlink": "get_symlink",
    }

    def _update(self, request: Request, change: Callable[[ObjectMeta], ObjectMeta]) -> None:
        """Replace an object's metadata (not its data) under the store lock."""
        with self.store.lock:
            meta = self.store.head(request.bucket, request.key)
            self.store.commit_object(request.bucket, change(meta))

    def put_object_acl(self, request: Request) -> Response:
        acl = check_object_acl(request.header("x-oss-object-acl") or "")
        check_public_acl_allowed(self.store, request.bucket, acl)
        self._update(request, lambda meta: dataclasses.replace(meta, acl=acl, version=os.urandom(8).hex()))
        return Response(200)

    def get_object_acl(self, request: Request) -> Response:
        meta = self.store.head(request.bucket, request.key)
        body = document("AccessControlPolicy", [("Owner", OWNER), ("AccessControlList", [("Grant", meta.acl)])])
        return xml_response(body)

    def put_object_tagging(self, request: Request) -> Response:
        tags = parse_tagging_document(self.read_xml_body(request))
        self._update(request, lambda meta: dataclasses.replace(meta, tags=tags, version=os.urandom(8).hex()))
        return Response(200)

    def get_object_tagging(self, request: Request) -> Response:
        meta = self.store.head(request.bucket, request.key)
        tags: List[Element] = [("Tag", [("Key", k), ("Value", v)]) for k, v in meta.tags.items()]
        return xml_response(document("Tagging", [("TagSet", tags)]))

    def delete_object_tagging(self, request: Request) -> Response:
        self._update(request, lambda meta: dataclasses.replace(meta, tags={}, version=os.urandom(8).hex()))
        return Response(204)

    def put_symlink(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        raw_target = request.header(SYMLINK_HEADER)
        if not raw_target:
            raise OssError("InvalidArgument", "x-oss-symlink-target is required.", ArgumentName=SYMLINK_HEADER,
                           ArgumentValue="")
        target = unquote(raw_target)
        acl, tags = requested_attributes(request, self.store)
        etag = os.urandom(16).hex().upper()
        meta = ObjectMeta(
            key=request.key,
            size=0,
            etag=etag,
            crc64=0,
            content_type=request.header("Content-Type") or "application/octet-stream",
            user_meta=request.user_meta(),
            headers=self.stored_headers(request),
            last_modified=time.time(),
            object_type="Symlink",
            segments=[],
            version=os.urandom(8).hex(),
            acl=acl,
            tags=tags,
            symlink_target=target,
        )
        self.store.commit_object(request.bucket, meta)
        return Response(200, [("ETag", quoted(etag))])

    def get_symlink(self, request: Request) -> Response:
        meta = self.store.head(request.bucket, request.key)
        if meta.symlink_target is None:
            raise OssError("NotSymlink", "The specified object is not a symlink.", status=400)
        headers = [(SYMLINK_HEADER, quote(meta.symlink_target, safe="")), ("ETag", quoted(meta.etag))]
        headers += sorted(meta.user_meta.items())
        return Response(200, headers)
