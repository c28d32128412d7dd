"""The OSS operations of docs/protocol.md: checks in the documented order, headers, XML.

Each operation takes a parsed ``Request`` and returns a ``Response`` or raises
``OssError``. Authentication, faults and the HTTP framing happen around them
(``server.py``); data goes through ``store.py``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate, parsedate_to_datetime
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, unquote

from . import ranges
from .checksums import crc64_combine
from .config import MIN_PART_SIZE, EmulatorConfig
from .errors import OssError
from .exchange import ObjectStream, Request, Response
from .ingest import Received, TooLarge, receive_to_file
from .listing import paginate
from .routing import check_bucket, check_key
from .store import MAX_PART_NUMBER, ObjectMeta, PartMeta, Store
from .xmlout import Element, document, encode_name, iso8601

log = logging.getLogger("ossresume_c.emulator")

STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MAX_XML_BODY = 8 * 1024 * 1024
OWNER_ID = "1000000000000000"


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def _parse_http_date(text: Optional[str]) -> Optional[float]:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OssError("InvalidArgument", f"{name} must be an integer.", ArgumentName=name, ArgumentValue=raw) from None
    if not low <= value <= high:
        raise OssError(
            "InvalidArgument", f"{name} must be between {low} and {high}.", ArgumentName=name, ArgumentValue=raw
        )
    return value


def _encoding_type(request: Request) -> Optional[str]:
    value = request.param("encoding-type")
    if value is None or value == "":
        return None
    if value != "url":
        raise OssError("InvalidArgument", "encoding-type must be 'url'.", ArgumentName="encoding-type", ArgumentValue=value)
    return value


def _content_md5(request: Request) -> Optional[bytes]:
    """The decoded Content-MD5 header, or None; a malformed one is InvalidDigest."""
    value = request.header("Content-MD5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise OssError("InvalidDigest") from None
    if len(digest) != 16:
        raise OssError("InvalidDigest")
    return digest


def _pseudo_etag(crc: int, size: int) -> str:
    """Benchmark-mode ETag: 32 hex characters from the CRC-64 and the size (no MD5)."""
    return f"{crc:016X}{size & 0xFFFFFFFFFFFFFFFF:016X}"


class Operations:
    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config
        self.handlers: Dict[str, Callable[[Request], Response]] = {
            "ListBuckets": self.list_buckets,
            "PutBucket": self.put_bucket,
            "DeleteBucket": self.delete_bucket,
            "GetBucketInfo": self.get_bucket_info,
            "GetBucketLocation": self.get_bucket_location,
            "GetBucketAcl": self.get_bucket_acl,
            "ListObjects": self.list_objects,
            "ListMultipartUploads": self.list_multipart_uploads,
            "DeleteMultipleObjects": self.delete_multiple_objects,
            "InitiateMultipartUpload": self.initiate_multipart_upload,
            "UploadPart": self.upload_part,
            "CompleteMultipartUpload": self.complete_multipart_upload,
            "ListParts": self.list_parts,
            "AbortMultipartUpload": self.abort_multipart_upload,
            "PutObject": self.put_object,
            "GetObject": self.get_object,
            "HeadObject": self.head_object,
            "GetObjectMeta": self.get_object_meta,
            "DeleteObject": self.delete_object,
        }

    def handle(self, request: Request) -> Response:
        handler = self.handlers.get(request.op)
        if handler is None:
            raise OssError("NotImplemented", f"The emulator does not implement this operation ({request.method}).")
        if request.target.level != "service":
            check_bucket(request.bucket)
        if request.target.level == "object":
            check_key(request.key)
        return handler(request)

    # ------------------------------------------------------------------ helpers
    def _location(self) -> str:
        return self.config.region if self.config.region.startswith("oss-") else f"oss-{self.config.region}"

    def _want_md5(self, request: Request) -> bool:
        return not self.config.benchmark_mode or request.header("Content-MD5") is not None

    def _receive(self, request: Request, path: str, want_md5: bool) -> Received:
        """Stream the body into a new file at ``path``; the file is removed if that fails."""
        body = request.body
        if body is None:
            raise OssError("MissingContentLength")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        completed = False
        try:
            received = receive_to_file(body, fd, want_md5, self.config.max_object_size, self.config.direct_io)
            completed = True
            return received
        except TooLarge:
            raise OssError("EntityTooLarge") from None
        finally:
            os.close(fd)
            if not completed:
                try:
                    os.unlink(path)
                except OSError:
                    pass

    @staticmethod
    def _etag_and_md5(received: Received, expected_md5: Optional[bytes]) -> Tuple[str, Optional[str]]:
        """(ETag, Content-MD5 base64) of a received body; InvalidDigest on mismatch."""
        if expected_md5 is not None and received.md5 != expected_md5:
            raise OssError("InvalidDigest")
        if received.md5 is None:
            return _pseudo_etag(received.crc64, received.size), None
        return received.md5.hex().upper(), base64.b64encode(received.md5).decode("ascii")

    def _stored_headers(self, request: Request) -> Dict[str, str]:
        out = {}
        for name in STORED_HEADERS:
            value = request.header(name)
            if value is not None:
                out[name] = value
        return out

    # ------------------------------------------------------------------ service / buckets
    def list_buckets(self, request: Request) -> Response:
        buckets: List[Element] = []
        location = self._location()
        for name, created in self.store.bucket_names():
            buckets.append(
                (
                    "Bucket",
                    [
                        ("CreationDate", iso8601(created)),
                        ("ExtranetEndpoint", request.host),
                        ("IntranetEndpoint", request.host),
                        ("Location", location),
                        ("Name", name),
                        ("Region", self.config.region),
                        ("StorageClass", "Standard"),
                    ],
                )
            )
        body = document(
            "ListAllMyBucketsResult",
            [("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_ID)]), ("Buckets", buckets)],
        )
        return Response(200, [("Content-Type", "application/xml")], body)

    def put_bucket(self, request: Request) -> Response:
        if request.body is not None:
            request.body.discard(1 << 20)
        self.store.create_bucket(request.bucket)  # an existing bucket of ours: 200, as OSS
        return Response(200, [("Location", f"/{request.bucket}")])

    def delete_bucket(self, request: Request) -> Response:
        self.store.delete_bucket(request.bucket)
        return Response(204)

    def get_bucket_info(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        body = document(
            "BucketInfo",
            [
                (
                    "Bucket",
                    [
                        ("CreationDate", iso8601(self.store.bucket_created(request.bucket))),
                        ("ExtranetEndpoint", request.host),
                        ("IntranetEndpoint", request.host),
                        ("Location", self._location()),
                        ("StorageClass", "Standard"),
                        ("Name", request.bucket),
                        ("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_ID)]),
                        ("AccessControlList", [("Grant", "private")]),
                    ],
                )
            ],
        )
        return Response(200, [("Content-Type", "application/xml")], body)

    def get_bucket_location(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        body = document("LocationConstraint", []).replace(
            b"<LocationConstraint></LocationConstraint>",
            f"<LocationConstraint>{self._location()}</LocationConstraint>".encode(),
        )
        return Response(200, [("Content-Type", "application/xml")], body)

    def get_bucket_acl(self, request: Request) -> Response:
        """Every bucket is private (anonymous mode aside); SDKs probe existence with this."""
        self.store.require_bucket(request.bucket)
        body = document(
            "AccessControlPolicy",
            [("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_ID)]), ("AccessControlList", [("Grant", "private")])],
        )
        return Response(200, [("Content-Type", "application/xml")], body)

    def list_objects(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        v2 = request.param("list-type") == "2"
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        limit = _int_param(request, "max-keys", 100, 0, 1000)
        if v2:
            token = request.param("continuation-token") or ""
            marker = token or request.param("start-after") or ""
            if token:
                try:
                    marker = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    raise OssError("InvalidArgument", "Invalid continuation-token.") from None
        else:
            marker = request.param("marker") or ""
        metas = self.store.list_objects(request.bucket)
        page = paginate([(m.key, "", m) for m in metas], prefix, delimiter, marker, "", limit)

        def enc(value: str) -> str:
            return encode_name(value, encoding)

        elements: List[Element] = [("Name", request.bucket), ("Prefix", enc(prefix))]
        if v2:
            if request.param("continuation-token"):
                elements.append(("ContinuationToken", request.param("continuation-token")))
            if request.param("start-after"):
                elements.append(("StartAfter", enc(request.param("start-after") or "")))
        else:
            elements.append(("Marker", enc(marker)))
        elements += [("MaxKeys", limit), ("Delimiter", enc(delimiter)), ("IsTruncated", page.truncated)]
        if page.truncated:
            if v2:
                token = base64.urlsafe_b64encode(page.next_key.encode("utf-8")).decode("ascii")
                elements.append(("NextContinuationToken", token))
            else:
                elements.append(("NextMarker", enc(page.next_key)))
        if encoding:
            elements.append(("EncodingType", encoding))
        if v2:
            elements.append(("KeyCount", len(page.entries) + len(page.prefixes)))
        for meta in page.entries:
            contents: List[Element] = [
                ("Key", enc(meta.key)),
                ("LastModified", iso8601(meta.last_modified)),
                ("ETag", quoted(meta.etag)),
                ("Type", meta.object_type),
                ("Size", meta.size),
                ("StorageClass", "Standard"),
            ]
            if not v2 or request.param("fetch-owner") == "true":
                contents.append(("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_ID)]))
            elements.append(("Contents", contents))
        for common in page.prefixes:
            elements.append(("CommonPrefixes", [("Prefix", enc(common))]))
        root = "ListBucketResult"
        return Response(200, [("Content-Type", "application/xml")], document(root, elements))

    def delete_multiple_objects(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        body = self._read_xml_body(request)
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise OssError("MalformedXML") from None
        if root.tag != "Delete":
            raise OssError("MalformedXML")
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        deleted: List[Element] = []
        for item in root.findall("Object"):
            key = item.findtext("Key")
            if key is None:
                raise OssError("MalformedXML")
            if encoding:
                key = unquote(key)
            check_key(key)
            self.store.delete_object(request.bucket, key)
            if not quiet:
                deleted.append(("Deleted", [("Key", encode_name(key, encoding))]))
        elements: List[Element] = list(deleted)
        if encoding:
            elements.append(("EncodingType", encoding))
        return Response(200, [("Content-Type", "application/xml")], document("DeleteResult", elements))

    # ------------------------------------------------------------------ multipart
    def initiate_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        if request.body is not None:
            request.body.discard(1 << 20)
        content_type = request.header("Content-Type") or "application/octet-stream"
        upload = self.store.create_upload(
            request.bucket, request.key, content_type, request.user_meta(), self._stored_headers(request)
        )
        elements: List[Element] = []
        if encoding:
            elements.append(("EncodingType", encoding))
        elements += [
            ("Bucket", request.bucket),
            ("Key", encode_name(request.key, encoding)),
            ("UploadId", upload.upload_id),
        ]
        return Response(200, [("Content-Type", "application/xml")], document("InitiateMultipartUploadResult", elements))

    def upload_part(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        upload_id = request.param("uploadId") or ""
        self.store.get_upload(request.bucket, request.key, upload_id)
        raw_number = request.param("partNumber") or ""
        try:
            number = int(raw_number)
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PART_NUMBER:
            raise OssError(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
                ArgumentName="partNumber",
                ArgumentValue=raw_number,
            )
        if request.header("x-oss-copy-source") is not None:
            raise OssError("NotImplemented", "UploadPartCopy is not implemented by the emulator.")
        self._check_body(request)
        expected_md5 = _content_md5(request)
        try:
            name, path = self.store.new_part_path(request.bucket, upload_id)
            received = self._receive(request, path, self._want_md5(request))
        except FileNotFoundError:  # aborted or completed while we were starting
            raise OssError("NoSuchUpload", UploadId=upload_id) from None
        try:
            etag, content_md5 = self._etag_and_md5(received, expected_md5)
        except OssError:
            os.unlink(path)
            raise
        part = PartMeta(
            number=number,
            size=received.size,
            etag=etag,
            crc64=received.crc64,
            last_modified=time.time(),
            data=name,
            md5=received.md5.hex() if received.md5 is not None else None,
        )
        self.store.commit_part(request.bucket, request.key, upload_id, part)
        response = Response(200, [("ETag", quoted(etag)), ("x-oss-hash-crc64ecma", str(received.crc64))])
        if content_md5 is not None:
            response.set("Content-MD5", content_md5)
        return response

    def _read_xml_body(self, request: Request) -> bytes:
        if request.body is None:
            return b""
        from .bodyio import BodyTooLarge

        try:
            return request.body.read_all(MAX_XML_BODY)
        except BodyTooLarge:
            raise OssError("MalformedXML", "The XML body is too large.") from None

    @staticmethod
    def _parse_complete_body(body: bytes) -> List[Tuple[int, str]]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise OssError("MalformedXML") from None
        if root.tag != "CompleteMultipartUpload":
            raise OssError("MalformedXML")
        parts: List[Tuple[int, str]] = []
        for element in root.findall("Part"):
            number_text = element.findtext("PartNumber")
            etag = element.findtext("ETag")
            if number_text is None or etag is None:
                raise OssError("MalformedXML")
            try:
                number = int(number_text.strip())
            except ValueError:
                raise OssError("MalformedXML") from None
            parts.append((number, etag.strip()))
        if not parts:
            raise OssError("MalformedXML")
        return parts

    def complete_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        upload_id = request.param("uploadId") or ""
        self.store.get_upload(request.bucket, request.key, upload_id)
        complete_all = (request.header("x-oss-complete-all") or "").lower() == "yes"
        body = self._read_xml_body(request)
        expected_md5 = _content_md5(request)
        if expected_md5 is not None and hashlib.md5(body).digest() != expected_md5:
            raise OssError("InvalidDigest")
        if complete_all:
            if body.strip():
                raise OssError(
                    "InvalidArgument",
                    "The body must be empty when x-oss-complete-all is yes.",
                    ArgumentName="x-oss-complete-all",
                    ArgumentValue="yes",
                )
            requested: Optional[List[Tuple[int, str]]] = None
        else:
            requested = self._parse_complete_body(body)
        with self.store.lock:
            upload = self.store.get_upload(request.bucket, request.key, upload_id)
            if requested is None:
                chosen = [upload.parts[n] for n in sorted(upload.parts)]
            else:
                previous = 0
                for number, _ in requested:
                    if number <= previous:
                        raise OssError("InvalidPartOrder")
                    previous = number
                chosen = []
                for number, etag in requested:
                    part = upload.parts.get(number)
                    if part is None or part.etag.lower() != etag.strip('"').lower():
                        raise OssError("InvalidPart", PartNumber=str(number), ETag=etag)
                    chosen.append(part)
            for part in chosen[:-1]:
                if part.size < MIN_PART_SIZE:
                    raise OssError(
                        "EntityTooSmall",
                        PartNumber=str(part.number),
                        ProposedSize=str(part.size),
                        MinSizeAllowed=str(MIN_PART_SIZE),
                    )
            digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in chosen)).hexdigest().upper()
            etag = f"{digest}-{len(chosen)}"
            crc = 0
            size = 0
            for part in chosen:
                crc = crc64_combine(crc, part.crc64, part.size)
                size += part.size
            meta = ObjectMeta(
                key=request.key,
                size=size,
                etag=etag,
                crc64=crc,
                content_type=upload.content_type,
                user_meta=dict(upload.user_meta),
                headers=dict(upload.headers),
                last_modified=time.time(),
                object_type="Multipart",
                segments=[(os.path.join("uploads", upload_id, p.data), p.size) for p in chosen],
                version=os.urandom(8).hex(),
                upload_id=upload_id,
            )
            self.store.complete_upload(request.bucket, upload, chosen, meta)
        location = f"http://{request.bucket}.{request.host}/{quote(request.key)}"
        elements: List[Element] = []
        if encoding:
            elements.append(("EncodingType", encoding))
        elements += [
            ("Location", location),
            ("Bucket", request.bucket),
            ("Key", encode_name(request.key, encoding)),
            ("ETag", quoted(etag)),
        ]
        headers = [
            ("Content-Type", "application/xml"),
            ("ETag", quoted(etag)),
            ("x-oss-hash-crc64ecma", str(crc)),
        ]
        return Response(200, headers, document("CompleteMultipartUploadResult", elements))

    def list_parts(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        upload_id = request.param("uploadId") or ""
        parts = self.store.list_parts(request.bucket, request.key, upload_id)
        limit = _int_param(request, "max-parts", 1000, 1, 1000)
        marker = _int_param(request, "part-number-marker", 0, 0, MAX_PART_NUMBER)
        after = [p for p in parts if p.number > marker]
        page = after[:limit]
        truncated = len(after) > limit
        next_marker = page[-1].number if page else marker
        elements: List[Element] = []
        if encoding:
            elements.append(("EncodingType", encoding))
        elements += [
            ("Bucket", request.bucket),
            ("Key", encode_name(request.key, encoding)),
            ("UploadId", upload_id),
            ("StorageClass", "Standard"),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", next_marker),
            ("MaxParts", limit),
            ("IsTruncated", truncated),
        ]
        for part in page:
            elements.append(
                (
                    "Part",
                    [
                        ("PartNumber", part.number),
                        ("LastModified", iso8601(part.last_modified)),
                        ("ETag", quoted(part.etag)),
                        ("HashCrc64ecma", part.crc64),
                        ("Size", part.size),
                    ],
                )
            )
        return Response(200, [("Content-Type", "application/xml")], document("ListPartsResult", elements))

    def abort_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        self.store.abort_upload(request.bucket, request.key, request.param("uploadId") or "")
        return Response(204)

    def list_multipart_uploads(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = _encoding_type(request)
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        key_marker = request.param("key-marker") or ""
        id_marker = request.param("upload-id-marker") or ""
        limit = _int_param(request, "max-uploads", 1000, 1, 1000)
        uploads = self.store.list_uploads(request.bucket)
        page = paginate(
            [(u.key, u.upload_id, u) for u in uploads], prefix, delimiter, key_marker, id_marker if key_marker else "", limit
        )

        def enc(value: str) -> str:
            return encode_name(value, encoding)

        elements: List[Element] = []
        if encoding:
            elements.append(("EncodingType", encoding))
        elements += [
            ("Bucket", request.bucket),
            ("KeyMarker", enc(key_marker)),
            ("UploadIdMarker", id_marker),
            ("NextKeyMarker", enc(page.next_key)),
            ("NextUploadIdMarker", page.next_sub),
            ("Delimiter", enc(delimiter)),
            ("Prefix", enc(prefix)),
            ("MaxUploads", limit),
            ("IsTruncated", page.truncated),
        ]
        for upload in page.entries:
            elements.append(
                (
                    "Upload",
                    [
                        ("Key", enc(upload.key)),
                        ("UploadId", upload.upload_id),
                        ("StorageClass", "Standard"),
                        ("Initiated", iso8601(upload.initiated)),
                    ],
                )
            )
        for common in page.prefixes:
            elements.append(("CommonPrefixes", [("Prefix", enc(common))]))
        return Response(200, [("Content-Type", "application/xml")], document("ListMultipartUploadsResult", elements))

    def _check_body(self, request: Request) -> None:
        """A PutObject/UploadPart body must be framed and within the size limit."""
        body = request.body
        if body is None:
            raise OssError("MissingContentLength")
        if body.length_hint is not None and body.length_hint > self.config.max_object_size:
            raise OssError("EntityTooLarge")

    # ------------------------------------------------------------------ objects
    def put_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        if request.header("x-oss-copy-source") is not None:
            raise OssError("NotImplemented", "CopyObject is not implemented by the emulator.")
        self._check_body(request)
        if (request.header("x-oss-forbid-overwrite") or "").lower() == "true":
            try:
                self.store.head(request.bucket, request.key)
            except OssError:
                pass
            else:
                raise OssError("FileAlreadyExists", "The object you specified already exists.", status=409)
        expected_md5 = _content_md5(request)
        rel, path = self.store.new_data_path(request.bucket)
        received = self._receive(request, path, self._want_md5(request))
        try:
            etag, content_md5 = self._etag_and_md5(received, expected_md5)
        except OssError:
            os.unlink(path)
            raise
        meta = ObjectMeta(
            key=request.key,
            size=received.size,
            etag=etag,
            crc64=received.crc64,
            content_type=request.header("Content-Type") or "application/octet-stream",
            user_meta=request.user_meta(),
            headers=self._stored_headers(request),
            last_modified=time.time(),
            object_type="Normal",
            segments=[(rel, received.size)],
            version=os.urandom(8).hex(),
            content_md5=content_md5,
        )
        self.store.commit_object(request.bucket, meta)
        response = Response(200, [("ETag", quoted(etag)), ("x-oss-hash-crc64ecma", str(received.crc64))])
        if content_md5 is not None:
            response.set("Content-MD5", content_md5)
        return response

    def _object_headers(self, meta: ObjectMeta) -> List[Tuple[str, str]]:
        headers = [
            ("Content-Type", meta.content_type),
            ("ETag", quoted(meta.etag)),
            ("Last-Modified", http_date(meta.last_modified)),
            ("Accept-Ranges", "bytes"),
            ("x-oss-object-type", meta.object_type),
            ("x-oss-storage-class", "Standard"),
            ("x-oss-hash-crc64ecma", str(meta.crc64)),
        ]
        headers += list(meta.headers.items())
        headers += sorted(meta.user_meta.items())
        return headers

    @staticmethod
    def _check_conditions(request: Request, meta: ObjectMeta) -> None:
        """If-Match / If-Unmodified-Since (412), then If-None-Match / If-Modified-Since (304)."""
        etag = meta.etag.lower()

        def matches(header: str) -> bool:
            tags = [t.strip().strip('"').lower() for t in header.split(",")]
            return "*" in tags or etag in tags

        if_match = request.header("If-Match")
        if if_match is not None and not matches(if_match):
            raise OssError("PreconditionFailed", Condition="If-Match")
        since = _parse_http_date(request.header("If-Unmodified-Since"))
        if since is not None and int(meta.last_modified) > since:
            raise OssError("PreconditionFailed", Condition="If-Unmodified-Since")
        if_none = request.header("If-None-Match")
        if if_none is not None and matches(if_none):
            raise OssError("NotModified")
        modified = _parse_http_date(request.header("If-Modified-Since"))
        if modified is not None and int(meta.last_modified) <= modified:
            raise OssError("NotModified")

    def head_object(self, request: Request) -> Response:
        meta = self.store.head(request.bucket, request.key)
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
        reader = self.store.open_object(request.bucket, request.key)
        try:
            meta = reader.meta
            self._check_conditions(request, meta)
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
