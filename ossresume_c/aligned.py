"""Scratch buffers that start on a page boundary, so that the kernel's copies into them run at full speed.

``pread`` copies from page-cache pages, which start on a page boundary.  When the
destination starts 1 to 31 bytes past one, every 32-byte store lands just behind
a load at the same offset within a 4 KiB page and the copy stalls on that false
dependence (4 KiB aliasing).  glibc places every block of 128 KiB or more 16
bytes into a fresh mapping, so a ``bytearray`` the size of a part buffer always
starts there.  Measured on the benchmark machine (AMD EPYC, Linux 6.18): pread +
CRC-64 of 1 GiB from the page cache in 1 MiB reads costs 0.46 s of CPU into a
buffer at page offset 1..31 and 0.13 s at offset 0 or >= 32; the HTTPS upload
drops from 1.49 to 1.17 s/GiB (benchmarks/RESULTS.md, issue 17).  An anonymous
``mmap`` always starts on a page boundary.

``OSSRESUME_PART_BUFFER`` picks the part buffers of the lean UploadPart (HTTP and
HTTPS) for A/B runs: ``page`` (default) or ``heap`` (a plain ``bytearray``, the
buffer before).
"""
from __future__ import annotations

import mmap
import os
from typing import Union

MODES = ("page", "heap")
PAGE = 4096   # what the kernel's copies care about (a larger page is a multiple of it)

Scratch = Union[mmap.mmap, bytearray]


def mode_from_env() -> str:
    value = os.environ.get("OSSRESUME_PART_BUFFER", "page").strip().lower()
    return value if value in MODES else "page"


def page_aligned(size: int) -> mmap.mmap:
    """A zero-filled, writable buffer of ``size`` bytes (at least 1) whose first
    byte is on a page boundary; freed when the last reference goes."""
    return mmap.mmap(-1, max(size, 1))


def scratch(size: int, mode: str = "") -> Scratch:
    """A part buffer of ``size`` bytes: page-aligned unless ``mode`` (default: the
    environment's) is ``heap``."""
    if (mode or mode_from_env()) == "heap":
        return bytearray(size)
    return page_aligned(size)
