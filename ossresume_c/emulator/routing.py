"""Request routing: which bucket, which key, which operation.

Routing looks at the method and the *set* of sub-resource query keys, never their
order (oss2 sends ``uploadId`` before ``partNumber``, v2 the reverse) nor the raw
query text. The path is always percent-decoded before the bucket is split off,
which handles both oss2's ``%2F`` inside keys and the C SDK's single-segment
``/bucket%2Fkey``.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, FrozenSet, List, Optional, Tuple
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ..auth import SUBRESOURCES
from .bucket_config import operations as bucket_config_operations
from .errors import OssError

Query = List[Tuple[str, Optional[str]]]

CONTROL_PREFIX = "/_emulator"

# Query keys that select an operation: every sub-resource OSS signs except those that are
# parameters of an operation. A key outside this set (max-parts, prefix, presigned-URL
# fields...) is a parameter; a sub-resource the emulator lacks routes to NotImplemented rather
# than falling through to the plain operation (``PUT /b/k?live`` must not write ``k``).
PARAMETER_SUBRESOURCES: FrozenSet[str] = frozenset(
    """
    position security-token callback callback-var x-oss-traffic-limit x-oss-request-payer
    continuation-token startTime endTime regionList x-oss-ac-source-ip x-oss-ac-subnet-mask
    x-oss-ac-vpc-id x-oss-ac-forward-allow x-oss-access-point-name response-content-type
    response-content-language response-expires response-cache-control response-content-disposition
    response-content-encoding
    """.split()
)
ROUTING_KEYS: FrozenSet[str] = (SUBRESOURCES - PARAMETER_SUBRESOURCES) | frozenset(("uploadPartCopy", "select", "regions"))

# (method, level, routing keys) -> operation name. level: service, bucket, object.
OPERATIONS = {
    ("GET", "service", frozenset()): "ListBuckets",
    ("GET", "service", frozenset({"tagging"})): "ListBuckets",  # the tag filter, not a sub-resource here
    ("GET", "service", frozenset({"regions"})): "DescribeRegions",
    ("PUT", "service", frozenset({"publicAccessBlock"})): "PutPublicAccessBlock",
    ("GET", "service", frozenset({"publicAccessBlock"})): "GetPublicAccessBlock",
    ("DELETE", "service", frozenset({"publicAccessBlock"})): "DeletePublicAccessBlock",
    ("PUT", "bucket", frozenset()): "PutBucket",
    ("DELETE", "bucket", frozenset()): "DeleteBucket",
    ("GET", "bucket", frozenset()): "ListObjects",
    ("GET", "bucket", frozenset({"bucketInfo"})): "GetBucketInfo",
    ("GET", "bucket", frozenset({"location"})): "GetBucketLocation",
    ("GET", "bucket", frozenset({"acl"})): "GetBucketAcl",
    ("PUT", "bucket", frozenset({"acl"})): "PutBucketAcl",
    ("GET", "bucket", frozenset({"uploads"})): "ListMultipartUploads",
    ("POST", "bucket", frozenset({"delete"})): "DeleteMultipleObjects",
    ("POST", "object", frozenset({"uploads"})): "InitiateMultipartUpload",
    ("PUT", "object", frozenset({"partNumber", "uploadId"})): "UploadPart",
    ("POST", "object", frozenset({"uploadId"})): "CompleteMultipartUpload",
    ("GET", "object", frozenset({"uploadId"})): "ListParts",
    ("DELETE", "object", frozenset({"uploadId"})): "AbortMultipartUpload",
    ("PUT", "object", frozenset()): "PutObject",
    ("GET", "object", frozenset()): "GetObject",
    ("HEAD", "object", frozenset()): "HeadObject",
    ("HEAD", "object", frozenset({"objectMeta"})): "GetObjectMeta",
    ("GET", "object", frozenset({"objectMeta"})): "GetObjectMeta",
    ("DELETE", "object", frozenset()): "DeleteObject",
    ("POST", "object", frozenset({"append"})): "AppendObject",
    ("GET", "bucket", frozenset({"versions"})): "ListObjectVersions",
    ("GET", "bucket", frozenset({"live"})): "ListLiveChannel",
    ("GET", "bucket", frozenset({"stat"})): "GetBucketStat",
    ("PUT", "object", frozenset({"acl"})): "PutObjectAcl",
    ("GET", "object", frozenset({"acl"})): "GetObjectAcl",
    ("PUT", "object", frozenset({"tagging"})): "PutObjectTagging",
    ("GET", "object", frozenset({"tagging"})): "GetObjectTagging",
    ("DELETE", "object", frozenset({"tagging"})): "DeleteObjectTagging",
    ("PUT", "object", frozenset({"symlink"})): "PutSymlink",
    ("GET", "object", frozenset({"symlink"})): "GetSymlink",
    ("OPTIONS", "object", frozenset()): "OptionObject",
    ("OPTIONS", "bucket", frozenset()): "OptionObject",
}
OPERATIONS.update(bucket_config_operations())

UNSUPPORTED = "Unsupported"

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1023


def is_valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_RE.match(name))


def parse_query(raw: str) -> Query:
    """Decoded ``(name, value)`` pairs in wire order; ``name`` alone gives ``None``."""
    pairs: Query = []
    if not raw:
        return pairs
    for item in raw.split("&"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        pairs.append((unquote(name), unquote(value) if sep else None))
    return pairs


def query_value(query: Query, name: str) -> Optional[str]:
    """The first value of ``name`` (``""`` for a bare flag), or None when absent."""
    for key, value in query:
        if key == name:
            return value if value is not None else ""
    return None


@dataclass(frozen=True)
class Target:
    """What a request addresses. ``bucket``/``key`` decoded; "" when absent."""

    bucket: str
    key: str
    virtual_host: bool
    control_path: Optional[str] = None  # set for /_emulator/... requests

    @property
    def level(self) -> str:
        if not self.bucket:
            return "service"
        return "object" if self.key else "bucket"


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


@lru_cache(maxsize=256)
def _is_ip(name: str) -> bool:
    if name[:1].isalpha():  # no IP literal starts with a letter (IPv6 ones are bracketed)
        return False
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def virtual_host_bucket(
    host_header: str, bucket_exists: Callable[[str], bool], suffixes: Tuple[str, ...] = ()
) -> Optional[str]:
    """The bucket named by ``Host: bucket.host`` or None for path-style requests.

    A host counts as virtual-host style when its first label is a valid bucket
    name and either the rest is a known suffix (``localhost`` or one configured)
    or that bucket exists. IP literals and bare names are always path style.
    """
    name = _host_name(host_header)
    if not name or _is_ip(name) or "." not in name:
        return None
    first, _, rest = name.partition(".")
    if not is_valid_bucket_name(first):
        return None
    if rest == "localhost" or rest in suffixes or bucket_exists(first):
        return first
    return None


def _decode_path(raw_path: str) -> str:
    try:
        return unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise OssError("InvalidObjectName", "The object name is not valid UTF-8.", ec="0016-00000002") from None


def split_target(raw_target: str) -> Tuple[str, str]:
    """``(raw path, raw query)`` of a request target, origin or absolute form."""
    if raw_target.startswith(("http://", "https://")):
        parts = urlsplit(raw_target)
        return parts.path or "/", parts.query
    path, _, query = raw_target.partition("?")
    return path or "/", query


def resolve_target(
    raw_path: str,
    host_header: str,
    bucket_exists: Callable[[str], bool],
    suffixes: Tuple[str, ...] = (),
) -> Target:
    vhost = virtual_host_bucket(host_header, bucket_exists, suffixes)
    if vhost is None and (raw_path == CONTROL_PREFIX or raw_path.startswith(CONTROL_PREFIX + "/")):
        return Target("", "", False, control_path=raw_path[len(CONTROL_PREFIX):] or "/")
    path = _decode_path(raw_path)
    if vhost is not None:
        return Target(vhost, path.removeprefix("/"), True)
    stripped = path.removeprefix("/")
    bucket, _, key = stripped.partition("/")
    return Target(bucket, key, False)


def routing_keys(query: Query) -> FrozenSet[str]:
    """The operation-selecting keys; ``versionId=null`` (the only version an object here has) selects nothing."""
    return frozenset(name for name, value in query if name in ROUTING_KEYS and (name, value) != ("versionId", "null"))


def operation_name(method: str, target: Target, query: Query) -> str:
    return OPERATIONS.get((method, target.level, routing_keys(query)), UNSUPPORTED)


def describe_unsupported(method: str, target: Target, query: Query) -> str:
    """How a NotImplemented error names an operation the emulator lacks: ``PUT object ?live``."""
    keys = sorted(routing_keys(query))
    return f"{method} {target.level}" + (" ?" + "&".join(keys) if keys else "")


def check_key(key: str, reading: bool = False) -> None:
    """OSS's object-name rules: 1..1023 UTF-8 bytes, no leading ``/`` or ``\\``, no NUL.

    ``reading`` (GET/HEAD): a name with a leading ``/`` or ``\\`` cannot exist, so
    the answer is NoSuchKey (404), as OSS answers, rather than InvalidObjectName.
    """
    encoded = key.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_KEY_BYTES:
        raise OssError("InvalidObjectName", "The length of the object name must be at most 1023 bytes.", ec="0016-00000003")
    if key.startswith(("/", "\\")) and reading:
        raise OssError("NoSuchKey", Key=key)
    if key.startswith(("/", "\\")):
        raise OssError("InvalidObjectName", "The object name must not start with '/' or '\\'.", ec="0016-00000005")
    if "\x00" in key:
        raise OssError("InvalidObjectName", "The object name must not contain NUL.")


def check_bucket(bucket: str) -> None:
    if not is_valid_bucket_name(bucket):
        raise OssError("InvalidBucketName", BucketName=bucket)
