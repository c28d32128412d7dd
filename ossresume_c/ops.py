"""One function per OSS REST operation the engines use.

Each returns ``(Status, result)``.  Bucket names are checked before any request
(the C SDK rule, -994 ``BucketNameInvalidError``).
"""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote
from xml.sax.saxutils import escape

import requests

from . import status as st
from .transport import Transport

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1023
CRC_HEADER = "x-oss-hash-crc64ecma"


def check_bucket_name(bucket: object) -> Optional[st.Status]:
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        return st.Status(st.INVALID_ARGUMENT, "BucketNameInvalidError",
                         f"invalid bucket name {bucket!r}: 3-63 characters of a-z, 0-9 and '-', "
                         "not starting or ending with '-'")
    return None


def check_key(key: object) -> Optional[st.Status]:
    if not isinstance(key, str) or not key:
        return st.Status(st.INVALID_ARGUMENT, "ObjectNameInvalidError", "object key is empty")
    try:
        n = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return st.Status(st.INVALID_ARGUMENT, "ObjectNameInvalidError", "object key is not valid UTF-8")
    if n > MAX_KEY_BYTES or key.startswith("/") or key.startswith("\\"):
        return st.Status(st.INVALID_ARGUMENT, "ObjectNameInvalidError",
                         "object key must be 1-1023 bytes and not start with '/' or '\\'")
    return None


def _check(bucket: object, key: object = None) -> Optional[st.Status]:
    return check_bucket_name(bucket) or (check_key(key) if key is not None else None)


def header(resp_headers: Mapping[str, str], name: str) -> Optional[str]:
    value = resp_headers.get(name)
    if value is None:
        lname = name.lower()
        for k, v in resp_headers.items():
            if k.lower() == lname:
                return v
    return value


def response_crc(resp_headers: Mapping[str, str]) -> Optional[int]:
    value = header(resp_headers, CRC_HEADER)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _xml(body: bytes, what: str) -> Tuple[Optional[st.Status], Optional[ET.Element]]:
    try:
        return None, ET.fromstring(body)
    except ET.ParseError as exc:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError", f"{what}: {exc}"), None


def _t(node: ET.Element, tag: str, default: str = "") -> str:
    child = node.find(tag)
    return child.text or default if child is not None else default


# -- objects ------------------------------------------------------------------

@dataclass
class ObjectMeta:
    size: int
    etag: str
    last_modified: str
    crc64: Optional[int]
    content_type: str
    object_type: str
    headers: dict


def put_object(t: Transport, bucket: str, key: str, body: object,
               headers: Optional[Mapping[str, str]] = None,
               expect_crc: Optional[int] = None) -> Tuple[st.Status, Optional[int]]:
    """PutObject; result is the server's CRC-64.  ``expect_crc`` turns a
    mismatch into a retried -978."""
    err = _check(bucket, key)
    if err:
        return err, None

    def consume(resp: requests.Response):
        resp.content  # drain, so that the connection goes back to the pool (else: a new one per file)
        crc = response_crc(resp.headers)
        if expect_crc is not None and t.ctl.enable_crc and crc is not None and crc != expect_crc:
            return _crc_mismatch("PutObject", expect_crc, crc, resp), crc
        return None, crc

    reply = t.send("PutObject", "PUT", bucket, key, (), headers, body if body is not None else b"",
                   consume=consume)
    return reply.status, reply.result


def head_object(t: Transport, bucket: str, key: str,
                headers: Optional[Mapping[str, str]] = None) -> Tuple[st.Status, Optional[ObjectMeta]]:
    err = _check(bucket, key)
    if err:
        return err, None
    reply = t.send("HeadObject", "HEAD", bucket, key, (), headers)
    if not reply.status.is_ok():
        return reply.status, None
    h = reply.status.resp_headers
    try:
        size = int(header(h, "Content-Length") or "")
    except ValueError:
        size = -1
    etag = header(h, "ETag") or ""
    last_modified = header(h, "Last-Modified") or ""
    if size < 0 or not etag or not last_modified:
        return st.Status(st.INTERNAL_ERROR, "ServerError",
                         "HEAD response lacks Content-Length, ETag or Last-Modified",
                         reply.status.req_id, h), None
    return reply.status, ObjectMeta(size, etag, last_modified, response_crc(h),
                                    header(h, "Content-Type") or "",
                                    header(h, "x-oss-object-type") or "", h)


def get_object(t: Transport, bucket: str, key: str, byte_range: Optional[Tuple[int, int]] = None,
               headers: Optional[Mapping[str, str]] = None,
               consume: Optional[Callable[[requests.Response], Tuple[Optional[st.Status], object]]] = None
               ) -> Tuple[st.Status, object]:
    """GetObject.  With ``consume`` the body is streamed to it (retried from the
    start on a broken stream); without, the result is the body bytes.
    ``byte_range`` is inclusive ``(first, last)``."""
    err = _check(bucket, key)
    if err:
        return err, None
    hdrs = dict(headers or {})
    if byte_range is not None:
        hdrs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    reply = t.send("GetObject", "GET", bucket, key, (), hdrs, consume=consume)
    return reply.status, reply.result


