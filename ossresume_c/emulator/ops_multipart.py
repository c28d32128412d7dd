"""The multipart resource: initiate, upload a part, complete, list parts, abort, list uploads."""
from __future__ import annotations

import hashlib
import os
import time
from typing import List, Optional, Tuple

from ..native import crc64_combine
from .config import MIN_PART_SIZE
from .copy_object import CLIENT_ENCRYPTION_META, Copier
from .errors import OssError
from .object_tags import parse_tagging_header, tagging_header
from .ops_object_attrs import check_object_acl, requested_attributes
from .exchange import Request, Response
from .listing import paginate
from .ops_common import Resource, declared_md5, encoding_type, int_param, quoted, xml_response
from .bucket_config import parse_xml
from .storage_class import HEADER as STORAGE_CLASS_HEADER, STANDARD, requested_storage_class
from .store import MAX_PART_NUMBER, ObjectMeta, PartMeta, UploadMeta
from .xmlout import Element, document, encode_name, iso8601


def _upload_elements(request: Request, encoding: Optional[str], upload_id: str) -> List[Element]:
    """How a result about one upload begins: EncodingType (when asked for), Bucket, Key, UploadId."""
    elements: List[Element] = [("EncodingType", encoding)] if encoding else []
    elements += [("Bucket", request.bucket), ("Key", encode_name(request.key, encoding)), ("UploadId", upload_id)]
    return elements


PENDING_ACL = "x-oss-object-acl"  # an upload's requested ACL, tags and storage class, kept with its headers
PENDING_TAGS = "x-oss-tagging"
PENDING_CLASS = STORAGE_CLASS_HEADER
PENDING = (PENDING_ACL, PENDING_TAGS, PENDING_CLASS)
# ListParts reports an upload's client-side encryption metadata (x-oss-meta-client-side-encryption-*)
CLIENT_ENCRYPTION_ELEMENTS = (("key", "ClientEncryptionKey"), ("start", "ClientEncryptionStart"),
                              ("cek-alg", "ClientEncryptionCekAlg"), ("wrap-alg", "ClientEncryptionWrapAlg"),
                              ("data-size", "ClientEncryptionDataSize"), ("part-size", "ClientEncryptionPartSize"))


def upload_storage_class(upload: UploadMeta) -> str:
    return upload.headers.get(PENDING_CLASS, STANDARD)


def client_encryption_elements(upload: UploadMeta) -> List[Element]:
    elements: List[Element] = []
    for suffix, tag in CLIENT_ENCRYPTION_ELEMENTS:
        value = upload.user_meta.get(CLIENT_ENCRYPTION_META + suffix)
        if value is not None:
            elements.append((tag, value))
    return elements


