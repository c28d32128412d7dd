"""The service resource: ListBuckets."""
from __future__ import annotations

from typing import List

from .exchange import Request, Response
from .ops_bucket_config import STORAGE_CLASS_FILE, BucketConfigs
from .ops_common import OWNER, endpoint_host, Resource, xml_response
from .xmlout import Element, document, iso8601


class ServiceOps(Resource):
    """Operations on the service (no bucket named)."""

    OPERATIONS = {
        "ListBuckets": "list_buckets",
    }

    def list_buckets(self, request: Request) -> Response:
        buckets: List[Element] = []
        location = self.location()
        configs = BucketConfigs(self)
        for name, created in self.store.bucket_names():
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
        body = document(
            "ListAllMyBucketsResult",
            [("Owner", OWNER), ("Buckets", buckets)],
        )
        return xml_response(body)
