"""Hypothesis strategies for property-based tests of checkpoint handling.

* ``checkpoints()`` — valid upload or download checkpoints (the C SDK's format),
  with awkward strings (``& < > " '``, UTF-8) and 0..10000 parts;
* ``corrupt(document)`` — one to three mutations of a checkpoint document: bit
  flips, truncation, insertion of bytes or of XML debris, deletion, removal,
  duplication or swapping of elements, and numbers pushed out of range or made
  inconsistent;
* ``part_layouts()`` — ``(total_size, part_size)`` pairs around the edges of the
  layout rules (empty files, one byte, exact multiples, the 10000-part cap).

Our own suite uses exactly these; they need ``hypothesis`` (a test dependency).
"""
from __future__ import annotations

import random
import re
from typing import Optional, Tuple

from hypothesis import strategies as st

from .. import checkpoint_codec as codec
from ..checkpoint_codec import Checkpoint, CheckpointPart
from ..layout import MAX_PART_SIZE, MAX_PARTS

INT64_MAX = 2**63 - 1

# Text the format can hold: no control characters, surrogates, U+FFFE or U+FFFF.
_CHARS = st.characters(blacklist_categories=["Cs"], min_codepoint=0x20,
                       blacklist_characters="\x7f\ufffe\uffff")
_SPECIAL = st.sampled_from(["&", "<", ">", '"', "'", "&amp;", "]]>", "é", "中", "😀", " ", "/"])


def checkpoint_text(max_bytes: int) -> st.SearchStrategy[str]:
    """Strings a checkpoint can store, heavy on characters that need escaping."""
    return (st.lists(st.one_of(_CHARS, _SPECIAL), max_size=24).map("".join)
            .filter(lambda s: len(s.encode("utf-8")) <= max_bytes))