class MultipartOps(Resource):
    """Operations on multipart uploads."""

    OPERATIONS = {
        "InitiateMultipartUpload": "initiate_multipart_upload",
        "UploadPart": "upload_part",
        "CompleteMultipartUpload": "complete_multipart_upload",
        "ListParts": "list_parts",
        "AbortMultipartUpload": "abort_multipart_upload",
        "ListMultipartUploads": "list_multipart_uploads",
    }

    def initiate_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        if request.body is not None:
            request.body.discard(1 << 20)
        content_type = request.header("Content-Type") or "application/octet-stream"
        acl, tags = requested_attributes(request, self.store)
        headers = self.stored_headers(request)
        headers.update({PENDING_ACL: acl, PENDING_TAGS: tagging_header(tags),  # taken back at Complete
                        PENDING_CLASS: requested_storage_class(self, request)})
        upload = self.store.create_upload(request.bucket, request.key, content_type, request.user_meta(), headers)
        elements = _upload_elements(request, encoding, upload.upload_id)
        return xml_response(document("InitiateMultipartUploadResult", elements))

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
            return Copier(self).upload_part_copy(request, upload_id, number)
        self.check_body(request)
        try:
            intake = self.intake(request, lambda: self.store.new_part_path(request.bucket, upload_id))
        except FileNotFoundError:  # aborted or completed while we were starting
            raise OssError("NoSuchUpload", UploadId=upload_id) from None
        received = intake.received
        part = PartMeta(
            number=number,
            size=received.size,
            etag=intake.etag,
            crc64=received.crc64,
            last_modified=time.time(),
            data=intake.name,
            md5=received.md5.hex() if received.md5 is not None else None,
        )
        self.store.commit_part(request.bucket, request.key, upload_id, part)
        return self.body_response(intake)

    @staticmethod
    def _parse_complete_body(body: bytes) -> List[Tuple[int, str]]:
        root = parse_xml(body, "CompleteMultipartUpload")
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
        return parts  # an empty list completes a 0-byte object, as OSS does

    def complete_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        upload_id = request.param("uploadId") or ""
        self.store.get_upload(request.bucket, request.key, upload_id)
        callback = self.read_callback(request)
        complete_all = (request.header("x-oss-complete-all") or "").lower() == "yes"
        body = self.read_xml_body(request)
        expected_md5 = declared_md5(request)
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
            discarded = any(not part.data for part in chosen)  # received in --discard mode
            meta = ObjectMeta(
                key=request.key,
                size=size,
                etag=etag,
                crc64=crc,
                content_type=upload.content_type,
                user_meta=dict(upload.user_meta),
                headers={k: v for k, v in upload.headers.items() if k not in PENDING},
                last_modified=time.time(),
                object_type="Multipart",
                segments=[] if discarded else [(os.path.join("uploads", upload_id, p.data), p.size) for p in chosen],
                version=os.urandom(8).hex(),
                upload_id=upload_id,
                acl=check_object_acl(request.header("x-oss-object-acl") or upload.headers.get(PENDING_ACL, "default")),
                tags=parse_tagging_header(upload.headers.get(PENDING_TAGS, "")),
                discarded=discarded,
                storage_class=upload_storage_class(upload),
            )
            self.store.complete_upload(request.bucket, upload, chosen, meta)
        location = self.object_url(request)
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
        response = Response(200, headers, document("CompleteMultipartUploadResult", elements))
        return self.call_back(request, response, callback, meta)

    def list_parts(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        upload_id = request.param("uploadId") or ""
        upload = self.store.get_upload(request.bucket, request.key, upload_id)
        parts = self.store.list_parts(request.bucket, request.key, upload_id)
        limit = int_param(request, "max-parts", 1000, 1, 1000)
        marker = int_param(request, "part-number-marker", 0, 0, MAX_PART_NUMBER)
        after = [p for p in parts if p.number > marker]
        page = after[:limit]
        truncated = len(after) > limit
        next_marker = page[-1].number if page else ""  # empty, as OSS, when no part follows
        elements = _upload_elements(request, encoding, upload_id)
        elements += [
            ("StorageClass", upload_storage_class(upload)),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", next_marker),
            ("MaxParts", limit),
            ("IsTruncated", truncated),
        ]
        elements += client_encryption_elements(upload)
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
        return xml_response(document("ListPartsResult", elements))

    def abort_multipart_upload(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        self.store.abort_upload(request.bucket, request.key, request.param("uploadId") or "")
        return Response(204)

    def list_multipart_uploads(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        key_marker = request.param("key-marker") or ""
        id_marker = request.param("upload-id-marker") or ""
        limit = int_param(request, "max-uploads", 1000, 1, 1000)
        uploads = self.store.list_uploads(request.bucket)
        page = paginate(
            [(u.key, u.upload_id, u) for u in uploads], prefix, delimiter, key_marker, id_marker if key_marker else "", limit
        )

        def enc(value: str) -> str:
            return encode_name(value, encoding)

        next_key, next_id = page.next_key, page.next_sub
        if not page.truncated and page.entries:  # OSS names the last upload listed, truncated or not
            next_key, next_id = page.entries[-1].key, page.entries[-1].upload_id
        elements: List[Element] = []
        if encoding:
            elements.append(("EncodingType", encoding))
        elements += [
            ("Bucket", request.bucket),
            ("KeyMarker", enc(key_marker)),
            ("UploadIdMarker", id_marker),
            ("NextKeyMarker", enc(next_key)),
            ("NextUploadIdMarker", next_id),
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
                        ("StorageClass", upload_storage_class(upload)),
                        ("Initiated", iso8601(upload.initiated)),
                    ],
                )
            )
        for common in page.prefixes:
            elements.append(("CommonPrefixes", [("Prefix", enc(common))]))
        return xml_response(document("ListMultipartUploadsResult", elements))
