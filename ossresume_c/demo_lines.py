"""The demo's report lines: each one states only what the run measured.

A step that failed says so and quotes its Status; nothing is claimed as
interrupted, skipped, verified or identical unless the run observed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from . import status as st
from .status import Status

if TYPE_CHECKING:
    from .demo import DemoReport


@dataclass
class Sent:
    """The emulator's request log for one upload run (UploadPart and ListParts)."""

    parts_stored: int = 0      # UploadPart answered 200
    parts_refused: int = 0     # UploadPart answered otherwise (or the connection broke)
    bytes_stored: int = 0      # request bytes of the UploadParts answered 200
    listed: bool = False       # a ListParts answered 200: the run resumed from the checkpoint


def was_interrupted(status: Optional[Status]) -> bool:
    """The progress callback cancelled the call (-997 CallbackCancelled)."""
    return status is not None and status.code == st.ABORT_CALLBACK and status.error_code == "CallbackCancelled"


def skipped_on_resume(parts: int, resumed: Sent, status: Optional[Status]) -> int:
    """Parts the resumed run reused from the server: only a resumed run (ListParts)
    that completed can have skipped any, and then every part it did not store."""
    if status is None or not status.is_ok() or not resumed.listed:
        return 0
    return max(0, parts - resumed.parts_stored)


def first_run_outcome(status: Status, first: Sent) -> str:
    if was_interrupted(status):
        return f"interrupted by the progress callback, as Ctrl-C would, after {first.parts_stored} parts were stored"
    if status.is_ok():
        return f"finished before the progress callback could interrupt it ({first.parts_stored} parts stored)"
    return (f"FAILED, not interrupted ({first.parts_stored} parts stored, "
            f"{first.parts_refused} refused)")


def resume_outcome(parts: int, resumed: Sent, status: Status) -> str:
    if not status.is_ok():
        return (f"the resumed upload FAILED ({resumed.parts_stored} parts stored, "
                f"{resumed.parts_refused} refused)")
    if not resumed.listed:
        return f"nothing was resumed (no ListParts): all {resumed.parts_stored} parts sent again"
    return (f"{skipped_on_resume(parts, resumed, status)} of {parts} parts were already on the server, "
            f"matched the file's CRC-64 (ListParts) and were skipped; {resumed.parts_stored} sent")


def mib_s(nbytes: int, seconds: float) -> str:
    return f"{nbytes / (1 << 20) / seconds:,.1f} MiB/s" if seconds > 0 else "-"


def summary(report: "DemoReport") -> List[str]:
    """The summary block's lines (without the heading)."""
    r = report
    lines = [f"  file            {r.size:,} bytes, {r.parts} parts of {r.part_size:,}, {r.threads} threads"]
    if r.interrupted_status is not None:
        lines.append(f"  first run       {first_run_outcome(r.interrupted_status, r.first_sent)}: "
                     f"{r.interrupted_status}")
    if r.resume_status is None:
        lines.append("  upload          not run")
    elif r.resume_status.is_ok():
        lines.append(f"  upload          {mib_s(r.resume_sent.bytes_stored, r.resume_seconds)} in the resumed run "
                     f"({r.resume_sent.parts_stored} parts in {r.resume_seconds:.2f} s; the first run, "
                     f"slowed on purpose, took {r.upload_seconds:.2f} s)")
    else:
        lines.append(f"  upload          FAILED: {r.resume_status}")
    if r.resume_status is not None:
        lines.append(f"  resume          {resume_outcome(r.parts, r.resume_sent, r.resume_status)}")
    downloaded = r.download_status is not None and r.download_status.is_ok()
    lines.append(f"  download        {mib_s(r.size, r.download_seconds) if downloaded else 'FAILED'}")
    lines.append(f"  CRC-64          {'verified' if r.crc_verified else 'NOT verified'} ({r.file_crc:016x})")
    if downloaded:
        lines.append(f"  round trip      {'identical' if r.identical else 'DIFFERENT'}")
    else:
        lines.append("  round trip      not compared (no download)")
    return lines
