"""One function per OSS REST operation the engines use.

Each returns ``(Status, result)``.  Bucket names are checked before any request
(the C SDK rule, -994 ``BucketNameInvalidError``).
"""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote

from . import status as st
from . import wire
from .transport import Reply, Transport

if TYPE_CHECKING:
    import requests

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
    """The CRC-64 header's value; None when absent or not a 64-bit decimal."""
    return wire.uint(header(resp_headers, CRC_HEADER))


def _crc_header(resp: requests.Response, what: str) -> Tuple[Optional[st.Status], Optional[int]]:
    """The CRC-64 header: absent is None, present but not a 64-bit decimal is a -996."""
    value = header(resp.headers, CRC_HEADER)
    crc = wire.uint(value)
    if value is not None and crc is None:
        return _broken_header(what, CRC_HEADER, value, resp), None
    return None, crc


def _broken_header(what: str, name: str, value: object, resp: requests.Response) -> st.Status:
    """-996 for a response header that cannot be read (retried by the transport)."""
    return st.Status(st.INTERNAL_ERROR, "ServerError", f"{what}: broken {name} header {value!r:.80}",
                     header(resp.headers, "x-oss-request-id") or "", dict(resp.headers))


def _parse_error(what: str, detail: str, resp: Optional[requests.Response] = None) -> st.Status:
    """-980 for a 2xx body that is not the expected XML (retried by the transport)."""
    req_id = (header(resp.headers, "x-oss-request-id") or "") if resp is not None else ""
    return st.Status(st.XML_PARSE_ERROR, "XmlParseError", f"{what}: {detail}", req_id)


def _send_xml(t: Transport, op: str, root_tag: str, parse: Callable[[ET.Element], Any],
              method: str, bucket: Optional[str], key: Optional[str], query: Any,
              headers: Optional[Mapping[str, str]] = None) -> Reply:
    """Send a request whose 2xx body is the XML document ``root_tag``; ``parse(root)``
    gives the result or raises ValueError.  A body that does not parse is a -980
    inside the retry loop, so that a damaged response is fetched again."""
    def consume(resp: requests.Response) -> Tuple[Optional[st.Status], Any]:
        root = wire.xml_root(resp.content)
        if root is None:
            return _parse_error(op, "the response body is not XML", resp), None
        if root.tag.rpartition("}")[2] != root_tag:
            return _parse_error(op, f"<{root.tag:.40}> instead of <{root_tag}>", resp), None
        try:
            return None, parse(root)
        except ValueError as exc:
            return _parse_error(op, str(exc), resp), None

    return t.send(op, method, bucket, key, query, headers, consume=consume, lean=True)


def xml_escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities (what xml.sax.saxutils.escape does,
    without importing urllib.request with it)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _t(node: ET.Element, tag: str, default: str = "") -> str:
    child = node.find(tag)
    return child.text or default if child is not None else default


def _uint(node: ET.Element, tag: str) -> int:
    value = wire.uint(_t(node, tag))
    if value is None:
        raise ValueError(f"<{tag}> is not a number")
    return value


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
        resp.content  # drain, so that the connection goes back to the pool
        err, crc = _crc_header(resp, "PutObject")
        if err:
            return err, None
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
    reply = t.send("HeadObject", "HEAD", bucket, key, (), headers, consume=_object_meta, lean=True)
    return reply.status, reply.result if reply.status.is_ok() else None


def _object_meta(resp: requests.Response) -> Tuple[Optional[st.Status], Optional[ObjectMeta]]:
    """The HEAD response's headers as ObjectMeta; a missing or broken one is a -996."""
    h = resp.headers
    size = wire.uint(header(h, "Content-Length"))
    etag = wire.etag(header(h, "ETag"))
    last_modified = header(h, "Last-Modified") or ""
    for name, ok in (("Content-Length", size is not None), ("ETag", etag is not None),
                     ("Last-Modified", wire.http_date(last_modified) is not None)):
        if not ok:
            return _broken_header("HeadObject", name, header(h, name), resp), None
    err, crc = _crc_header(resp, "HeadObject")
    if err:
        return err, None
    assert size is not None and etag is not None
    return None, ObjectMeta(size, etag, last_modified, crc, header(h, "Content-Type") or "",
                            header(h, "x-oss-object-type") or "", dict(h))


