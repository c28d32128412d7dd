"""Object tags: read them from an ``x-oss-tagging`` header or a Tagging document, checked as OSS does.

An object has at most 10 tags; a key is 1 to 128 characters, a value up to 256, both from
letters, digits, space and ``+ - = . _ : / @``. The header form is a URL query string
(``k1=v1&k2=v2``), each key and value percent-encoded.
"""
from __future__ import annotations

from typing import Dict, List, Tuple
from urllib.parse import quote, unquote

from .bucket_config import check_tag, parse_tag_set, parse_xml
from .errors import OssError

MAX_OBJECT_TAGS = 10


def _checked(pairs: List[Tuple[str, str]]) -> Dict[str, str]:
    tags: Dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise OssError("InvalidArgument", "Duplicate tag key.", ArgumentName="x-oss-tagging", ArgumentValue=key)
        check_tag(key, value)
        tags[key] = value
    if len(tags) > MAX_OBJECT_TAGS:
        raise OssError("BadRequest", "Object tags cannot be greater than 10", status=400)
    return tags


def parse_tagging_header(text: str) -> Dict[str, str]:
    """The tags of an ``x-oss-tagging`` header; InvalidArgument when malformed (``=a&b=a``)."""
    if text == "":
        return {}
    pairs: List[Tuple[str, str]] = []
    for item in text.split("&"):
        key, _, value = item.partition("=")
        key, value = unquote(key), unquote(value)
        if not key:
            raise OssError("InvalidArgument", "The tag key must not be empty.", ArgumentName="x-oss-tagging",
                           ArgumentValue=text)
        pairs.append((key, value))
    try:
        return _checked(pairs)
    except OssError as error:
        if error.code == "InvalidTag":
            raise OssError("InvalidArgument", error.message, ArgumentName="x-oss-tagging", ArgumentValue=text) from None
        raise


def parse_tagging_document(body: bytes) -> Dict[str, str]:
    """The tags of a PutObjectTagging body."""
    return _checked(parse_tag_set(parse_xml(body, "Tagging")))


def tagging_header(tags: Dict[str, str]) -> str:
    """The header form of ``tags`` (what ``parse_tagging_header`` reads back)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items())
