"""OSS request signing, V1 and V4, header and presigned.

The client signs with ``sign_v1`` / ``sign_v4`` / ``presign_v1`` /
``presign_v4``. The emulator's verification (``emulator/verify.py``) builds on
the same canonicalisation, so a round trip is consistent by construction; the
official vectors (``tests/data/signing.json``) pin that canonicalisation to what
OSS and its SDKs compute.

Conventions
-----------
* ``bucket`` and ``key`` are always the *decoded* names (``"a b/c"``, not
  ``"a%20b%2Fc"``). ``None`` or ``""`` means "absent".
* A ``Query`` is an ordered list of ``(name, value)`` pairs, decoded. For signing
  a value of ``None`` and a value of ``""`` are the same thing: a flag parameter,
  canonicalised as ``name`` without ``=`` (that is what OSS does for both
  ``?uploads`` and ``?uploads=``). They differ only on the wire, see
  ``encode_query``: ``None`` is written ``name`` and ``""`` is written ``name=``.
* Header mappings are looked up case-insensitively; any ``Mapping`` works,
  including ``http.client.HTTPMessage``. Values are compared after trimming
  surrounding whitespace, as HTTP servers do.
* Every function that depends on the clock takes ``now`` (epoch seconds) so tests
  are deterministic.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from time import gmtime, strftime
from time import time as _time
from typing import Iterable, List, Mapping, MutableMapping, Optional, Protocol, Tuple
from urllib.parse import quote

__all__ = [
    "Credentials",
    "SUBRESOURCES",
    "Query",
    "encode_query",
    "v1_string_to_sign",
    "v1_signature",
    "sign_v1",
    "presign_v1",
    "V4_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "v4_additional_headers",
    "v4_canonical_request",
    "v4_scope",
    "v4_string_to_sign",
    "v4_signing_key",
    "v4_signature",
    "sign_v4",
    "presign_v4",
    "V4_MAX_EXPIRES",
    "V4_TERMINATOR",
    "HeaderFields",
    "lower_headers",
]

Query = List[Tuple[str, Optional[str]]]

V4_ALGORITHM = "OSS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
V4_TERMINATOR = "aliyun_v4_request"
V4_MAX_EXPIRES = 7 * 24 * 3600  # OSS refuses V4 presigned URLs valid longer than 7 days

_RESPONSE_OVERRIDES = (
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
)

# Query parameters that take part in the V1 canonicalized resource: OSS's sub-resource list
# (the one the official SDKs sign; docs/protocol.md).
SUBRESOURCES: frozenset[str] = frozenset(
    """
    acl uploads uploadId partNumber append position delete security-token versionId sequential
    tagging symlink objectMeta objectInfo restore x-oss-process x-oss-async-process resourceGroup
    callback callback-var logging website location cors lifecycle referer qos qosInfo stat
    bucketInfo live comp status vod startTime endTime encryption versions versioning policy
    requestPayment x-oss-traffic-limit asyncFetch x-oss-request-payer inventory inventoryId
    continuation-token worm wormId wormExtend replication replicationLocation replicationProgress
    transferAcceleration cname metaQuery group link x-oss-ac-source-ip x-oss-ac-subnet-mask
    x-oss-ac-vpc-id x-oss-ac-forward-allow style styleName regionList x-oss-write-get-object-response
    bucketArchiveDirectRead httpsConfig redundancyTransition x-oss-target-redundancy-type
    x-oss-redundancy-transition-taskid accessPoint accessPointPolicy publicAccessBlock
    x-oss-access-point-name requesterQosInfo qosRequester resourcePoolInfo resourcePool
    resourcePoolBuckets cloudboxes userDefinedLogFieldsConfig policyStatus overwriteConfig legalHold
    retention objectWorm seal rtc dataPipeline cleanRestoredObject MetaQuery
    """.split()
    + list(_RESPONSE_OVERRIDES)
)

# Headers V4 always signs when present, besides every x-oss-* header.
_V4_DEFAULT_SIGNED = frozenset(("content-type", "content-md5"))


class Credentials:
    """An access key pair, optionally with an STS security token.

    ``repr`` and ``str`` show the key id only: secrets must never reach logs.
    """

    __slots__ = ("access_key_id", "access_key_secret", "security_token")

    def __init__(
        self, access_key_id: str, access_key_secret: str, security_token: Optional[str] = None
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token or None

    def __repr__(self) -> str:
        token = ", security_token='***'" if self.security_token else ""
        return f"Credentials(access_key_id={self.access_key_id!r}, access_key_secret='***'{token})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key_id, self.access_key_secret, self.security_token) == (
            other.access_key_id,
            other.access_key_secret,
            other.security_token,
        )

    def __hash__(self) -> int:
        return hash((self.access_key_id, self.access_key_secret, self.security_token))


# ---------------------------------------------------------------------------
# small helpers


class HeaderFields(Protocol):
    """Anything with ``items()`` of (name, value): a dict, an ``email.message.Message``..."""

    def items(self) -> Iterable[Tuple[str, str]]: ...


def lower_headers(headers: HeaderFields) -> dict[str, str]:
    """Lower-cased names, trimmed values. With repeated names the last one wins."""
    return {str(k).lower(): str(v).strip() for k, v in headers.items()}


def _set_header(headers: MutableMapping[str, str], name: str, value: str) -> None:
    """Set ``name`` replacing any existing spelling of it (``date`` vs ``Date``)."""
    low = name.lower()
    for existing in [k for k in headers if k.lower() == low]:
        del headers[existing]
    headers[name] = value


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    low = name.lower()
    return any(k.lower() == low for k in headers)


@lru_cache(maxsize=4096)
def _rfc3986(text: str) -> str:
    # quote() never escapes A-Za-z0-9 and "_.-~"; safe="" makes it escape "/" too.  Cached:
    # a presigned query repeats its names, date, expiry and credential for every request.
    return quote(text, safe="")


def encode_query(query: Query) -> str:
    """The query string for the wire (without ``?``): RFC 3986 encoding, order kept.

    ``None`` values are written as a bare ``name``, ``""`` values as ``name=``.
    """
    parts = []
    for name, value in query:
        if value is None:
            parts.append(_rfc3986(name))
        else:
            parts.append(f"{_rfc3986(name)}={_rfc3986(value)}")
    return "&".join(parts)


def _now(now: Optional[float]) -> float:
    return _time() if now is None else float(now)


# ---------------------------------------------------------------------------
# Signature V1


def _v1_resource(bucket: Optional[str], key: Optional[str], query: Query) -> str:
    if not bucket:
        resource = "/"
    else:
        resource = f"/{bucket}/{key or ''}"
    subs = sorted(
        ((name, value) for name, value in query if name in SUBRESOURCES),
        key=lambda item: (item[0], item[1] or ""),
    )
    if subs:
        resource += "?" + "&".join(name if not value else f"{name}={value}" for name, value in subs)
    return resource


def v1_string_to_sign(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: Mapping[str, str],
    date: Optional[str] = None,
) -> str:
    """The V1 StringToSign.

    ``date`` overrides the date line (presigned URLs put ``Expires`` there);
    otherwise it is ``x-oss-date`` if present, else ``Date``, else empty.
    """
    low = lower_headers(headers)
    if date is None:
        date = low.get("x-oss-date") or low.get("date", "")
    oss_headers = "".join(
        f"{name}:{low[name]}\n" for name in sorted(n for n in low if n.startswith("x-oss-"))
    )
    return (
        f"{method.upper()}\n{low.get('content-md5', '')}\n{low.get('content-type', '')}\n"
        f"{date}\n{oss_headers}{_v1_resource(bucket, key, query)}"
    )


def v1_signature(secret: str, string_to_sign: str) -> str:
    """base64(HMAC-SHA1(secret, string_to_sign))."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_v1(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: MutableMapping[str, str],
    creds: Credentials,
    now: Optional[float] = None,
) -> None:
    """Sign a request in place with an ``Authorization: OSS ak:sig`` header.

    Adds ``Date`` (RFC 1123, GMT) when neither ``Date`` nor ``x-oss-date`` is
    set, and ``x-oss-security-token`` when the credentials carry a token.
    """
    if not _has_header(headers, "Date") and not _has_header(headers, "x-oss-date"):
        from email.utils import formatdate
        headers["Date"] = formatdate(_now(now), usegmt=True)
    if creds.security_token:
        _set_header(headers, "x-oss-security-token", creds.security_token)
    sts = v1_string_to_sign(method, bucket, key, query, headers)
    signature = v1_signature(creds.access_key_secret, sts)
    _set_header(headers, "Authorization", f"OSS {creds.access_key_id}:{signature}")