@st.composite
def checkpoints(draw: st.DrawFn, kind: Optional[int] = None, max_parts: int = MAX_PARTS) -> Checkpoint:
    """Valid checkpoints; ``kind`` is ``codec.UPLOAD``, ``codec.DOWNLOAD`` or None for both."""
    kind = kind if kind is not None else draw(st.sampled_from([codec.UPLOAD, codec.DOWNLOAD]))
    n = draw(st.one_of(st.integers(0, 12), st.sampled_from([0, 1, 2, max_parts]),
                       st.integers(0, max_parts)))
    n = min(n, max_parts)
    ps = draw(st.one_of(st.sampled_from([1, 100 * 1024, 8 << 20, 5 << 30]),
                        st.integers(1, INT64_MAX // max(n, 1))))
    if n and (n - 1) * ps >= INT64_MAX:
        ps = INT64_MAX // n
    last = draw(st.integers(1, ps)) if n else 0
    total = (n - 1) * ps + last if n else 0
    etags = draw(st.lists(checkpoint_text(codec.ETAG_MAX), min_size=1, max_size=4))
    etags.append('"%s"' % draw(st.text("0123456789ABCDEF", min_size=32, max_size=32)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts = [CheckpointPart(i, i * ps, ps if i < n - 1 else last, rng.random() < 0.6,
                            rng.choice(etags), rng.getrandbits(64) if rng.random() < 0.5 else 0)
             for i in range(n)]
    other = draw(st.one_of(st.just(0), st.integers(0, INT64_MAX)))
    return Checkpoint(
        type=kind,
        file_path=draw(checkpoint_text(codec.STR_MAX)),
        file_size=total if kind == codec.UPLOAD else other,
        file_mtime=draw(st.integers(-(2**63), INT64_MAX)),
        object_key=draw(checkpoint_text(codec.STR_MAX)),
        object_size=total if kind == codec.DOWNLOAD else other,
        object_last_modified=draw(checkpoint_text(codec.STR_MAX)),
        object_etag=draw(checkpoint_text(codec.STR_MAX)),
        upload_id=draw(checkpoint_text(codec.STR_MAX)),
        part_size=ps,
        parts=parts,
        file_md5=draw(checkpoint_text(codec.MD5_MAX)),
    )


NUMBERS = [b"", b"-1", b"-0", b"+1", b" 1", b"1 ", b"0", b"1", b"2", b"3", b"9999", b"10000",
           b"10001", b"102399", b"102401", b"9223372036854775807", b"9223372036854775808",
           b"18446744073709551615", b"18446744073709551616", b"99999999999999999999999",
           b"-9223372036854775808", b"-9223372036854775809", b"0x10", b"1e3", b"\xef\xbc\x95",
           b"&#49;", b"00000000000000000000001", b"2147483647", b"2147483648"]
GARBAGE = [b"<", b">", b"&", b"&bogus;", b"&#0;", b"&#1;", b"&#x7f;", b"&#xD800;", b"&#x110000;",
           b"]]>", b"<!-- c -->", b"<![CDATA[x]]>", b"<?pi x?>", b"<!DOCTYPE x>", b"\x00", b"\x01",
           b"\t", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xef\xbf\xbe", b"\xf4\x90\x80\x80",
           b"<Part>", b"</Part>", b"<Parts/>", b"<X>1</X>", b"<Size>1</Size>", b'a="1"', b"/"]
MUTATIONS = ("flip", "truncate", "insert", "garbage", "delete", "remove", "duplicate", "number",
             "swap")
_ELEMENT = re.compile(rb"<(\w+)>(?:[^<]*|(?:<Part>.*?</Part>)*)</\1>|<Part>.*?</Part>")
_NUMBER = re.compile(rb"<(\w+)>(-?\d+)</\1>")


@st.composite
def corrupt(draw: st.DrawFn, document: bytes, max_mutations: int = 3) -> bytes:
    """One to ``max_mutations`` mutations of a checkpoint document."""
    out = bytearray(document)
    for _ in range(draw(st.integers(1, max_mutations))):
        op = draw(st.sampled_from(MUTATIONS))
        n = len(out)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del out[draw(st.integers(0, n)):]
        elif op == "insert":
            i = draw(st.integers(0, n))
            out[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "garbage":
            i = draw(st.integers(0, n))
            out[i:i] = draw(st.sampled_from(GARBAGE))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del out[i:i + draw(st.integers(1, 16))]
        elif op in ("remove", "duplicate", "swap"):
            spans = [m.span() for m in _ELEMENT.finditer(bytes(out))]
            if not spans:
                continue
            a, b = draw(st.sampled_from(spans))
            if op == "remove":
                del out[a:b]
            elif op == "duplicate":
                out[b:b] = out[a:b]
            else:
                c, d = draw(st.sampled_from(spans))
                if b <= c:
                    out[a:d] = out[c:d] + out[b:c] + out[a:b]
        elif op == "number":
            spans = [m.span(2) for m in _NUMBER.finditer(bytes(out))]
            if not spans:
                continue
            a, b = draw(st.sampled_from(spans))
            old = int(out[a:b])
            value = draw(st.one_of(st.sampled_from(NUMBERS),
                                   st.integers(-2, 2).map(lambda d: str(old + d).encode())))
            out[a:b] = value
    return bytes(out)


@st.composite
def part_layouts(draw: st.DrawFn, max_total: int = 50 * 2**40) -> Tuple[int, int]:
    """``(total_size, part_size)``; part_size 0 means automatic."""
    ps = draw(st.one_of(st.just(0), st.sampled_from([1, 100 * 1024, 8 << 20, MAX_PART_SIZE]),
                        st.integers(1, MAX_PART_SIZE)))
    base = ps or 8 << 20
    total = draw(st.one_of(
        st.sampled_from([0, 1, base - 1, base, base + 1, base * MAX_PARTS, base * MAX_PARTS + 1]),
        st.integers(0, max_total)))
    return min(total, max_total), ps
