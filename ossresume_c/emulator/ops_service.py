"""The service resource: ListBuckets (GetService), with prefix, marker, max-keys and tag filters;
DescribeRegions; the account-wide Block Public Access switch (Put/Get/DeletePublicAccessBlock)."""
from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Optional

from .bucket_config import parse_tag_set, parse_xml, public_access_block, validate_public_access_block
from .errors import OssError
from .exchange import Request, Response
from .listing import paginate
from .ops_bucket_config import (
    PUBLIC_ACCESS_BLOCK,
    STORAGE_CLASS_FILE,
    BucketConfigs,
    account_config_path,
    read_document,
    write_document,
)
from .ops_common import OWNER, endpoint_host, Resource, int_param, xml_response
from .regions import region_infos
from .xmlout import Element, document, iso8601


class ServiceOps(Resource):
    """Operations on the service (no bucket named)."""

    OPERATIONS = {
        "ListBuckets": "list_buckets",
        "DescribeRegions": "describe_regions",
        "PutPublicAccessBlock": "put_public_access_block",
        "GetPublicAccessBlock": "get_public_access_block",
        "DeletePublicAccessBlock": "delete_public_access_block",
    }

    def put_public_access_block(self, request: Request) -> Response:
        body = self.read_xml_body(request)
        validate_public_access_block(body)
        write_document(account_config_path(self.store, PUBLIC_ACCESS_BLOCK), body)
        return Response(200)

    def get_public_access_block(self, request: Request) -> Response:
        body = read_document(account_config_path(self.store, PUBLIC_ACCESS_BLOCK))
        return xml_response(body or public_access_block(False))

    def delete_public_access_block(self, request: Request) -> Response:
        try:
            os.unlink(account_config_path(self.store, PUBLIC_ACCESS_BLOCK))
        except FileNotFoundError:
            pass
        return Response(204)

    def describe_regions(self, request: Request) -> Response:
        return xml_response(document("RegionInfoList", region_infos(self.config.region, request.param("regions"))))

    def list_buckets(self, request: Request) -> Response:
        """Buckets in name order after ``marker``, starting with ``prefix``, at most ``max-keys``
        (1..1000; without it, all of them). The paging elements appear when the request pages."""
        prefix = request.param("prefix") or ""
        marker = request.param("marker") or ""
        paging = any(request.param(name) is not None for name in ("prefix", "marker", "max-keys"))
        configs = BucketConfigs(self)
        wanted = tag_filter(request.param("tag-key"), request.param("tag-value"), request.param("tagging"))
        names = [(name, created) for name, created in self.store.bucket_names()
                 if wanted is None or wanted(bucket_tags(configs, name))]
        limit = int_param(request, "max-keys", max(len(names), 1), 1, 1000)
        page = paginate([(name, "", (name, created)) for name, created in names], prefix, "", marker, "", limit)
        location = self.location()
        buckets: List[Element] = []
        for name, created in page.entries:
            buckets.append(
                (
                    "Bucket",
                    [
                        ("CreationDate", iso8601(created)),
                        ("ExtranetEndpoint", endpoint_host(request)),
                        ("IntranetEndpoint", endpoint_host(request)),
                        ("Location", location),
                        ("Name", name),
                        ("Region", self.config.region),
                        ("StorageClass", configs.text(name, STORAGE_CLASS_FILE, "Standard")),
                        ("ResourceGroupId", "rg-default"),
                    ],
                )
            )
        elements: List[Element] = []
        if paging or page.truncated:
            elements += [("Prefix", prefix), ("Marker", marker), ("MaxKeys", limit), ("IsTruncated", page.truncated)]
            if page.truncated:
                elements.append(("NextMarker", page.next_key))
        elements += [("Owner", OWNER), ("Buckets", buckets)]
        return xml_response(document("ListAllMyBucketsResult", elements))


def bucket_tags(configs: BucketConfigs, bucket: str) -> Dict[str, str]:
    document = configs.get(bucket, "tagging")
    return dict(parse_tag_set(parse_xml(document, "Tagging"))) if document else {}


TagFilter = Callable[[Dict[str, str]], bool]


def tag_filter(key: Optional[str], value: Optional[str], tagging: Optional[str]) -> Optional[TagFilter]:
    """Which bucket tags ListBuckets keeps: ``tag-key`` (with ``tag-value``, that pair), or
    ``tagging`` (``"k1":"v1","k2":"v2"``, every pair); None when the request filters nothing.
    ``tag-value`` without ``tag-key``, ``tagging`` with either, or bad ``tagging`` is InvalidArgument."""
    if tagging is not None:
        if key is not None or value is not None:
            raise OssError("InvalidArgument", "tagging cannot be used with tag-key or tag-value.",
                           ArgumentName="tagging", ArgumentValue=tagging)
        pairs = _tagging_pairs(tagging)
        return lambda tags: all(tags.get(k) == v for k, v in pairs.items())
    if value is not None and key is None:
        raise OssError("InvalidArgument", "tag-value needs tag-key.", ArgumentName="tag-value", ArgumentValue=value)
    if key is None:
        return None
    if value is None:
        return lambda tags: key in tags
    return lambda tags: tags.get(key) == value


def _tagging_pairs(text: str) -> Dict[str, str]:
    stripped = text.strip()
    try:
        pairs = json.loads(stripped if stripped.startswith("{") else "{" + stripped + "}")
    except ValueError:
        pairs = None
    if not isinstance(pairs, dict) or not pairs or not all(isinstance(v, str) for v in pairs.values()):
        raise OssError("InvalidArgument", "tagging must be key-value pairs such as \"k1\":\"v1\".",
                       ArgumentName="tagging", ArgumentValue=text)
    return pairs
