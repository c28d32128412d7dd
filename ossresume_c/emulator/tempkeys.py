"""Temporary credentials the emulator accepts: what its STS, metadata and
credentials-URI stand-ins issue.

They need no shared state: the key id carries its expiry (``STS.<epoch>.<nonce>``)
and the secret and the security token are HMACs of the key id under the
emulator's own secret, so the emulator (another process) recomputes both.  A
request signed with such a key must carry its token and arrive before the expiry;
otherwise the answer is OSS's 403 ``InvalidSecurityToken`` / ``SecurityTokenExpired``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Sequence, Tuple

PREFIX = "STS."
EXPIRED = ("SecurityTokenExpired", "The security token you provided has expired.")
INVALID = ("InvalidSecurityToken", "The security token you provided is invalid.")


def _derive(master: str, purpose: str, access_key_id: str) -> str:
    digest = hmac.new(master.encode("utf-8"), f"{purpose}:{access_key_id}".encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def issue(master: str, lifetime: float, now: Optional[float] = None) -> Dict[str, str]:
    """New temporary credentials valid for ``lifetime`` seconds (rounded up to whole
    seconds, the resolution of ``Expiration``), in the JSON shape STS answers."""
    current = time.time() if now is None else now
    expiry = int(math.ceil(current + lifetime))
    access_key_id = f"{PREFIX}{expiry}.{secrets.token_hex(8)}"
    return {
        "AccessKeyId": access_key_id,
        "AccessKeySecret": _derive(master, "secret", access_key_id),
        "SecurityToken": "CAIS" + _derive(master, "token", access_key_id),
        "Expiration": datetime.fromtimestamp(expiry, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def expiry_of(access_key_id: str) -> Optional[int]:
    if not access_key_id.startswith(PREFIX):
        return None
    stamp = access_key_id[len(PREFIX):].split(".", 1)[0]
    return int(stamp) if stamp.isdigit() else None


def secret_for(master: str, access_key_id: str) -> Optional[str]:
    """The secret of a temporary key id, None for any other id."""
    return _derive(master, "secret", access_key_id) if expiry_of(access_key_id) is not None else None


def token_check(master: str, access_key_id: str, token: Optional[str],
                now: Optional[float] = None) -> Optional[Tuple[str, str]]:
    """``(code, message)`` when a request signed with ``access_key_id`` must be
    refused for its token, None when it may go on (or the key is not temporary)."""
    expiry = expiry_of(access_key_id)
    if expiry is None:
        return None
    if not token or not hmac.compare_digest(token.encode("utf-8"),
                                            ("CAIS" + _derive(master, "token", access_key_id)).encode("utf-8")):
        return INVALID
    if (time.time() if now is None else now) >= expiry:
        return EXPIRED
    return None


def presented_token(query: Sequence[Tuple[str, Optional[str]]], headers: Any) -> Optional[str]:
    """The security token a request carries: the header, or a presigned URL's parameter."""
    for name, value in headers.items():
        if str(name).lower() == "x-oss-security-token":
            return str(value).strip()
    for key, text in query:
        if key in ("security-token", "x-oss-security-token"):
            return text or ""
    return None
