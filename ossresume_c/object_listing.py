"""Listing a bucket under a prefix, page by page (ListObjectsV2 with an optional
``/`` delimiter): what ``ossresume ls`` and ``ossresume rm -r`` read."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple
from urllib.parse import unquote

from . import status as st
from .ops import _check, _send_xml, _t
from .transport import Transport


@dataclass
class Entry:
    """An object, or with ``is_prefix`` a common prefix ("directory")."""

    key: str
    size: int = 0
    etag: str = ""
    last_modified: str = ""
    storage_class: str = ""
    is_prefix: bool = False


def _object(node: ET.Element) -> Entry:
    return Entry(unquote(_t(node, "Key")), int(_t(node, "Size", "0")), _t(node, "ETag").strip('"'),
                 _t(node, "LastModified"), _t(node, "StorageClass"))


def list_page(t: Transport, bucket: str, prefix: str, delimiter: str = "", token: str = "",
              max_keys: int = 1000) -> Tuple[st.Status, List[Entry], str]:
    """One page; the third result is the next continuation token, ``""`` at the end."""
    err = _check(bucket)
    if err:
        return err, [], ""
    query = [("list-type", "2"), ("max-keys", str(max_keys)), ("encoding-type", "url"),
             ("prefix", prefix)]
    if delimiter:
        query.append(("delimiter", delimiter))
    if token:
        query.append(("continuation-token", token))
    def parse(root: ET.Element) -> Tuple[List[Entry], str]:
        found = [_object(node) for node in root.findall("Contents")]
        found += [Entry(unquote(_t(node, "Prefix")), is_prefix=True)
                  for node in root.findall("CommonPrefixes")]
        found.sort(key=lambda e: e.key)
        truncated = _t(root, "IsTruncated").lower() == "true"
        return found, (_t(root, "NextContinuationToken") if truncated else "")

    reply = _send_xml(t, "ListObjectsV2", "ListBucketResult", parse, "GET", bucket, None, query)
    if not reply.status.is_ok():
        return reply.status, [], ""
    entries, following = reply.result
    if following and following == token:
        return st.Status(st.XML_PARSE_ERROR, "XmlParseError",
                         "ListObjectsV2: truncated without a new token"), entries, ""
    return reply.status, entries, following


def list_all(t: Transport, bucket: str, prefix: str, recursive: bool
             ) -> Iterator[Tuple[Optional[st.Status], Optional[Entry]]]:
    """Every entry in key order, then ``(None, None)``; a failed page yields
    ``(status, None)`` and ends the listing."""
    token = ""
    while True:
        status, entries, token = list_page(t, bucket, prefix, "" if recursive else "/", token)
        if not status.is_ok():
            yield status, None
            return
        for entry in entries:
            yield None, entry
        if not token:
            yield None, None
            return