def presign_v1(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: Mapping[str, str],
    creds: Credentials,
    expires: int,
    now: Optional[float] = None,
) -> Query:
    """Query parameters that make a V1 presigned URL valid for ``expires`` seconds.

    Returns ``OSSAccessKeyId``, ``Expires`` (epoch seconds = now + expires),
    ``Signature`` and, with STS, ``security-token`` (a sub-resource, so signed).
    Append them to ``query``; the request must still carry any Content-Type,
    Content-MD5 and x-oss-* headers passed here.
    """
    expires_at = str(int(_now(now)) + int(expires))
    extra: Query = []
    if creds.security_token:
        extra.append(("security-token", creds.security_token))
    sts = v1_string_to_sign(method, bucket, key, list(query) + extra, headers, date=expires_at)
    signature = v1_signature(creds.access_key_secret, sts)
    return [
        ("OSSAccessKeyId", creds.access_key_id),
        ("Expires", expires_at),
        ("Signature", signature),
    ] + extra


# ---------------------------------------------------------------------------
# Signature V4


def v4_additional_headers(headers: Mapping[str, str], additional_headers: Iterable[str]) -> list[str]:
    """The effective AdditionalHeaders: lower-cased, sorted, de-duplicated.

    Names that are signed anyway (x-oss-*, content-type, content-md5) and names
    absent from ``headers`` are dropped, so ``{x-oss-no-exist, ZAbc, x-oss-head1,
    abc}`` and ``{ZAbc, abc}`` sign the same.
    """
    present = {str(k).lower() for k in headers}
    names = set()
    for name in additional_headers:
        low = name.strip().lower()
        if not low or low.startswith("x-oss-") or low in _V4_DEFAULT_SIGNED or low not in present:
            continue
        names.add(low)
    return sorted(names)


