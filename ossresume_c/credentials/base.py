"""What every credential source shares: the error types, credentials that expire,
and the one guarded HTTP read the network sources use.

Error messages say what to do and never contain a secret or a token: response
bodies of credential services are never quoted, only their ``Code``/``Message``.
"""
from __future__ import annotations

import ipaddress
import json
import os
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from ..auth import Credentials

Provider = Callable[[], Credentials]

# Set (tests set it) to refuse any credential request to a non-loopback host.
ENV_LOOPBACK_ONLY = "OSSRESUME_LOOPBACK_ONLY"
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
USER_AGENT = "ossresume_c-credentials"


class CredentialsError(Exception):
    """A credential source is configured but cannot give credentials (malformed
    file, refused STS call, expired static token...)."""


class SourceAbsent(CredentialsError):
    """The source is not configured here: the chain moves on to the next one."""


class NoCredentialsError(CredentialsError):
    """No source of the chain gave credentials; the message lists them in order."""


class ExpiringCredentials(Credentials):
    """Credentials with the epoch second they stop working (None: never)."""

    __slots__ = ("expiration",)

    def __init__(self, access_key_id: str, access_key_secret: str,
                 security_token: Optional[str] = None, expiration: Optional[float] = None) -> None:
        super().__init__(access_key_id, access_key_secret, security_token)
        self.expiration = expiration


def expiration_of(creds: Credentials) -> Optional[float]:
    return getattr(creds, "expiration", None)


def parse_expiration(text: Any, where: str) -> float:
    """``2026-11-30T15:00:00Z`` (what STS, ECS and credential URIs return) -> epoch seconds."""
    try:
        return datetime.strptime(str(text), EXPIRATION_FORMAT).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise CredentialsError(f"{where}: Expiration {text!r} is not like 2026-01-31T12:00:00Z") from None


def format_expiration(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(EXPIRATION_FORMAT)


def check_not_expired(creds: Credentials, where: str, now: Optional[float] = None) -> Credentials:
    """A static STS token past its known expiry is refused here, before any request."""
    expiration = expiration_of(creds)
    current = time.time() if now is None else now
    if expiration is not None and current >= expiration:
        raise CredentialsError(
            f"{where}: token expired at {format_expiration(expiration)}; get a new STS token "
            f"(or use a source that refreshes: ram_role_arn, oidc_role_arn, ecs_ram_role)")
    return creds


def fixed(creds: Credentials, where: str) -> Provider:
    """Static credentials; a token with a known expiry is refused once it has passed."""
    def get() -> Credentials:
        return check_not_expired(creds, where)
    return get


def invalidate(provider: object) -> bool:
    """Ask ``provider`` to forget temporary credentials the server called expired; True
    when it renews them on its next call (static sources cannot)."""
    forget = getattr(provider, "invalidate", None)
    return bool(forget()) if callable(forget) else False


def require_keys(values: Mapping[str, Any], id_name: str, secret_name: str, where: str,
                 token_name: Optional[str] = None) -> ExpiringCredentials:
    ak, sk = values.get(id_name), values.get(secret_name)
    if not ak or not sk:
        raise CredentialsError(f"{where}: {id_name} and {secret_name} are both required")
    token = values.get(token_name) if token_name else None
    return ExpiringCredentials(str(ak), str(sk), str(token) if token else None)


def env_flag(name: str, env: Optional[Mapping[str, str]] = None) -> bool:
    return (env if env is not None else os.environ).get(name, "").strip().lower() == "true"


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guard_url(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if os.environ.get(ENV_LOOPBACK_ONLY) and not _is_loopback_host(host):
        raise SourceAbsent(f"{ENV_LOOPBACK_ONLY} is set: refusing to contact {host}")


def http_json(method: str, url: str, what: str, headers: Optional[Dict[str, str]] = None,
              timeout: float = 5.0, unreachable_is_absent: bool = False) -> Dict[str, Any]:
    """One HTTP request whose answer is a JSON object.  Failures raise
    CredentialsError naming ``what`` and the HTTP status, with the service's
    ``Code``/``Message`` when it sent them, never the body itself."""
    text = http_text(method, url, what, headers, timeout, unreachable_is_absent)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"{what}: the answer is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CredentialsError(f"{what}: the answer is not a JSON object")
    return value


def http_text(method: str, url: str, what: str, headers: Optional[Dict[str, str]] = None,
              timeout: float = 5.0, unreachable_is_absent: bool = False) -> str:
    # http.client, not requests: urllib3 logs request lines at DEBUG, and these
    # carry OIDC tokens, signatures and URI keys in their query strings.
    import http.client   # here: most calls never read a credential service
    guard_url(url)
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, target, headers=dict(headers or {}, **{"User-Agent": USER_AGENT}))
        resp = connection.getresponse()
        body = resp.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        kind = SourceAbsent if unreachable_is_absent else CredentialsError
        raise kind(f"{what}: cannot reach {_origin(url)} ({type(exc).__name__})") from None
    finally:
        connection.close()
    if resp.status != 200:
        raise CredentialsError(f"{what}: HTTP {resp.status}{_service_error(body)}")
    return body


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _service_error(body: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(value, dict):
        return ""
    code, message = value.get("Code"), value.get("Message")
    return f" {code}: {message}" if code or message else ""


def credentials_from_json(payload: Mapping[str, Any], what: str) -> ExpiringCredentials:
    """The ``AccessKeyId``/``AccessKeySecret``/``SecurityToken``/``Expiration`` object
    STS (under ``Credentials``), ECS metadata and credential URIs answer."""
    missing = [k for k in ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
               if not payload.get(k)]
    if missing:
        raise CredentialsError(f"{what}: the answer lacks {', '.join(missing)}")
    return ExpiringCredentials(str(payload["AccessKeyId"]), str(payload["AccessKeySecret"]),
                               str(payload["SecurityToken"]),
                               parse_expiration(payload["Expiration"], what))
