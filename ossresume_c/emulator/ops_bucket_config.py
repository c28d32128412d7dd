"""Bucket configurations OSS stores and returns: put, get and delete each kind, and the bucket ACL
(with what Block Public Access forbids of it).

The documents live in ``root/buckets/<bucket>/config/<sub-resource>``, replaced atomically,
and go with the bucket when it is deleted; the account-wide Block Public Access switch lives
in ``root/config/publicAccessBlock``. ``bucket_config.py`` says which kinds exist and how
each is checked.
"""
from __future__ import annotations

import os
import uuid
from typing import Callable, Dict, List, Optional

from .bucket_config import KINDS, ConfigKind, blocks_public_access, check_acl, parse_tag_set, parse_xml
from .errors import OssError
from .exchange import Request, Response
from .ops_common import OWNER, Resource, xml_response
from .store import Store
from .xmlout import Element, document

ACL_FILE = "acl"  # the bucket ACL, as its canned name
STORAGE_CLASS_FILE = "storage-class"
PUBLIC_ACCESS_BLOCK = "publicAccessBlock"
PUBLIC_ACLS = ("public-read", "public-read-write")


class BucketConfigs:
    """Read and write one bucket's stored configuration documents."""

    def __init__(self, resource: Resource) -> None:
        self.store = resource.store

    def _path(self, bucket: str, name: str) -> str:
        return os.path.join(self.store.bucket_dir(bucket), "config", name)

    def get(self, bucket: str, name: str) -> Optional[bytes]:
        """The stored document, or None (also for a bucket deleted meanwhile)."""
        return read_document(self._path(bucket, name))

    def put(self, bucket: str, name: str, data: bytes) -> None:
        with self.store.lock:
            self.store.require_bucket(bucket)
            write_document(self._path(bucket, name), data)

    def delete(self, bucket: str, name: str) -> None:
        with self.store.lock:
            self.store.require_bucket(bucket)
            try:
                os.unlink(self._path(bucket, name))
            except FileNotFoundError:
                pass

    def text(self, bucket: str, name: str, default: str) -> str:
        data = self.get(bucket, name)
        return data.decode("utf-8") if data else default


def account_config_path(store: Store, name: str) -> str:
    """Where an account-wide (service-level) configuration document lives."""
    return os.path.join(store.root, "config", name)


def read_document(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_document(path: str, data: bytes) -> None:
    """Replace the document at ``path`` atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def public_access_blocked(store: Store, bucket: str) -> bool:
    """Block Public Access is on for the account or for this bucket: public ACLs are ignored
    and cannot be set."""
    if blocks_public_access(read_document(account_config_path(store, PUBLIC_ACCESS_BLOCK))):
        return True
    return blocks_public_access(read_document(os.path.join(store.bucket_dir(bucket), "config", PUBLIC_ACCESS_BLOCK)))


def check_public_acl_allowed(store: Store, bucket: str, acl: str) -> None:
    """A public ACL while Block Public Access is on: 403 AccessDenied, as OSS refuses it."""
    if acl in PUBLIC_ACLS and public_access_blocked(store, bucket):
        raise OssError("AccessDenied", "Public ACLs cannot be set while Block Public Access is enabled.",
                       status=403)


ANONYMOUS_READS = frozenset(("GetObject", "HeadObject", "GetObjectMeta"))
ANONYMOUS_WRITES = frozenset(("PutObject", "AppendObject", "DeleteObject", "InitiateMultipartUpload", "UploadPart",
                              "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"))


def anonymous_allowed(store: Store, op: str, bucket: str, key: str) -> bool:
    """Whether the bucket's or object's ACL lets an unsigned request through, as on OSS:
    reads of a public-read object (or of any object of a public-read bucket); writes
    in a public-read-write bucket."""
    if not bucket or not key or not store.bucket_exists(bucket) or public_access_blocked(store, bucket):
        return False
    try:
        with open(os.path.join(store.bucket_dir(bucket), "config", ACL_FILE), "rb") as handle:
            bucket_acl = handle.read().decode("utf-8")
    except FileNotFoundError:
        bucket_acl = "private"
    if op in ANONYMOUS_WRITES:
        return bucket_acl == "public-read-write"
    if op not in ANONYMOUS_READS:
        return False
    try:
        object_acl = store.head(bucket, key).acl
    except OssError:
        object_acl = "default"
    effective = bucket_acl if object_acl == "default" else object_acl
    return effective in PUBLIC_ACLS


class BucketConfigOps(Resource):
    """PutBucket<Kind>/GetBucket<Kind>/DeleteBucket<Kind> for every stored kind, and PutBucketAcl."""

    OPERATIONS = {"PutBucketAcl": "put_bucket_acl", "GetBucketAcl": "get_bucket_acl"}

    def handlers(self) -> Dict[str, Callable[[Request], Response]]:
        table = super().handlers()
        for kind in KINDS.values():
            table[f"PutBucket{kind.stem}"] = self._putter(kind)
            table[f"GetBucket{kind.stem}"] = self._getter(kind)
            if kind.deletable:
                table[f"DeleteBucket{kind.stem}"] = self._deleter(kind)
        return table

    @property
    def configs(self) -> BucketConfigs:
        return BucketConfigs(self)

    def _putter(self, kind: ConfigKind) -> Callable[[Request], Response]:
        def put(request: Request) -> Response:
            self.store.require_bucket(request.bucket)
            body = self.read_xml_body(request)
            kind.validate(body)
            self.configs.put(request.bucket, kind.subresource, kind.normalized(body))
            return Response(200)

        return put

    def _getter(self, kind: ConfigKind) -> Callable[[Request], Response]:
        def get(request: Request) -> Response:
            self.store.require_bucket(request.bucket)
            data = self.configs.get(request.bucket, kind.subresource)
            if data is None:
                if kind.missing is not None:
                    code, message = kind.missing
                    raise OssError(code, message, status=404, BucketName=request.bucket)
                data = kind.default or b""
            return Response(200, [("Content-Type", kind.content_type)], data)

        return get

    def _deleter(self, kind: ConfigKind) -> Callable[[Request], Response]:
        def delete(request: Request) -> Response:
            named = request.param(kind.subresource) or ""
            if kind.subresource == "tagging" and named:  # DeleteBucketTags?tagging=k1,k2: just those
                self._delete_tags(request.bucket, set(named.split(",")))
            else:
                self.configs.delete(request.bucket, kind.subresource)
            return Response(204)

        return delete

    def _delete_tags(self, bucket: str, keys: set) -> None:
        with self.store.lock:
            data = self.configs.get(bucket, "tagging")
            if data is None:
                return
            kept = [(k, v) for k, v in parse_tag_set(parse_xml(data, "Tagging")) if k not in keys]
            tags: List[Element] = [("Tag", [("Key", k), ("Value", v)]) for k, v in kept]
            self.configs.put(bucket, "tagging", document("Tagging", [("TagSet", tags)]))

    def put_bucket_acl(self, request: Request) -> Response:
        acl = check_acl(request.header("x-oss-acl") or "")
        self.store.require_bucket(request.bucket)
        check_public_acl_allowed(self.store, request.bucket, acl)
        self.configs.put(request.bucket, ACL_FILE, acl.encode())
        return Response(200)

    def get_bucket_acl(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        acl = self.configs.text(request.bucket, ACL_FILE, "private")
        body = document("AccessControlPolicy", [("Owner", OWNER), ("AccessControlList", [("Grant", acl)])])
        return xml_response(body)
