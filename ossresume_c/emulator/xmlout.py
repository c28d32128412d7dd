"""Small helpers for the XML bodies OSS returns."""
from __future__ import annotations

import time
from typing import Iterable, List, Optional, Tuple, Union
from urllib.parse import quote
from xml.sax.saxutils import escape

Element = Tuple[str, Union[str, int, bool, None, List["Element"]]]

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


def iso8601(epoch: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.000Z`` (oss2 matches ``\\.000Z$``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def url_encode(value: str) -> str:
    return quote(value, safe="")


def encode_name(value: str, encoding_type: Optional[str]) -> str:
    """A key/prefix/marker as it appears in a listing: URL-encoded when asked."""
    return url_encode(value) if encoding_type == "url" else value


def _render(elements: Iterable[Element], out: List[str]) -> None:
    for name, value in elements:
        if isinstance(value, list):
            out.append(f"<{name}>")
            _render(value, out)
            out.append(f"</{name}>")
        elif value is None:
            out.append(f"<{name}></{name}>")
        elif isinstance(value, bool):
            out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")


def document(root: str, elements: Iterable[Element]) -> bytes:
    out = [XML_HEADER, f"<{root}>"]
    _render(elements, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")