def delete_object(t: Transport, bucket: str, key: str) -> st.Status:
    err = _check(bucket, key)
    if err:
        return err
    return t.send("DeleteObject", "DELETE", bucket, key).status


# -- multipart ----------------------------------------------------------------

def initiate_multipart_upload(t: Transport, bucket: str, key: str,
                              headers: Optional[Mapping[str, str]] = None
                              ) -> Tuple[st.Status, Optional[str]]:
    err = _check(bucket, key)
    if err:
        return err, None
    reply = t.send("InitiateMultipartUpload", "POST", bucket, key, [("uploads", None)], headers)
    if not reply.status.is_ok():
        return reply.status, None
    err, root = _xml(reply.result or b"", "InitiateMultipartUpload")
    if err or root is None:
        return err or st.Status(st.XML_PARSE_ERROR, "XmlParseError", "empty body"), None
    upload_id = _t(root, "UploadId")
    if not upload_id:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError", "InitiateMultipartUpload: no UploadId",
                         reply.status.req_id), None
    return reply.status, upload_id


@dataclass
class PartResult:
    etag: str
    crc64: Optional[int]


def part_query(part_number: int, upload_id: str) -> List[Tuple[str, Optional[str]]]:
    return [("partNumber", str(part_number)), ("uploadId", upload_id)]


def upload_part(t: Transport, bucket: str, key: str, upload_id: str, part_number: int,
                body: object, expect_crc: Optional[int] = None, content_md5: Optional[bytes] = None,
                headers: Optional[Mapping[str, str]] = None,
                query: Optional[Sequence[Tuple[str, Optional[str]]]] = None
                ) -> Tuple[st.Status, Optional[PartResult]]:
    """UploadPart; a CRC-64 mismatch against ``expect_crc`` is a retried -978.
    ``query`` replaces the query (a presigned one: ``presigned_part_query``)."""
    hdrs = dict(headers or {})
    if content_md5 is not None:
        hdrs["Content-MD5"] = base64.b64encode(content_md5).decode("ascii")

    def consume(resp: requests.Response):
        resp.content  # drain, so that the connection goes back to the pool
        crc = response_crc(resp.headers)
        res = PartResult(header(resp.headers, "ETag") or "", crc)
        if expect_crc is not None and t.ctl.enable_crc and crc is not None and crc != expect_crc:
            return _crc_mismatch(f"UploadPart {part_number}", expect_crc, crc, resp), res
        return None, res

    reply = t.send("UploadPart", "PUT", bucket, key,
                   query or part_query(part_number, upload_id), hdrs, body, consume=consume)
    return reply.status, reply.result


@dataclass
class CompleteResult:
    etag: str
    crc64: Optional[int]
    body: bytes


def complete_multipart_upload(t: Transport, bucket: str, key: str, upload_id: str,
                              parts: Sequence[Tuple[int, str]],
                              headers: Optional[Mapping[str, str]] = None
                              ) -> Tuple[st.Status, Optional[CompleteResult]]:
    """CompleteMultipartUpload with the given ``(part_number, etag)`` list (ascending)."""
    items = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
                    for n, etag in parts)
    body = f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode("utf-8")
    hdrs = {"Content-Type": "application/xml"}
    hdrs.update(headers or {})
    reply = t.send("CompleteMultipartUpload", "POST", bucket, key, [("uploadId", upload_id)], hdrs,
                   body)
    if not reply.status.is_ok():
        return reply.status, None
    content = reply.result or b""
    reply.status.resp_body = [content] if content else []
    h = reply.status.resp_headers
    return reply.status, CompleteResult((header(h, "ETag") or "").strip(), response_crc(h), content)


def abort_multipart_upload(t: Transport, bucket: str, key: str, upload_id: str) -> st.Status:
    err = _check(bucket, key)
    if err:
        return err
    return t.send("AbortMultipartUpload", "DELETE", bucket, key, [("uploadId", upload_id)]).status


@dataclass
class ListedPart:
    number: int
    etag: str
    size: int
    crc64: Optional[int]
    last_modified: str