def _v4_uri(bucket: Optional[str], key: Optional[str]) -> str:
    if not bucket:
        return "/"
    return quote(f"/{bucket}/{key or ''}", safe="/")


def _v4_query(query: Query) -> str:
    encoded = sorted(
        (_rfc3986(name), _rfc3986(value) if value else "") for name, value in query
    )
    return "&".join(f"{name}={value}" if value else name for name, value in encoded)


def v4_canonical_request(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: Mapping[str, str],
    additional_headers: Iterable[str] = (),
    payload_hash: Optional[str] = None,
) -> str:
    """The V4 CanonicalRequest. ``query`` is taken whole (the caller drops
    ``x-oss-signature`` when verifying a presigned URL). The payload line is
    ``payload_hash`` if given, else the ``x-oss-content-sha256`` header, else
    UNSIGNED-PAYLOAD.
    """
    low = lower_headers(headers)
    extra = v4_additional_headers(low, additional_headers)
    signed = set(extra)
    signed.update(n for n in low if n.startswith("x-oss-") or n in _V4_DEFAULT_SIGNED)
    canonical_headers = "".join(f"{name}:{low[name]}\n" for name in sorted(signed))
    payload = payload_hash or low.get("x-oss-content-sha256") or UNSIGNED_PAYLOAD
    return "\n".join(
        (
            method.upper(),
            _v4_uri(bucket, key),
            _v4_query(query),
            canonical_headers,
            ";".join(extra),
            payload,
        )
    )


def v4_scope(date: str, region: str, product: str = "oss") -> str:
    """``yyyymmdd/region/product/aliyun_v4_request``."""
    return f"{date}/{region}/{product}/{V4_TERMINATOR}"


