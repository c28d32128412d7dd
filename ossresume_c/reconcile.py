"""Resume decisions (pure): is a checkpoint usable, and which parts the server
already holds correctly."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from .layout import PartPlan


@dataclass(frozen=True)
class LocalFile:
    size: int
    mtime_us: int     # st_mtime_ns // 1000, as the C SDK records it


def upload_checkpoint_problem(cp_type: int, cp_file_size: int, cp_mtime_us: int, cp_upload_id: str,
                              cp_key: str, key: str, local: LocalFile) -> str:
    """Why an upload checkpoint cannot be resumed for this file and key ("" if it can)."""
    if cp_type != 1:
        return f"checkpoint type {cp_type} is not an upload checkpoint"
    if cp_file_size != local.size:
        return f"file size changed ({cp_file_size} -> {local.size})"
    if cp_mtime_us != local.mtime_us:
        return "file modification time changed"
    if not cp_upload_id:
        return "checkpoint has no upload id"
    if cp_key and cp_key != key:
        return f"checkpoint is for another object key ({cp_key!r})"
    return ""


@dataclass(frozen=True)
class ServerPart:
    number: int
    etag: str
    size: int
    crc64: Optional[int]


@dataclass
class Reconciliation:
    done: Dict[int, Tuple[str, int]] = field(default_factory=dict)   # index -> (etag, crc64)
    todo: List[int] = field(default_factory=list)                     # indexes to (re)send
    mismatched: List[int] = field(default_factory=list)               # server held other bytes
    recovered: List[int] = field(default_factory=list)                # server had, checkpoint not


def reconcile_with_server(plan: PartPlan, recorded_done: Iterable[int],
                          server: Mapping[int, ServerPart],
                          local_crcs: Mapping[int, int]) -> Reconciliation:
    """Decide, part by part, what the server already holds correctly.

    A part counts as done only when the server lists it with the right size and
    a CRC-64 equal to the CRC-64 of the local range.  The checkpoint's
    "completed" flags are hints: a recorded part that the server lacks or holds
    with other bytes is sent again, and a part the server has that the
    checkpoint missed (a crash between the response and the checkpoint write)
    is accepted when it verifies.
    """
    recorded = set(recorded_done)
    rec = Reconciliation()
    for part in plan.parts:
        sp = server.get(part.number)
        local = local_crcs.get(part.index)
        if sp is not None and sp.size == part.size and sp.crc64 is not None and local == sp.crc64:
            rec.done[part.index] = (sp.etag, sp.crc64)
            if part.index not in recorded:
                rec.recovered.append(part.index)
        else:
            if sp is not None:
                rec.mismatched.append(part.index)
            rec.todo.append(part.index)
    return rec


VERIFY_MODES = ("sample", "all", "none")
SAMPLE_PARTS = 3                  # at least this many trusted parts are read back ("sample")...
SAMPLE_FRACTION = 0.01            # ...or ~1% of them...
SAMPLE_BYTES = 64 * 1024 * 1024   # ...within this many bytes (one part at least)


@dataclass(frozen=True)
class Verification:
    """What to read before resuming: ``read`` (indexes whose local range gets a
    CRC-64 now, the ``sample`` among them) and ``trusted`` (accepted on their
    recorded CRC-64 without reading, unless the sample fails)."""

    read: List[int]
    trusted: List[int]
    sample: List[int]


def plan_verification(plan: PartPlan, completed: Iterable[int], recorded: Mapping[int, int],
                      server: Mapping[int, ServerPart], same_file: bool, mode: str,
                      rng: random.Random) -> Verification:
    """The trust rule.  A part is trusted (done without reading it) when the
    server lists it with the right size and a CRC-64 equal to the CRC-64 the
    checkpoint or journal recorded for it (``recorded``; a C SDK checkpoint
    records 0, i.e. nothing) and the file is the same one (``same_file``: size,
    mtime, device and inode).  Every other part the server holds with the right
    size is read, as is a random sample of the trusted parts.

    ``mode``: "sample" as above; "all" reads every part the server holds (trusts
    nothing); "none" reads nothing: parts the checkpoint marks ``completed`` (or
    records) are trusted on the server's size and CRC-64 alone, the rest are
    sent again.
    """
    if mode not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, not {mode!r}")
    done = set(completed)
    read: List[int] = []
    trusted: List[int] = []
    for part in plan.parts:
        sp = server.get(part.number)
        if sp is None or sp.size != part.size or sp.crc64 is None:
            continue
        rec = recorded.get(part.index, 0)
        if mode == "none":
            if (part.index in done or rec) and (not rec or rec == sp.crc64):
                trusted.append(part.index)
        elif mode == "sample" and same_file and rec and rec == sp.crc64:
            trusted.append(part.index)
        else:
            read.append(part.index)
    sample = draw_sample(plan, trusted, rng) if mode == "sample" else []
    return Verification(sorted(read + sample), trusted, sample)


def draw_sample(plan: PartPlan, trusted: List[int], rng: random.Random) -> List[int]:
    """A random sample of ``trusted``: ``max(SAMPLE_PARTS, 1%)`` parts, stopping
    before SAMPLE_BYTES (but at least one part when there is any)."""
    if not trusted:
        return []
    want = max(SAMPLE_PARTS, math.ceil(len(trusted) * SAMPLE_FRACTION))
    picked: List[int] = []
    budget = SAMPLE_BYTES
    for index in rng.sample(trusted, min(want, len(trusted))):
        size = plan.parts[index].size
        if picked and size > budget:
            break
        picked.append(index)
        budget -= size
    return sorted(picked)


def sample_failed(v: Verification, server: Mapping[int, ServerPart], plan: PartPlan,
                  local_crcs: Mapping[int, Optional[int]]) -> bool:
    """Did a sampled part's local bytes differ from the server's (and the
    record's)?  Then the record cannot be trusted: read every part."""
    for index in v.sample:
        sp = server[plan.parts[index].number]
        if local_crcs.get(index) != sp.crc64:
            return True
    return False


def settled_crcs(v: Verification, server: Mapping[int, ServerPart], plan: PartPlan,
                 local_crcs: Mapping[int, Optional[int]]) -> Dict[int, int]:
    """The local CRC-64s to reconcile with: what was read, and for the trusted
    parts not read, the CRC-64 they were trusted on."""
    out = {i: c for i, c in local_crcs.items() if c is not None}
    for index in v.trusted:
        if index not in out:
            crc = server[plan.parts[index].number].crc64
            if crc is not None:
                out[index] = crc
    return out


def download_checkpoint_problem(cp_type: int, cp_object_size: int, cp_last_modified: str,
                                cp_etag: str, cp_key: str, key: str, object_size: int,
                                last_modified: str, etag: str, tmp_size: Optional[int]) -> str:
    """Why a download checkpoint cannot be resumed ("" if it can): the object
    must be the same (size, Last-Modified exactly, ETag case-insensitively) and
    the temp file must exist with the object's size."""
    if cp_type != 2:
        return f"checkpoint type {cp_type} is not a download checkpoint"
    if cp_key and cp_key != key:
        return f"checkpoint is for another object ({cp_key!r})"
    if cp_object_size != object_size:
        return f"object size changed ({cp_object_size} -> {object_size})"
    if cp_last_modified != last_modified:
        return "object Last-Modified changed"
    if cp_etag.strip('"').lower() != etag.strip('"').lower():
        return "object ETag changed"
    if tmp_size is None:
        return "temporary file is missing"
    if tmp_size != object_size:
        return f"temporary file has {tmp_size} bytes, not {object_size}"
    return ""