def list_parts(t: Transport, bucket: str, key: str, upload_id: str, max_parts: int = 1000
               ) -> Tuple[st.Status, List[ListedPart]]:
    """ListParts, following pagination to the end."""
    err = _check(bucket, key)
    if err:
        return err, []
    parts: List[ListedPart] = []
    marker = "0"
    for _ in range(20000):  # bounded: a server that never stops truncating is an error
        reply = t.send("ListParts", "GET", bucket, key,
                       [("uploadId", upload_id), ("max-parts", str(max_parts)),
                        ("part-number-marker", marker)])
        if not reply.status.is_ok():
            return reply.status, parts
        err, root = _xml(reply.result or b"", "ListParts")
        if err or root is None:
            return err or st.Status(st.XML_PARSE_ERROR, "XmlParseError", "ListParts: empty"), parts
        try:
            for p in root.findall("Part"):
                crc = _t(p, "HashCrc64ecma")
                parts.append(ListedPart(int(_t(p, "PartNumber")), _t(p, "ETag"), int(_t(p, "Size")),
                                        int(crc) if crc else None, _t(p, "LastModified")))
        except ValueError as exc:
            return st.Status(st.XML_PARSE_ERROR, "XmlParseError", f"ListParts: {exc}"), parts
        if _t(root, "IsTruncated").lower() != "true":
            return reply.status, parts
        nxt = _t(root, "NextPartNumberMarker")
        if not nxt or nxt == marker:
            return st.Status(st.XML_PARSE_ERROR, "XmlParseError",
                             "ListParts: truncated without a new marker"), parts
        marker = nxt
    return st.Status(st.INTERNAL_ERROR, "ServerError", "ListParts did not end"), parts


@dataclass
class ListedUpload:
    key: str
    upload_id: str
    initiated: str


def list_multipart_uploads(t: Transport, bucket: str, prefix: str = "", max_uploads: int = 1000
                           ) -> Tuple[st.Status, List[ListedUpload]]:
    err = _check(bucket)
    if err:
        return err, []
    uploads: List[ListedUpload] = []
    key_marker, id_marker = "", ""
    for _ in range(100000):
        query = [("uploads", None), ("max-uploads", str(max_uploads))]
        if prefix:
            query.append(("prefix", prefix))
        if key_marker:
            query.append(("key-marker", key_marker))
        if id_marker:
            query.append(("upload-id-marker", id_marker))
        reply = t.send("ListMultipartUploads", "GET", bucket, None, query)
        if not reply.status.is_ok():
            return reply.status, uploads
        err, root = _xml(reply.result or b"", "ListMultipartUploads")
        if err or root is None:
            return err or st.Status(st.XML_PARSE_ERROR, "XmlParseError", "empty"), uploads
        for u in root.findall("Upload"):
            uploads.append(ListedUpload(_t(u, "Key"), _t(u, "UploadId"), _t(u, "Initiated")))
        if _t(root, "IsTruncated").lower() != "true":
            return reply.status, uploads
        nk, ni = _t(root, "NextKeyMarker"), _t(root, "NextUploadIdMarker")
        if (nk, ni) == (key_marker, id_marker):
            return st.Status(st.XML_PARSE_ERROR, "XmlParseError",
                             "ListMultipartUploads: truncated without new markers"), uploads
        key_marker, id_marker = nk, ni
    return st.Status(st.INTERNAL_ERROR, "ServerError", "ListMultipartUploads did not end"), uploads


def _crc_mismatch(what: str, expected: int, got: int, resp: requests.Response) -> st.Status:
    return st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                     f"{what}: CRC-64 mismatch, local {expected}, server {got}",
                     header(resp.headers, "x-oss-request-id") or "", dict(resp.headers))


@dataclass
class ListedObject:
    key: str
    size: int
    etag: str


def list_objects_v2(t: Transport, bucket: str, prefix: str, token: str = "", max_keys: int = 1000
                    ) -> Tuple[st.Status, List[ListedObject], str]:
    """One page of ListObjectsV2 under ``prefix`` (URL-encoded keys); the third
    result is the continuation token, ``""`` on the last page."""
    err = _check(bucket)
    if err:
        return err, [], ""
    query = [("list-type", "2"), ("max-keys", str(max_keys)), ("encoding-type", "url"),
             ("prefix", prefix)]
    if token:
        query.append(("continuation-token", token))
    reply = t.send("ListObjectsV2", "GET", bucket, None, query)
    if not reply.status.is_ok():
        return reply.status, [], ""
    err, root = _xml(reply.result or b"", "ListObjectsV2")
    if err or root is None:
        return err or st.Status(st.XML_PARSE_ERROR, "XmlParseError", "ListObjectsV2: empty"), [], ""
    try:
        found = [ListedObject(unquote(_t(c, "Key")), int(_t(c, "Size")), _t(c, "ETag"))
                 for c in root.findall("Contents")]
    except ValueError as exc:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError", f"ListObjectsV2: {exc}"), [], ""
    nxt = _t(root, "NextContinuationToken") if _t(root, "IsTruncated").lower() == "true" else ""
    if nxt and nxt == token:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError",
                         "ListObjectsV2: truncated without a new token"), found, ""
    return reply.status, found, nxt
