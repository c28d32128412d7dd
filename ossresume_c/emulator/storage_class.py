"""Which storage class an object gets, and what that class allows.

A write (PutObject, CopyObject, AppendObject, InitiateMultipartUpload) may name one with
``x-oss-storage-class``; otherwise the object takes its bucket's class, as on OSS. An
Archive, ColdArchive or DeepColdArchive object cannot be read until restored, and the
emulator does not restore (RestoreObject answers 501), so GET of one is 403 InvalidObjectState.
"""
from __future__ import annotations

from .bucket_config import STORAGE_CLASSES
from .errors import OssError
from .exchange import Request
from .ops_bucket_config import STORAGE_CLASS_FILE, BucketConfigs
from .ops_common import Resource

HEADER = "x-oss-storage-class"
STANDARD = "Standard"
NEEDS_RESTORE = frozenset(("Archive", "ColdArchive", "DeepColdArchive"))


def bucket_storage_class(resource: Resource, bucket: str) -> str:
    return BucketConfigs(resource).text(bucket, STORAGE_CLASS_FILE, STANDARD)


def requested_storage_class(resource: Resource, request: Request) -> str:
    """``x-oss-storage-class`` when given (InvalidArgument for an unknown class), else the bucket's."""
    value = request.header(HEADER)
    if value is None or value == "":
        return bucket_storage_class(resource, request.bucket)
    if value not in STORAGE_CLASSES:
        raise OssError("InvalidArgument", "Invalid storage class.", ArgumentName=HEADER, ArgumentValue=value)
    return value


def check_readable(storage_class: str) -> None:
    """GET of an object that would need a restore first."""
    if storage_class in NEEDS_RESTORE:
        raise OssError("InvalidObjectState", "The operation is not valid for the object's state.", status=403)
