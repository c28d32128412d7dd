"""Check the signature of a request the emulator received (V1/V4, header or presigned).

Each of the four forms is read into a ``Claim`` (who signed, when, until when,
what was signed, the signature given); one tail then checks every claim the same
way, in this order: the time (clock skew for header signatures, expiry for
presigned URLs), the V4 credential scope, the key id, the signature. Reading
errors (a malformed header, a missing date) are AccessDenied before that.

The canonicalisation is the signer's (``ossresume_c.auth``), so a request the
client signs verifies by construction; the official vectors pin both to OSS.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from time import time as _time
from typing import Callable, Optional, Tuple, Union

from ..auth import (
    UNSIGNED_PAYLOAD,
    V4_ALGORITHM,
    V4_MAX_EXPIRES,
    V4_TERMINATOR,
    HeaderFields,
    Query,
    lower_headers,
    v1_signature,
    v1_string_to_sign,
    v4_canonical_request,
    v4_scope,
    v4_signature,
    v4_signing_key,
    v4_string_to_sign,
)
from .exchange import wire_text

__all__ = ["VerifyResult", "verify_request", "has_signature"]

SecretLookup = Callable[[str], Optional[str]]
Scope = Tuple[str, str, str]  # (date, region, product) of a V4 credential

REGION_EC = "0002-00000226"

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@dataclass
class VerifyResult:
    """Outcome of ``verify_request``.

    ``error_code`` is one of None, "AccessDenied", "InvalidAccessKeyId",
    "SignatureDoesNotMatch", "RequestTimeTooSkewed". ``anonymous`` is True when
    the request carried no signature at all (error AccessDenied), so a server in
    anonymous mode can let it through. ``message`` never contains secrets.
    """

    ok: bool
    error_code: Optional[str]
    message: str
    string_to_sign: Optional[str]
    access_key_id: Optional[str]
    anonymous: bool = False
    signature_version: Optional[int] = None
    ec: Optional[str] = None  # OSS's detailed error code, when it has one


def _fail(
    code: str,
    message: str,
    *,
    string_to_sign: Optional[str] = None,
    access_key_id: Optional[str] = None,
    version: Optional[int] = None,
    anonymous: bool = False,
    ec: Optional[str] = None,
) -> VerifyResult:
    return VerifyResult(False, code, message, string_to_sign, access_key_id, anonymous, version, ec)


@dataclass(frozen=True)
class Claim:
    """What a signed request says about itself, read but not yet checked.

    ``signed_at`` (header signatures) is checked against the allowed clock skew,
    ``expires_at`` (presigned URLs) against the clock; ``scope`` is set for V4,
    with ``stamp`` the x-oss-date the scope must match.
    """

    version: int
    access_key_id: str
    signature: str
    string_to_sign: str
    signed_at: Optional[float] = None
    expires_at: Optional[float] = None
    scope: Optional[Scope] = None
    stamp: str = ""

    def fail(self, code: str, message: str, ec: Optional[str] = None) -> VerifyResult:
        return _fail(code, message, access_key_id=self.access_key_id, version=self.version, ec=ec)


# ---------------------------------------------------------------------------
# entry point


def has_signature(query: Query, headers: HeaderFields) -> bool:
    """True when the request carries any OSS signature (header or presigned)."""
    if any(str(k).lower() == "authorization" for k, _ in headers.items()):
        return True
    names = {k for k, _ in query}
    return "Signature" in names or "x-oss-signature" in names


def verify_request(
    method: str,
    bucket: Optional[str],
    key: Optional[str],
    query: Query,
    headers: HeaderFields,
    lookup_secret: SecretLookup,
    now: Optional[float] = None,
    max_skew: float = 900,
    region: Optional[str] = None,
) -> VerifyResult:
    """Check the signature of a received request.

    ``bucket``/``key``/``query`` are decoded. Header V1, header V4 (both
    layouts), presigned V1 and presigned V4 are recognised. Checks, in order:
    the form of the signature (else AccessDenied), the date (missing or bad:
    AccessDenied; skewed or, for presigned URLs, expired: RequestTimeTooSkewed /
    AccessDenied), the key id (InvalidAccessKeyId), then the signature
    (SignatureDoesNotMatch with the StringToSign the server computed).

    V4's region and product come from the credential scope. If ``region`` is
    given and the scope names another region, the result is InvalidArgument
    ("Invalid signing region", EC 0002-00000226), like a real endpoint serving one region.
    """
    low = {name: wire_text(value) for name, value in lower_headers(headers).items()}
    authorization = low.get("authorization")
    claim: Union[Claim, VerifyResult]
    if authorization:
        if authorization.startswith(V4_ALGORITHM):
            claim = _read_v4_header(method, bucket, key, query, low, authorization)
        elif authorization.startswith("OSS "):
            claim = _read_v1_header(method, bucket, key, query, low, authorization)
        else:
            return _fail("AccessDenied", "Unsupported Authorization header.")
    else:
        names = {k for k, _ in query}
        if "x-oss-signature" in names or "x-oss-signature-version" in names or "x-oss-credential" in names:
            claim = _read_v4_presign(method, bucket, key, query, low)
        elif "Signature" in names or "OSSAccessKeyId" in names:
            claim = _read_v1_presign(method, bucket, key, query, low)
        else:
            return _fail("AccessDenied", "The request carries no signature (anonymous access denied).", anonymous=True)
    if isinstance(claim, VerifyResult):
        return claim
    return _settle(claim, lookup_secret, _time() if now is None else float(now), max_skew, region)


# ---------------------------------------------------------------------------
# the one tail every form goes through


def _settle(claim: Claim, lookup_secret: SecretLookup, now: float, max_skew: float, region: Optional[str]) -> VerifyResult:
    if claim.signed_at is not None and abs(now - claim.signed_at) > max_skew:
        return claim.fail(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    if claim.expires_at is not None and now > claim.expires_at:
        return claim.fail("AccessDenied", "Request has expired.")
    if claim.scope is not None:
        if claim.scope[0] != claim.stamp[:8]:
            return claim.fail("AccessDenied", "The credential scope date does not match x-oss-date.")
        if region is not None and claim.scope[1] != region:
            return claim.fail("InvalidArgument", "Invalid signing region in Authorization header.", ec=REGION_EC)
    secret = lookup_secret(claim.access_key_id)
    if secret is None:
        return claim.fail("InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
    if claim.scope is None:
        expected = v1_signature(secret, claim.string_to_sign)
        given = claim.signature
    else:
        expected = v4_signature(v4_signing_key(secret, *claim.scope), claim.string_to_sign)
        given = claim.signature.lower()
    if hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        return VerifyResult(True, None, "OK", claim.string_to_sign, claim.access_key_id, False, claim.version)
    return _fail(
        "SignatureDoesNotMatch", _MISMATCH, string_to_sign=claim.string_to_sign,
        access_key_id=claim.access_key_id, version=claim.version,
    )


# ---------------------------------------------------------------------------
# reading the four forms


def _query_get(query: Query, name: str) -> Optional[str]:
    for k, v in query:
        if k == name:
            return v or ""
    return None


@lru_cache(maxsize=1024)  # pure; requests signed in the same second share a stamp
def _parse_v4_date(text: str) -> Optional[float]:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _parse_http_date(text: str) -> Optional[float]:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _read_v1_header(
    method: str, bucket: Optional[str], key: Optional[str], query: Query, low: dict[str, str], authorization: str
) -> Union[Claim, VerifyResult]:
    access_key_id, sep, signature = authorization[4:].strip().rpartition(":")
    if not sep or not access_key_id or not signature:
        return _fail("AccessDenied", "Malformed V1 Authorization header.", version=1)
    date_text = low.get("x-oss-date") or low.get("date")
    if not date_text:
        return _fail("AccessDenied", "The request has no Date or x-oss-date header.", access_key_id=access_key_id, version=1)
    when = _parse_http_date(date_text)
    if when is None:
        return _fail("AccessDenied", "Invalid date in Date or x-oss-date.", access_key_id=access_key_id, version=1)
    sts = v1_string_to_sign(method, bucket, key, query, low, date=date_text)
    return Claim(1, access_key_id, signature, sts, signed_at=when)


def _read_v1_presign(
    method: str, bucket: Optional[str], key: Optional[str], query: Query, low: dict[str, str]
) -> Union[Claim, VerifyResult]:
    access_key_id = _query_get(query, "OSSAccessKeyId")
    expires = _query_get(query, "Expires")
    signature = _query_get(query, "Signature")
    if not access_key_id or not expires or not signature:
        return _fail("AccessDenied", "Presigned V1 URL needs OSSAccessKeyId, Expires and Signature.", version=1)
    try:
        expires_at = int(expires)
    except ValueError:
        return _fail("AccessDenied", "Invalid Expires in presigned URL.", access_key_id=access_key_id, version=1)
    sts = v1_string_to_sign(method, bucket, key, query, low, date=expires)
    return Claim(1, access_key_id, signature, sts, expires_at=expires_at)


def _parse_v4_authorization(value: str) -> Optional[dict[str, str]]:
    """Both layouts: v2's ``Credential=..,AdditionalHeaders=..,Signature=..`` and
    oss2's ``Credential=.., Signature=.., AdditionalHeaders=..``."""
    rest = value[len(V4_ALGORITHM):]
    if not rest[:1].isspace():
        return None
    fields: dict[str, str] = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, val = item.partition("=")
        if not sep:
            return None
        fields[name.strip()] = val.strip()
    if "Credential" not in fields or "Signature" not in fields:
        return None
    return fields


