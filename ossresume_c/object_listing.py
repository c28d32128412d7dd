"""Listing a bucket under a prefix, page by page (ListObjectsV2 with an optional
``/`` delimiter): what ``ossresume ls`` and ``ossresume rm -r`` read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from . import status as st
from .ops import list_objects_v2
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


def list_page(t: Transport, bucket: str, prefix: str, delimiter: str = "", token: str = "",
              max_keys: int = 1000) -> Tuple[st.Status, List[Entry], str]:
    """One page (``ops.list_objects_v2``); the third result is the next continuation
    token, ``""`` at the end."""
    status, found, following = list_objects_v2(t, bucket, prefix, token, max_keys, delimiter)
    entries = [Entry(o.key, o.size, o.etag.strip('"'), o.last_modified, o.storage_class, o.is_prefix)
               for o in found]
    return status, entries, following


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