def get_object(t: Transport, bucket: str, key: str, byte_range: Optional[Tuple[int, int]] = None,
               headers: Optional[Mapping[str, str]] = None,
               consume: Optional[Callable[[requests.Response], Tuple[Optional[st.Status], object]]] = None,
               after: Optional[st.Status] = None) -> Tuple[st.Status, object]:
    """GetObject.  With ``consume`` the body is streamed to it (retried from the
    start on a broken stream); without, the result is the body bytes.
    ``byte_range`` is inclusive ``(first, last)``; ``after``: a first attempt's
    retryable Status (``Transport.send``)."""
    err = _check(bucket, key)
    if err:
        return err, None
    hdrs = dict(headers or {})
    if byte_range is not None:
        hdrs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    reply = t.send("GetObject", "GET", bucket, key, (), hdrs, consume=consume, after=after)
    return reply.status, reply.result


def delete_object(t: Transport, bucket: str, key: str) -> st.Status:
    err = _check(bucket, key)
    if err:
        return err
    return t.send("DeleteObject", "DELETE", bucket, key, lean=True).status


# -- multipart ----------------------------------------------------------------

def initiate_multipart_upload(t: Transport, bucket: str, key: str,
                              headers: Optional[Mapping[str, str]] = None
                              ) -> Tuple[st.Status, Optional[str]]:
    err = _check(bucket, key)
    if err:
        return err, None
    def upload_id(root: ET.Element) -> str:
        value = _t(root, "UploadId").strip()
        if not value or not value.isascii() or not value.isprintable() or " " in value:
            raise ValueError("no usable <UploadId>")
        return value

    reply = _send_xml(t, "InitiateMultipartUpload", "InitiateMultipartUploadResult", upload_id,
                      "POST", bucket, key, [("uploads", None)], headers)
    return reply.status, reply.result if reply.status.is_ok() else None


@dataclass
class PartResult:
    etag: str
    crc64: Optional[int]


def part_query(part_number: int, upload_id: str) -> List[Tuple[str, Optional[str]]]:
    return [("partNumber", str(part_number)), ("uploadId", upload_id)]


def upload_part(t: Transport, bucket: str, key: str, upload_id: str, part_number: int,
                body: object, expect_crc: Optional[int] = None, content_md5: Optional[bytes] = None,
                headers: Optional[Mapping[str, str]] = None,
                query: Optional[Sequence[Tuple[str, Optional[str]]]] = None,
                after: Optional[st.Status] = None) -> Tuple[st.Status, Optional[PartResult]]:
    """UploadPart; a CRC-64 mismatch against ``expect_crc`` is a retried -978.
    ``query`` replaces the query (a presigned one: ``presigned_part_query``);
    ``after``: a first attempt's retryable Status (``Transport.send``)."""
    hdrs = dict(headers or {})
    if content_md5 is not None:
        hdrs["Content-MD5"] = base64.b64encode(content_md5).decode("ascii")

    def consume(resp: requests.Response):
        resp.content  # drain, so that the connection goes back to the pool
        err, crc = _crc_header(resp, f"UploadPart {part_number}")
        etag = wire.etag(header(resp.headers, "ETag"))
        if err or etag is None:
            return err or _broken_header(f"UploadPart {part_number}", "ETag",
                                         header(resp.headers, "ETag"), resp), None
        res = PartResult(etag, crc)
        if expect_crc is not None and t.ctl.enable_crc and crc is not None and crc != expect_crc:
            return _crc_mismatch(f"UploadPart {part_number}", expect_crc, crc, resp), res
        return None, res

    reply = t.send("UploadPart", "PUT", bucket, key,
                   query or part_query(part_number, upload_id), hdrs, body, consume=consume,
                   after=after)
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
    items = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{xml_escape(etag)}</ETag></Part>"
                    for n, etag in parts)
    body = f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode("utf-8")
    hdrs = {"Content-Type": "application/xml"}
    hdrs.update(headers or {})
    reply = t.send("CompleteMultipartUpload", "POST", bucket, key, [("uploadId", upload_id)], hdrs,
                   body, lean=True)
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
    return t.send("AbortMultipartUpload", "DELETE", bucket, key, [("uploadId", upload_id)],
                  lean=True).status


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
        reply = _send_xml(t, "ListParts", "ListPartsResult", _parts_page, "GET", bucket, key,
                          [("uploadId", upload_id), ("max-parts", str(max_parts)),
                           ("part-number-marker", marker)])
        if not reply.status.is_ok():
            return reply.status, parts
        page, truncated, nxt = reply.result
        parts.extend(page)
        if not truncated:
            return reply.status, parts
        if not nxt or nxt == marker:
            return _parse_error("ListParts", "truncated without a new marker"), parts
        marker = nxt
    return st.Status(st.INTERNAL_ERROR, "ServerError", "ListParts did not end"), parts