def _split_credential(credential: str) -> Optional[Tuple[str, Scope]]:
    """``ak/date/region/product/aliyun_v4_request`` -> (ak, (date, region, product))."""
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or parts[4] != V4_TERMINATOR or not all(parts[:4]):
        return None
    return parts[0], (parts[1], parts[2], parts[3])


def _split_additional(text: Optional[str]) -> list[str]:
    return [name for name in (text or "").split(";") if name.strip()]


def _v4_string_to_sign(
    method: str, bucket: Optional[str], key: Optional[str], query: Query, low: dict[str, str],
    additional: str, stamp: str, scope: Scope, payload_hash: Optional[str] = None,
) -> str:
    canonical = v4_canonical_request(method, bucket, key, query, low, _split_additional(additional), payload_hash)
    return v4_string_to_sign(canonical, stamp, v4_scope(*scope))


def _read_v4_header(
    method: str, bucket: Optional[str], key: Optional[str], query: Query, low: dict[str, str], authorization: str
) -> Union[Claim, VerifyResult]:
    fields = _parse_v4_authorization(authorization)
    credential = _split_credential(fields["Credential"]) if fields else None
    if fields is None or credential is None:
        return _fail("AccessDenied", "Malformed OSS4-HMAC-SHA256 Authorization header.", version=4)
    access_key_id, scope = credential
    stamp = low.get("x-oss-date")
    if not stamp:
        return _fail("AccessDenied", "The request has no x-oss-date header.", access_key_id=access_key_id, version=4)
    when = _parse_v4_date(stamp)
    if when is None:
        return _fail("AccessDenied", "Invalid x-oss-date (expected yyyymmddTHHMMSSZ).", access_key_id=access_key_id, version=4)
    sts = _v4_string_to_sign(method, bucket, key, query, low, fields.get("AdditionalHeaders", ""), stamp, scope)
    return Claim(4, access_key_id, fields["Signature"], sts, signed_at=when, scope=scope, stamp=stamp)


