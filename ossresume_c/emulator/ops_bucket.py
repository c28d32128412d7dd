"""The bucket resource: create, delete, describe, list its objects, delete many objects."""
from __future__ import annotations

import base64
import binascii
from typing import List

from .bucket_config import (
    blocks_public_access,
    check_acl,
    check_storage_class,
    encryption_from_headers,
    parse_xml,
    public_access_block,
    shield_controls,
    unshield_controls,
)
from .errors import OssError
from .exchange import Request, Response
from .listing import paginate
from .ops_bucket_config import ACL_FILE, PUBLIC_ACCESS_BLOCK, STORAGE_CLASS_FILE, BucketConfigs
from .ops_common import OWNER, endpoint_host, Resource, encoding_type, int_param, quoted, xml_response
from .routing import check_key
from .xmlout import Element, document, encode_name, iso8601


class BucketOps(Resource):
    """Operations on a bucket and on its objects as a set."""

    OPERATIONS = {
        "PutBucket": "put_bucket",
        "DeleteBucket": "delete_bucket",
        "GetBucketInfo": "get_bucket_info",
        "GetBucketLocation": "get_bucket_location",
        "ListObjects": "list_objects",
        "DeleteMultipleObjects": "delete_multiple_objects",
    }

    def put_bucket(self, request: Request) -> Response:
        acl = check_acl(request.header("x-oss-acl") or "private")
        body = self.read_xml_body(request)
        storage_class = "Standard"
        encryption = encryption_from_headers(request.header("x-oss-server-side-encryption"),
                                             request.header("x-oss-server-side-encryption-key-id"),
                                             request.header("x-oss-server-side-data-encryption"))
        if body.strip():
            root = parse_xml(body, "CreateBucketConfiguration")
            storage_class = check_storage_class(root.findtext("StorageClass") or "Standard")
        if self.store.create_bucket(request.bucket):  # an existing bucket of ours: 200, as OSS
            configs = BucketConfigs(self)
            configs.put(request.bucket, ACL_FILE, acl.encode())
            configs.put(request.bucket, STORAGE_CLASS_FILE, storage_class.encode())
            if encryption is not None:
                configs.put(request.bucket, "encryption", encryption)
            if self.config.block_public_access:
                configs.put(request.bucket, PUBLIC_ACCESS_BLOCK, public_access_block(True))
        return Response(200, [("Location", f"/{request.bucket}")])

    def delete_bucket(self, request: Request) -> Response:
        self.store.delete_bucket(request.bucket)
        return Response(204)

    def get_bucket_info(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        configs = BucketConfigs(self)
        details: List[Element] = [
            ("CreationDate", iso8601(self.store.bucket_created(request.bucket))),
            ("ExtranetEndpoint", endpoint_host(request)),
            ("IntranetEndpoint", endpoint_host(request)),
            ("Location", self.location()),
            ("StorageClass", configs.text(request.bucket, STORAGE_CLASS_FILE, "Standard")),
            ("DataRedundancyType", "LRS"),
            ("AccessMonitor", "Disabled"),
            ("CrossRegionReplication", "Disabled"),
            ("TransferAcceleration", "Disabled"),
            ("ResourceGroupId", "rg-default"),
            ("Comment", ""),
            ("Name", request.bucket),
            ("Owner", OWNER),
            ("AccessControlList", [("Grant", configs.text(request.bucket, ACL_FILE, "private"))]),
            ("BlockPublicAccess", blocks_public_access(configs.get(request.bucket, PUBLIC_ACCESS_BLOCK))),
        ]
        versioning = configs.get(request.bucket, "versioning")
        if versioning:
            details.append(("Versioning", parse_xml(versioning, "VersioningConfiguration").findtext("Status") or ""))
        encryption = configs.get(request.bucket, "encryption")
        rule: List[Element] = [("SSEAlgorithm", "None")]
        if encryption:
            applied = parse_xml(encryption, "ServerSideEncryptionRule").find("ApplyServerSideEncryptionByDefault")
            if applied is not None:
                rule = [(child.tag, child.text or "") for child in applied]
        details.append(("ServerSideEncryptionRule", rule))
        return xml_response(document("BucketInfo", [("Bucket", details)]))

    def get_bucket_location(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        body = document("LocationConstraint", []).replace(
            b"<LocationConstraint></LocationConstraint>",
            f"<LocationConstraint>{self.location()}</LocationConstraint>".encode(),
        )
        return xml_response(body)

    def list_objects(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        v2 = request.param("list-type") == "2"
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        limit = int_param(request, "max-keys", 100, 0, 1000)
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
                ("StorageClass", meta.storage_class),
            ]
            if not v2 or request.param("fetch-owner") == "true":
                contents.append(("Owner", OWNER))
            elements.append(("Contents", contents))
        for common in page.prefixes:
            elements.append(("CommonPrefixes", [("Prefix", enc(common))]))
        root = "ListBucketResult"
        return xml_response(document(root, elements))

    def delete_multiple_objects(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        root = parse_xml(shield_controls(self.read_xml_body(request)), "Delete")
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        deleted: List[Element] = []
        for item in root.findall("Object"):
            key = item.findtext("Key")
            if key is None:
                raise OssError("MalformedXML")
            key = unshield_controls(key)  # encoding-type encodes the answer only, never the request's keys
            check_key(key)
            self.store.delete_object(request.bucket, key)
            if not quiet:
                deleted.append(("Deleted", [("Key", encode_name(key, encoding))]))
        elements: List[Element] = list(deleted)
        if encoding:
            elements.append(("EncodingType", encoding))
        return xml_response(document("DeleteResult", elements))
