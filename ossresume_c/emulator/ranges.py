"""OSS Range semantics (not S3's): a pure function from header and size to a decision.

Default (OSS compatibility behaviour): a valid range gives 206; an end past the
object, a start past the end, an over-long suffix, a malformed header or an empty
object give 200 with the whole object; with several ranges the first counts.
With ``x-oss-range-behavior: standard``: the end is clamped (206), an over-long
suffix covers the whole object (206), and a start at or past the end is 416.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class RangeDecision:
    status: int  # 200, 206 or 416
    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length - 1


def decide(header: Optional[str], size: int, standard: bool = False) -> RangeDecision:
    whole = RangeDecision(200, 0, size)
    if not header:
        return whole
    unit, sep, specs = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return whole
    match = _SPEC.match(specs.split(",", 1)[0])
    if match is None:
        return whole
    first, last = match.group(1), match.group(2)
    unsatisfiable = RangeDecision(416, 0, 0) if standard else whole
    if first == "" and last == "":
        return whole
    if first == "":  # suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            return unsatisfiable
        if count > size:
            return RangeDecision(206, 0, size) if standard else whole
        return RangeDecision(206, size - count, count)
    start = int(first)
    if last != "" and int(last) < start:
        return whole  # syntactically invalid: ignored by both behaviours
    if start >= size:
        return unsatisfiable
    if last == "":
        return RangeDecision(206, start, size - start)
    end = int(last)
    if end >= size:
        return RangeDecision(206, start, size - start) if standard else whole
    return RangeDecision(206, start, end - start + 1)