def v4_string_to_sign(canonical_request: str, datetime_str: str, scope: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{V4_ALGORITHM}\n{datetime_str}\n{scope}\n{digest}"


@lru_cache(maxsize=64)
def v4_signing_key(secret: str, date: str, region: str, product: str = "oss") -> bytes:
    """HMAC-SHA256 chain over date, region, product and the terminator (cached:
    it changes once a day per key)."""
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, V4_TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def v4_signature(signing_key: bytes, string_to_sign: str) -> str:
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _v4_datetime(now: Optional[float]) -> str:
    return strftime("%Y%m%dT%H%M%SZ", gmtime(int(_now(now))))


def sign_v4(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: MutableMapping[str, str],
    creds: Credentials,
    region: str,
    product: str = "oss",
    now: Optional[float] = None,
    additional_headers: Iterable[str] = (),
) -> None:
    """Sign a request in place with an ``OSS4-HMAC-SHA256`` Authorization header.

    Sets ``x-oss-date``, ``x-oss-content-sha256`` (UNSIGNED-PAYLOAD unless the
    caller already set a value) and ``x-oss-security-token`` with STS. The header
    uses the v2 SDK layout: ``Credential=…,AdditionalHeaders=…,Signature=…``.
    """
    stamp = _v4_datetime(now)
    _set_header(headers, "x-oss-date", stamp)
    if not _has_header(headers, "x-oss-content-sha256"):
        headers["x-oss-content-sha256"] = UNSIGNED_PAYLOAD
    if creds.security_token:
        _set_header(headers, "x-oss-security-token", creds.security_token)
    extra = v4_additional_headers(headers, additional_headers)
    canonical = v4_canonical_request(method, bucket, key, query, headers, extra)
    scope = v4_scope(stamp[:8], region, product)
    sts = v4_string_to_sign(canonical, stamp, scope)
    signature = v4_signature(v4_signing_key(creds.access_key_secret, stamp[:8], region, product), sts)
    value = f"{V4_ALGORITHM} Credential={creds.access_key_id}/{scope}"
    if extra:
        value += f",AdditionalHeaders={';'.join(extra)}"
    value += f",Signature={signature}"
    _set_header(headers, "Authorization", value)


def presign_v4(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: Mapping[str, str],
    creds: Credentials,
    region: str,
    expires: int,
    product: str = "oss",
    now: Optional[float] = None,
    additional_headers: Iterable[str] = (),
) -> Query:
    """Query parameters that make a V4 presigned URL valid for ``expires`` seconds
    (1 .. 7 days). ``headers`` is not modified; the request must send the
    x-oss-*, Content-Type, Content-MD5 and additional headers passed here.

    Returns x-oss-signature-version, x-oss-date, x-oss-expires, x-oss-credential,
    then x-oss-security-token / x-oss-additional-headers when used, and last
    x-oss-signature.
    """
    expires = int(expires)
    if not 0 < expires <= V4_MAX_EXPIRES:
        raise ValueError(f"expires must be within 1..{V4_MAX_EXPIRES} seconds, got {expires}")
    stamp = _v4_datetime(now)
    scope = v4_scope(stamp[:8], region, product)
    extra = v4_additional_headers(headers, additional_headers)
    params: Query = [
        ("x-oss-signature-version", V4_ALGORITHM),
        ("x-oss-date", stamp),
        ("x-oss-expires", str(expires)),
        ("x-oss-credential", f"{creds.access_key_id}/{scope}"),
    ]
    if creds.security_token:
        params.append(("x-oss-security-token", creds.security_token))
    if extra:
        params.append(("x-oss-additional-headers", ";".join(extra)))
    # A presigned URL never covers the payload, whatever header the caller holds.
    canonical = v4_canonical_request(
        method, bucket, key, list(query) + params, headers, extra, payload_hash=UNSIGNED_PAYLOAD
    )
    sts = v4_string_to_sign(canonical, stamp, scope)
    signature = v4_signature(v4_signing_key(creds.access_key_secret, stamp[:8], region, product), sts)
    return params + [("x-oss-signature", signature)]