def _parts_page(root: ET.Element) -> Tuple[List[ListedPart], bool, str]:
    page = []
    for p in root.findall("Part"):
        crc = _t(p, "HashCrc64ecma")
        crc64 = wire.uint(crc) if crc else None
        if crc and crc64 is None:
            raise ValueError("<HashCrc64ecma> is not a 64-bit number")
        page.append(ListedPart(_uint(p, "PartNumber"), _t(p, "ETag"), _uint(p, "Size"), crc64,
                               _t(p, "LastModified")))
    return page, _t(root, "IsTruncated").lower() == "true", _t(root, "NextPartNumberMarker")


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
        reply = _send_xml(t, "ListMultipartUploads", "ListMultipartUploadsResult", _uploads_page,
                          "GET", bucket, None, query)
        if not reply.status.is_ok():
            return reply.status, uploads
        page, truncated, markers = reply.result
        uploads.extend(page)
        if not truncated:
            return reply.status, uploads
        if markers == (key_marker, id_marker):
            return _parse_error("ListMultipartUploads", "truncated without new markers"), uploads
        key_marker, id_marker = markers
    return st.Status(st.INTERNAL_ERROR, "ServerError", "ListMultipartUploads did not end"), uploads


def _uploads_page(root: ET.Element) -> Tuple[List[ListedUpload], bool, Tuple[str, str]]:
    page = [ListedUpload(_t(u, "Key"), _t(u, "UploadId"), _t(u, "Initiated"))
            for u in root.findall("Upload")]
    return (page, _t(root, "IsTruncated").lower() == "true",
            (_t(root, "NextKeyMarker"), _t(root, "NextUploadIdMarker")))


def _crc_mismatch(what: str, expected: int, got: int, resp: requests.Response) -> st.Status:
    return st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                     f"{what}: CRC-64 mismatch, local {expected}, server {got}",
                     header(resp.headers, "x-oss-request-id") or "", dict(resp.headers))


@dataclass
class ListedObject:
    """An object of a listing, or with ``is_prefix`` a common prefix ("directory")."""

    key: str
    size: int = 0
    etag: str = ""              # as the server sent it (quoted)
    last_modified: str = ""
    storage_class: str = ""
    is_prefix: bool = False


def list_objects_v2(t: Transport, bucket: str, prefix: str, token: str = "", max_keys: int = 1000,
                    delimiter: str = "") -> Tuple[st.Status, List[ListedObject], str]:
    """One page of ListObjectsV2 under ``prefix`` (URL-encoded keys; with ``delimiter``,
    the common prefixes too, merged in key order); the third result is the
    continuation token, ``""`` on the last page."""
    err = _check(bucket)
    if err:
        return err, [], ""
    query = [("list-type", "2"), ("max-keys", str(max_keys)), ("encoding-type", "url"),
             ("prefix", prefix)]
    if delimiter:
        query.append(("delimiter", delimiter))
    if token:
        query.append(("continuation-token", token))

    def parse(root: ET.Element) -> Tuple[List[ListedObject], str]:
        found = [ListedObject(unquote(_t(c, "Key")), _uint(c, "Size"), _t(c, "ETag"),
                              _t(c, "LastModified"), _t(c, "StorageClass"))
                 for c in root.findall("Contents")]
        prefixes = [ListedObject(unquote(_t(c, "Prefix")), is_prefix=True)
                    for c in root.findall("CommonPrefixes")]
        if prefixes:
            found = sorted(found + prefixes, key=lambda o: o.key)
        truncated = _t(root, "IsTruncated").lower() == "true"
        return found, (_t(root, "NextContinuationToken") if truncated else "")

    reply = _send_xml(t, "ListObjectsV2", "ListBucketResult", parse, "GET", bucket, None, query)
    if not reply.status.is_ok():
        return reply.status, [], ""
    found, nxt = reply.result
    if nxt and nxt == token:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError",
                         "ListObjectsV2: truncated without a new token"), found, ""
    return reply.status, found, nxt
