"""The service resource: ListBuckets (GetService), with prefix, marker and max-keys."""
from __future__ import annotations

from typing import List

from .exchange import Request, Response
from .listing import paginate
from .ops_bucket_config import STORAGE_CLASS_FILE, BucketConfigs
from .ops_common import OWNER, endpoint_host, Resource, int_param, xml_response
from .xmlout import Element, document, iso8601


class ServiceOps(Resource):
    """Operations on the service (no bucket named)."""

    OPERATIONS = {
        "ListBuckets": "list_buckets",
    }

    def list_buckets(self, request: Request) -> Response:
        """Buckets in name order after ``marker``, starting with ``prefix``, at most ``max-keys``
        (1..1000; without it, all of them). The paging elements appear when the request pages."""
        prefix = request.param("prefix") or ""
        marker = request.param("marker") or ""
        paging = any(request.param(name) is not None for name in ("prefix", "marker", "max-keys"))
        names = self.store.bucket_names()
        limit = int_param(request, "max-keys", max(len(names), 1), 1, 1000)
        page = paginate([(name, "", (name, created)) for name, created in names], prefix, "", marker, "", limit)
        location = self.location()
        configs = BucketConfigs(self)
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
