"""Part layout: how a file or object is cut into parts (pure functions)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MAX_PARTS = 10000
DEFAULT_PART_SIZE = 8 * MiB
MIN_UPLOAD_PART_SIZE = 100 * KiB     # OSS rejects smaller non-last parts at Complete
MAX_PART_SIZE = 5 * GiB


@dataclass(frozen=True)
class Part:
    index: int      # 0-based; PartNumber is index + 1
    offset: int
    size: int

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def last_byte(self) -> int:
        return self.offset + self.size - 1


@dataclass(frozen=True)
class PartPlan:
    total_size: int
    part_size: int
    parts: tuple

    @property
    def count(self) -> int:
        return len(self.parts)


def check_part_size(part_size: int) -> None:
    """The argument rule of ``create_resumable_clt_params``: 0 (automatic) or 1..5 GiB."""
    if isinstance(part_size, bool) or not isinstance(part_size, int):
        raise TypeError(f"part_size must be an int, not {type(part_size).__name__}")
    if part_size < 0 or part_size > MAX_PART_SIZE:
        raise ValueError(f"part_size must be 0 (automatic) or 1..{MAX_PART_SIZE} bytes, got {part_size}")


def effective_part_size(total_size: int, part_size: int) -> int:
    """``part_size`` 0 means 8 MiB; any size giving more than 10000 parts grows to
    the smallest size giving at most 10000."""
    if total_size < 0:
        raise ValueError("total_size must be >= 0")
    ps = part_size if part_size > 0 else DEFAULT_PART_SIZE
    if total_size > ps * MAX_PARTS:
        ps = -(-total_size // MAX_PARTS)
    return ps


def plan_parts(total_size: int, part_size: int) -> PartPlan:
    """Parts covering ``[0, total_size)``; an empty file has no parts."""
    ps = effective_part_size(total_size, part_size)
    parts = tuple(Part(i, off, min(ps, total_size - off))
                  for i, off in enumerate(range(0, total_size, ps)))
    return PartPlan(total_size, ps, parts)


def plan_from_sizes(total_size: int, part_size: int, sizes: List[int]) -> PartPlan:
    """A plan as recorded in a checkpoint (its layout wins over the caller's part size)."""
    parts = tuple(Part(i, i * part_size, s) for i, s in enumerate(sizes))
    return PartPlan(total_size, part_size, parts)


def upload_part_size_error(plan: PartPlan) -> str:
    """Why OSS would refuse this multipart layout, or "" when it is fine."""
    if plan.count > 1 and plan.part_size < MIN_UPLOAD_PART_SIZE:
        return (f"part size {plan.part_size} is below OSS's minimum of {MIN_UPLOAD_PART_SIZE} bytes "
                f"for a {plan.count}-part upload")
    if plan.part_size > MAX_PART_SIZE:
        return f"part size {plan.part_size} exceeds OSS's maximum of {MAX_PART_SIZE} bytes"
    return ""
