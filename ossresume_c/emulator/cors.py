"""Answer CORS preflight requests (``OPTIONS``) from a bucket's stored CORS rules, as OSS does.

A browser sends ``Origin``, ``Access-Control-Request-Method`` and maybe
``Access-Control-Request-Headers``; OSS takes the first rule whose AllowedOrigin
matches the origin (one ``*`` wildcard allowed), whose AllowedMethod lists the
method, and whose AllowedHeader patterns cover every requested header (case-insensitive,
``*`` wildcard), and answers 200 with the ``Access-Control-*`` headers; without a
rule, or without CORS rules at all, it answers 403 AccessForbidden. Preflights are
not signed: the signature, if any, is ignored (a browser never signs them).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

from .errors import OssError
from .exchange import Request, Response
from .ops_bucket_config import BucketConfigs
from .ops_common import Resource

PREFLIGHT_OPERATIONS = frozenset(("OptionObject",))  # answered without checking a signature

NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evaluation of "
               "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
               "are not whitelisted by the resource's CORS spec.")


@dataclass(frozen=True)
class CorsRule:
    """One stored ``CORSRule``."""

    origins: Tuple[str, ...]
    methods: Tuple[str, ...]
    headers: Tuple[str, ...]
    expose: Tuple[str, ...]
    max_age: Optional[str]


def parse_rules(document: bytes) -> Tuple[List[CorsRule], bool]:
    """The rules of a stored ``CORSConfiguration`` in order, and its ``ResponseVary``."""
    root = ET.fromstring(document)
    rules = []
    for rule in root.iterfind("CORSRule"):
        def texts(tag: str) -> Tuple[str, ...]:
            return tuple((el.text or "").strip() for el in rule.iterfind(tag) if (el.text or "").strip())

        age = (rule.findtext("MaxAgeSeconds") or "").strip() or None
        rules.append(CorsRule(texts("AllowedOrigin"), texts("AllowedMethod"), texts("AllowedHeader"),
                              texts("ExposeHeader"), age))
    vary = (root.findtext("ResponseVary") or "").strip().lower() == "true"
    return rules, vary


@lru_cache(maxsize=256)
def _pattern(wildcard: str, fold: bool) -> "re.Pattern[str]":
    body = ".*".join(re.escape(part) for part in wildcard.split("*"))
    return re.compile(f"^{body}$", (re.IGNORECASE if fold else 0) | re.DOTALL)


def wildcard_match(pattern: str, value: str, fold: bool = False) -> bool:
    """``pattern`` with ``*`` standing for any run of characters matches all of ``value``."""
    return bool(_pattern(pattern, fold).match(value))


def requested_headers(value: Optional[str]) -> List[str]:
    """The header names of ``Access-Control-Request-Headers`` (comma-separated)."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def matching_rule(rules: Sequence[CorsRule], origin: str, method: str, headers: Sequence[str]) -> Optional[CorsRule]:
    """The first rule allowing this origin, method and every requested header, or None."""
    for rule in rules:
        if not any(wildcard_match(allowed, origin) for allowed in rule.origins):
            continue
        if method not in rule.methods:
            continue
        if all(any(wildcard_match(allowed, name, fold=True) for allowed in rule.headers) for name in headers):
            return rule
    return None


def preflight_headers(rule: CorsRule, origin: str, headers_value: Optional[str], vary: bool) -> List[Tuple[str, str]]:
    """The ``Access-Control-*`` headers answering a preflight that ``rule`` allows."""
    out = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Methods", ", ".join(rule.methods))]
    names = requested_headers(headers_value)
    if names:
        out.append(("Access-Control-Allow-Headers", ", ".join(names)))
    if rule.expose:
        out.append(("Access-Control-Expose-Headers", ", ".join(rule.expose)))
    if rule.max_age is not None:
        out.append(("Access-Control-Max-Age", rule.max_age))
    if vary:
        out.append(("Vary", "Origin"))
    return out


class CorsPreflightOps(Resource):
    """OptionObject: ``OPTIONS /bucket/key`` (or ``/bucket/``)."""

    OPERATIONS = {"OptionObject": "option_object"}

    def option_object(self, request: Request) -> Response:
        self.store.require_bucket(request.bucket)
        origin = request.header("Origin")
        method = request.header("Access-Control-Request-Method")
        if not origin or not method:
            raise OssError("AccessForbidden", "CORSResponse: a preflight needs the Origin and "
                           "Access-Control-Request-Method headers.", status=403)
        document = BucketConfigs(self).get(request.bucket, "cors")
        if document is None:
            raise OssError("AccessForbidden", NOT_ENABLED, status=403)
        rules, vary = parse_rules(document)
        headers_value = request.header("Access-Control-Request-Headers")
        rule = matching_rule(rules, origin, method, requested_headers(headers_value))
        if rule is None:
            raise OssError("AccessForbidden", NOT_ALLOWED, status=403)
        return Response(200, preflight_headers(rule, origin, headers_value, vary))
