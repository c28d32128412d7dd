"""Server-side copies: CopyObject and UploadPartCopy (source ranges, metadata directives, If-* conditions).

The source is named by ``x-oss-copy-source: /bucket/key`` (percent-encoded). Data is
copied into a new file (objects never share data files), hashing it on the way; the
copy holds a reader on the source version, so a concurrent overwrite cannot pull the
files from under it.
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import Dict, Optional, Tuple
from urllib.parse import unquote

from ..native import crc64
from .errors import OssError
from .exchange import Request, Response
from .object_tags import parse_tagging_header
from .ops_common import Resource, check_preconditions, http_date, pseudo_etag, quoted, xml_response
from .ops_bucket_config import check_public_acl_allowed
from .ops_object_attrs import check_object_acl
from .routing import check_bucket, check_key
from .storage_class import requested_storage_class
from .store import MAX_PART_NUMBER, ObjectMeta, ObjectReader, PartMeta
from .xmlout import document, iso8601

CHUNK = 1 << 20
MAX_PART_COPY = 5 * 1024**3


def parse_copy_source(value: str) -> Tuple[str, str]:
    """``(bucket, key)`` of an ``x-oss-copy-source`` header; InvalidArgument when malformed."""
    text = unquote(value.split("?", 1)[0])
    bucket, sep, key = text.removeprefix("/").partition("/")
    if not sep or not bucket or not key:
        raise OssError("InvalidArgument", "Copy Source must mention the source bucket and key: /bucket/key.",
                       ArgumentName="x-oss-copy-source", ArgumentValue=value)
    check_bucket(bucket)
    check_key(key)
    return bucket, key


def parse_source_range(value: Optional[str], size: int) -> Tuple[int, int]:
    """``(start, length)`` of ``x-oss-copy-source-range: bytes=a-b``; the whole object when absent.

    An unsatisfiable or malformed range copies the whole object, as OSS does.
    """
    if not value or not value.startswith("bytes="):
        return 0, size
    first, sep, last = value[len("bytes="):].partition("-")
    try:
        start = int(first) if first else None
        end = int(last) if last else None
    except ValueError:
        return 0, size
    if not sep or start is None:
        return 0, size
    if end is None or end >= size:
        end = size - 1
    if start > end or start >= size:
        return 0, size
    return start, end - start + 1


def _directive(request: Request, name: str, choices: Tuple[str, str]) -> str:
    value = request.header(name) or choices[0]
    if value.upper() not in (c.upper() for c in choices):
        raise OssError("InvalidArgument", f"{name} must be {choices[0]} or {choices[1]}.", ArgumentName=name,
                       ArgumentValue=value)
    return value.upper()


class Copier:
    """Runs copies for the resource that received the request (its store and settings)."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.store = resource.store

    def _open_source(self, request: Request) -> ObjectReader:
        bucket, key = parse_copy_source(request.header("x-oss-copy-source") or "")
        meta = self.store.head(bucket, key)
        if meta.symlink_target is not None:
            key = meta.symlink_target
        reader = self.store.open_object(bucket, key)
        try:
            if reader.meta.discarded:  # --discard mode kept no data to copy
                raise OssError("InvalidObjectState", "The source object's data was discarded (--discard mode).")
            check_preconditions(request, reader.meta, "x-oss-copy-source-")
        except BaseException:
            reader.close()
            raise
        return reader

    def _copy_range(self, reader: ObjectReader, start: int, length: int, path: str,
                    want_md5: bool) -> Tuple[int, Optional[bytes]]:
        """Write ``length`` bytes from ``start`` into a new file; ``(crc64, md5 or None)``."""
        crc = 0
        md5 = hashlib.md5() if want_md5 else None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        done = False
        try:
            for source, offset, count in reader.ranges(start, length):
                with open(source, "rb") as handle:
                    handle.seek(offset)
                    while count > 0:
                        chunk = handle.read(min(CHUNK, count))
                        if not chunk:
                            raise OssError("InternalError", "Source object data is shorter than its size.")
                        count -= len(chunk)
                        crc = crc64(chunk, crc)
                        if md5 is not None:
                            md5.update(chunk)
                        os.write(fd, chunk)
            done = True
        finally:
            os.close(fd)
            if not done:
                os.unlink(path)
        return crc, md5.digest() if md5 is not None else None

    def copy_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        reader = self._open_source(request)
        with reader:
            source = reader.meta
            meta_directive = _directive(request, "x-oss-metadata-directive", ("COPY", "REPLACE"))
            tag_directive = _directive(request, "x-oss-tagging-directive", ("Copy", "Replace"))
            acl = check_object_acl(request.header("x-oss-object-acl") or "default")
            check_public_acl_allowed(self.store, request.bucket, acl)
            tagging = request.header("x-oss-tagging")
            tags = source.tags if tag_directive == "COPY" else parse_tagging_header(tagging or "")
            storage_class = requested_storage_class(self.resource, request)
            self.resource.check_overwrite(request)
            rel, path = self.store.new_data_path(request.bucket)
            want_md5 = self.resource.want_md5(request)
            crc, md5 = self._copy_range(reader, 0, source.size, path, want_md5)
            replace = meta_directive == "REPLACE"
            meta = ObjectMeta(
                key=request.key,
                size=source.size,
                etag=md5.hex().upper() if md5 is not None else pseudo_etag(crc, source.size),
                crc64=crc,
                content_type=(request.header("Content-Type") or source.content_type) if replace
                else source.content_type,
                user_meta=replaced_user_meta(source.user_meta, request.user_meta()) if replace
                else dict(source.user_meta),
                headers=self.resource.stored_headers(request) if replace else dict(source.headers),
                last_modified=time.time(),
                object_type="Normal",
                segments=[(rel, source.size)],
                version=os.urandom(8).hex(),
                content_md5=None,
                acl=acl,
                tags=tags,
                storage_class=storage_class,
            )
        self.store.commit_object(request.bucket, meta)
        body = document("CopyObjectResult", [("ETag", quoted(meta.etag)), ("LastModified", iso8601(meta.last_modified))])
        response = xml_response(body)
        response.set("ETag", quoted(meta.etag))
        response.set("x-oss-hash-crc64ecma", str(meta.crc64))
        return response

    def upload_part_copy(self, request: Request, upload_id: str, number: int) -> Response:
        if not 1 <= number <= MAX_PART_NUMBER:
            raise OssError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.",
                           ArgumentName="partNumber", ArgumentValue=str(number))
        self.store.get_upload(request.bucket, request.key, upload_id)
        reader = self._open_source(request)
        with reader:
            start, length = parse_source_range(request.header("x-oss-copy-source-range"), reader.meta.size)
            if length > MAX_PART_COPY:
                raise OssError("EntityTooLarge")
            name, path = self.store.new_part_path(request.bucket, upload_id)
            crc, md5 = self._copy_range(reader, start, length, path, self.resource.want_md5(request))
        etag = md5.hex().upper() if md5 is not None else pseudo_etag(crc, length)
        part = PartMeta(number, length, etag, crc, time.time(), name, md5.hex() if md5 is not None else None)
        self.store.commit_part(request.bucket, request.key, upload_id, part)
        body = document("CopyPartResult", [("LastModified", iso8601(part.last_modified)), ("ETag", quoted(etag))])
        response = xml_response(body)
        response.set("ETag", quoted(etag))
        response.set("x-oss-hash-crc64ecma", str(crc))
        response.set("Last-Modified", http_date(part.last_modified))
        return response


CLIENT_ENCRYPTION_META = "x-oss-meta-client-side-encryption-"


def replaced_user_meta(source: Dict[str, str], requested: Dict[str, str]) -> Dict[str, str]:
    """A REPLACE copy's user metadata: what the request sends, plus the source's client-side
    encryption metadata (``x-oss-meta-client-side-encryption-*``), which OSS keeps with the data
    it describes unless the request sets it."""
    kept = {k: v for k, v in source.items() if k.startswith(CLIENT_ENCRYPTION_META)}
    return {**kept, **requested}
