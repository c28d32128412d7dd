"""Upload callbacks (``x-oss-callback``): read the request's callback, POST it to a loopback URL, relay the answer.

What OSS does for PutObject and CompleteMultipartUpload: the callback parameter
is base64 JSON (``callbackUrl``, ``callbackBody``, optional ``callbackHost`` and
``callbackBodyType``), custom ``x:`` variables come base64 JSON in
``x-oss-callback-var``. After the object is stored, the body, with its
variables substituted, is POSTed to the first URL that answers (up to five,
``;``-separated); that server's response body becomes the client's response
body (200). When no URL answers 200 the object stays stored and the answer is
203 ``CallbackFailed``.

The emulator only ever calls loopback addresses (``127.0.0.0/8``, ``::1``,
``localhost``): any other URL is refused with 400 InvalidArgument before the
upload is performed, and no request is sent anywhere.
"""
from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit

from .errors import OssError

TIMEOUT = 5.0  # seconds, as OSS
MAX_URLS = 5
MAX_ANSWER = 3 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class Callback:
    urls: List[str]
    body: str
    body_type: str = FORM
    host: Optional[str] = None
    variables: Dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    """What the callback server said: the body to relay, or why no URL answered 200."""

    content_type: str = JSON
    body: bytes = b""
    failure: Optional[str] = None


def _invalid(message: str, name: str = "callback") -> OssError:
    return OssError("InvalidArgument", message, ArgumentName=name)


def _decode_json(text: str, name: str) -> object:
    try:
        return json.loads(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise _invalid(f"The {name} parameter is not base64-encoded JSON.", name) from None


def is_loopback_host(host: str) -> bool:
    """True for loopback IP literals and for ``localhost`` names; no name is ever resolved."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> str:
    """The URL with a scheme; InvalidArgument unless it is http(s) to a loopback host."""
    full = url if "://" in url else f"http://{url}"
    parts = urlsplit(full)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"Invalid callbackUrl {url!r}.", "callbackUrl")
    if not is_loopback_host(parts.hostname):
        raise _invalid(
            f"The emulator only calls back loopback addresses; {url!r} is not one (no callback request was sent).",
            "callbackUrl",
        )
    return full


def parse(raw: Optional[str], raw_vars: Optional[str]) -> Optional[Callback]:
    """The callback of a request (its ``x-oss-callback`` / ``x-oss-callback-var`` values), None without one."""
    if not raw:
        return None
    spec = _decode_json(raw, "callback")
    if not isinstance(spec, dict):
        raise _invalid("The callback parameter must be a JSON object.")
    urls = [u.strip() for u in str(spec.get("callbackUrl") or "").split(";") if u.strip()]
    if not urls or len(urls) > MAX_URLS:
        raise _invalid(f"callbackUrl must name 1 to {MAX_URLS} URLs.", "callbackUrl")
    if "callbackBody" not in spec:
        raise _invalid("The callback parameter has no callbackBody.", "callbackBody")
    body_type = str(spec.get("callbackBodyType") or FORM)
    if body_type.split(";")[0].strip().lower() not in (FORM, JSON):
        raise _invalid(f"Unsupported callbackBodyType {body_type!r}.", "callbackBodyType")
    variables: Dict[str, str] = {}
    if raw_vars:
        decoded = _decode_json(raw_vars, "callback-var")
        if not isinstance(decoded, dict):
            raise _invalid("The callback-var parameter must be a JSON object.", "callback-var")
        for name, value in decoded.items():
            if not str(name).startswith("x:"):
                raise _invalid(f"Custom callback variables start with 'x:' ({name!r} does not).", "callback-var")
            variables[str(name)] = str(value)
    return Callback([_check_url(u) for u in urls], str(spec["callbackBody"]), body_type, spec.get("callbackHost"),
                    variables)


def render(callback: Callback, system: Mapping[str, str]) -> str:
    """The callback body with ``${name}`` replaced: URL-encoded values for a form body, JSON
    values (strings quoted unless the template already quotes them, ``size`` a number) for JSON."""
    as_json = callback.body_type.split(";")[0].strip().lower() == JSON
    template = callback.body

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        value = callback.variables.get(name) if name.startswith("x:") else system.get(name)
        text = "" if value is None else str(value)
        if not as_json:
            return quote(text, safe="")
        quoted_already = template[match.start() - 1 : match.start()] == '"' and template[match.end() : match.end() + 1] == '"'
        if quoted_already:
            return json.dumps(text)[1:-1]
        if name == "size" and text.isdigit():
            return text
        return json.dumps(text)

    return _VARIABLE.sub(value_of, template)


def _post(url: str, host: Optional[str], content_type: str, body: bytes) -> Tuple[int, str, bytes]:
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=TIMEOUT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.putrequest("POST", target, skip_host=bool(host), skip_accept_encoding=True)
        if host:
            connection.putheader("Host", host)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER + 1)
        return response.status, response.getheader("Content-Type") or JSON, answer
    finally:
        connection.close()


def perform(callback: Callback, system: Mapping[str, str]) -> Answer:
    """POST the callback to its URLs in turn until one answers 200 (its answer), else a failure."""
    body = render(callback, system).encode("utf-8")
    failures = []
    for url in callback.urls:
        try:
            status, content_type, answer = _post(url, callback.host, callback.body_type, body)
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{url}: {exc}")
            continue
        if status == 200 and len(answer) <= MAX_ANSWER:
            return Answer(content_type, answer)
        failures.append(f"{url}: status {status}")
    return Answer(failure="Error status : " + "; ".join(failures))
