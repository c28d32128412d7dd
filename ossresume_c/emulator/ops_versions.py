"""Bucket listings and counts: object versions, live channels, and GetBucketStat.

The emulator never versions objects, so ListObjectVersions lists each object once, as its
only and latest version ``null`` (what OSS shows for a bucket that never had versioning),
with no delete markers. It has no live channels (PutLiveChannel answers 501), so
ListLiveChannel is always empty. SDK clean-up code calls both before deleting a bucket.
GetBucketStat counts what the store holds (every object is Standard storage).
"""
from __future__ import annotations

from typing import List

from .exchange import Request, Response
from .listing import paginate
from .ops_common import OWNER, Resource, encoding_type, int_param, quoted, xml_response
from .xmlout import Element, document, encode_name, iso8601

NULL_VERSION = "null"


class VersionListingOps(Resource):
    """ListObjectVersions, ListLiveChannel and GetBucketStat."""

    OPERATIONS = {"ListObjectVersions": "list_object_versions", "ListLiveChannel": "list_live_channels",
                  "GetBucketStat": "get_bucket_stat"}

    def get_bucket_stat(self, request: Request) -> Response:
        metas = self.store.list_objects(request.bucket)
        uploads = self.store.list_uploads(request.bucket)
        size = sum(m.size for m in metas)
        last = int(max((m.last_modified for m in metas), default=0))
        elements: List[Element] = [
            ("Storage", size),
            ("ObjectCount", len(metas)),
            ("MultipartUploadCount", len(uploads)),
            ("LiveChannelCount", 0),
            ("LastModifiedTime", last),
            ("StandardStorage", size),
            ("StandardObjectCount", len(metas)),
            ("MultipartPartCount", sum(len(u.parts) for u in uploads)),
            ("DeleteMarkerCount", 0),
        ]
        for tier in ("InfrequentAccess", "Archive", "ColdArchive", "DeepColdArchive"):
            elements += [(f"{tier}Storage", 0), (f"{tier}RealStorage", 0), (f"{tier}ObjectCount", 0)]
        return xml_response(document("BucketStat", elements))

    def list_object_versions(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        encoding = encoding_type(request)
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        key_marker = request.param("key-marker") or ""
        limit = int_param(request, "max-keys", 100, 1, 1000)
        metas = self.store.list_objects(request.bucket)
        page = paginate([(m.key, "", m) for m in metas], prefix, delimiter, key_marker, "", limit)

        def enc(value: str) -> str:
            return encode_name(value, encoding)

        elements: List[Element] = [
            ("Name", request.bucket),
            ("Prefix", enc(prefix)),
            ("KeyMarker", enc(key_marker)),
            ("VersionIdMarker", request.param("version-id-marker") or ""),
            ("MaxKeys", limit),
            ("Delimiter", enc(delimiter)),
            ("IsTruncated", page.truncated),
        ]
        if page.truncated:
            elements += [("NextKeyMarker", enc(page.next_key)), ("NextVersionIdMarker", NULL_VERSION)]
        if encoding:
            elements.append(("EncodingType", encoding))
        for meta in page.entries:
            elements.append(("Version", [
                ("Key", enc(meta.key)),
                ("VersionId", NULL_VERSION),
                ("IsLatest", True),
                ("LastModified", iso8601(meta.last_modified)),
                ("ETag", quoted(meta.etag)),
                ("Type", meta.object_type),
                ("Size", meta.size),
                ("StorageClass", meta.storage_class),
                ("Owner", OWNER),
            ]))
        for common in page.prefixes:
            elements.append(("CommonPrefixes", [("Prefix", enc(common))]))
        return xml_response(document("ListVersionsResult", elements))

    def list_live_channels(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        limit = int_param(request, "max-keys", 100, 1, 1000)
        elements: List[Element] = [
            ("Prefix", request.param("prefix") or ""),
            ("Marker", request.param("marker") or ""),
            ("MaxKeys", limit),
            ("IsTruncated", False),
            ("NextMarker", ""),
        ]
        return xml_response(document("ListLiveChannelResult", elements))
