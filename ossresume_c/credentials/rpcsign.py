"""The Alibaba Cloud RPC signature (SignatureVersion 1.0, HMAC-SHA1) that STS
requests carry; pure functions, shared by the client and the STS stand-in.

StringToSign = METHOD + "&" + enc("/") + "&" + enc(sorted "enc(k)=enc(v)" pairs
joined by "&"), where enc is RFC 3986 percent-encoding (space -> %20, "*" -> %2A,
"~" kept).  The key is the AccessKey secret followed by "&".
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Mapping
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def percent_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """Every parameter but ``Signature``, sorted by name, encoded."""
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}"
                    for k in sorted(params) if k != "Signature")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(secret: str, text: str) -> str:
    digest = hmac.new(f"{secret}&".encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(method: str, params: Mapping[str, str], secret: str) -> str:
    return signature(secret, string_to_sign(method, params))


def verify(method: str, params: Mapping[str, str], secret: str) -> bool:
    presented = params.get("Signature", "")
    expected = sign(method, params, secret)
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("utf-8", "replace"))