def _read_v4_presign(
    method: str, bucket: Optional[str], key: Optional[str], query: Query, low: dict[str, str]
) -> Union[Claim, VerifyResult]:
    version = _query_get(query, "x-oss-signature-version")
    raw_credential = _query_get(query, "x-oss-credential")
    stamp = _query_get(query, "x-oss-date")
    expires = _query_get(query, "x-oss-expires")
    signature = _query_get(query, "x-oss-signature")
    credential = _split_credential(raw_credential) if raw_credential else None
    if version != V4_ALGORITHM or credential is None or not signature:
        return _fail("AccessDenied", "Malformed V4 presigned URL.", version=4)
    access_key_id, scope = credential
    when = _parse_v4_date(stamp) if stamp else None
    if stamp is None or when is None:
        return _fail("AccessDenied", "Missing or invalid x-oss-date in presigned URL.", access_key_id=access_key_id, version=4)
    try:
        lifetime = int(expires or "")
    except ValueError:
        return _fail("AccessDenied", "Missing or invalid x-oss-expires in presigned URL.", access_key_id=access_key_id, version=4)
    if not 0 < lifetime <= V4_MAX_EXPIRES:
        return _fail("AccessDenied", "x-oss-expires must be within 1 second and 7 days.", access_key_id=access_key_id, version=4)
    signed_query = [(k, v) for k, v in query if k != "x-oss-signature"]
    sts = _v4_string_to_sign(
        method, bucket, key, signed_query, low, _query_get(query, "x-oss-additional-headers") or "", stamp, scope,
        payload_hash=UNSIGNED_PAYLOAD,
    )
    return Claim(4, access_key_id, signature, sts, expires_at=when + lifetime, scope=scope, stamp=stamp)
