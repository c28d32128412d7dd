"""Listing pagination shared by ListObjects and ListMultipartUploads (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, List, Optional, Sequence, Tuple, TypeVar, Union

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    entries: List[T] = field(default_factory=list)
    prefixes: List[str] = field(default_factory=list)
    truncated: bool = False
    next_key: str = ""
    next_sub: str = ""  # next upload-id marker ("" after a common prefix)


def paginate(
    items: Sequence[Tuple[str, str, T]],
    prefix: str,
    delimiter: str,
    key_marker: str,
    sub_marker: str,
    limit: int,
) -> Page[T]:
    """``items`` are ``(key, sub, value)`` sorted by ``(key, sub)`` (sub: upload id or "").

    After the markers: keys greater than ``key_marker``, and with ``sub_marker``
    also entries of that same key whose sub is greater. Keys sharing ``prefix``
    plus a run up to ``delimiter`` roll up into one common prefix, which counts
    once toward ``limit``.
    """
    page: Page[T] = Page()
    order: List[Tuple[str, Union[str, Tuple[str, str, T]]]] = []
    last_prefix: Optional[str] = None
    for item in items:
        key, sub, _ = item
        if not key.startswith(prefix):
            continue
        if key_marker or sub_marker:
            after = key > key_marker or (bool(sub_marker) and key == key_marker and sub > sub_marker)
            if not after:
                continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common == last_prefix or (key_marker and common <= key_marker):
                    continue
                if len(order) >= limit:
                    page.truncated = True
                    break
                order.append(("prefix", common))
                last_prefix = common
                continue
        if len(order) >= limit:
            page.truncated = True
            break
        order.append(("entry", item))
    for kind, value in order:
        if kind == "prefix":
            assert isinstance(value, str)
            page.prefixes.append(value)
        else:
            assert not isinstance(value, str)
            page.entries.append(value[2])
    if page.truncated and order:
        kind, value = order[-1]
        if kind == "prefix":
            assert isinstance(value, str)
            page.next_key, page.next_sub = value, ""
        else:
            assert not isinstance(value, str)
            page.next_key, page.next_sub = value[0], value[1]
    return page
