"""Dispatch a parsed request to the OSS operation it names (docs/protocol.md).

Each operation takes a parsed ``Request`` and returns a ``Response`` or raises
``OssError``; they live with their resource (``ops_service``, ``ops_bucket``,
``ops_object``, ``ops_multipart``). Authentication, faults and the HTTP framing
happen around them (``server.py``); data goes through ``store.py``.
"""
from __future__ import annotations

from typing import Callable, Dict

from .config import EmulatorConfig
from .cors import CorsPreflightOps
from .errors import OssError
from .exchange import Request, Response
from .ops_append import AppendOps
from .ops_bucket import BucketOps
from .ops_bucket_config import BucketConfigOps
from .ops_multipart import MultipartOps
from .ops_object import ObjectOps
from .ops_object_attrs import ObjectAttributeOps
from .ops_service import ServiceOps
from .ops_versions import VersionListingOps
from .routing import check_bucket, check_key, describe_unsupported
from .store import Store

RESOURCES = (ServiceOps, BucketOps, BucketConfigOps, ObjectOps, ObjectAttributeOps, AppendOps, MultipartOps,
             VersionListingOps, CorsPreflightOps)
READS = frozenset(("GetObject", "HeadObject", "GetObjectMeta"))


class Operations:
    """Every implemented operation by name, checked for a valid bucket and key before it runs."""

    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config
        self.handlers: Dict[str, Callable[[Request], Response]] = {}
        for resource in RESOURCES:
            self.handlers.update(resource(store, config).handlers())

    def handle(self, request: Request) -> Response:
        handler = self.handlers.get(request.op)
        if handler is None:
            what = describe_unsupported(request.method, request.target, request.query)
            raise OssError("NotImplemented", f"The emulator does not implement this operation ({what}).")
        if request.target.level != "service":
            check_bucket(request.bucket)
        if request.target.level == "object":
            check_key(request.key, reading=request.op in READS)
        return handler(request)
