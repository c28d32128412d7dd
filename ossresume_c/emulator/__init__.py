"""A local Alibaba Cloud OSS emulator: a real HTTP server on loopback.

It speaks the OSS REST subset that resumable transfers use (multipart upload,
ranged GET, V1/V4 signatures, ``x-oss-hash-crc64ecma``...) faithfully enough for
the official SDKs, stores data on disk under a root directory, and injects
faults on demand. Start it from the command line::

    python -m ossresume_c.emulator --root DIR --port 9000 --bucket test

or from Python (a child process, stopped when the block ends)::

    from ossresume_c.emulator import start_emulator

    with start_emulator(buckets=["test"]) as emu:
        emu.endpoint, emu.access_key_id, emu.access_key_secret, emu.region
        emu.add_fault(op="UploadPart", action="status", status=503, nth=2)

``--benchmark-mode`` skips MD5: ETags are then 32 hex digits made of the CRC-64
and the size (multipart ETags keep the ``"HEX-N"`` form). Requests that carry
Content-MD5 are still checked against a real MD5.

``--discard`` (``start_emulator(discard=True)``) checksums bodies and drops them:
objects keep size, CRC-64, ETag and Last-Modified (in memory), so HEAD, listings,
ListParts and Complete answer; a GET of such an object is InvalidObjectState.
"""
from __future__ import annotations

from .config import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_REGION,
    EmulatorConfig,
)
from .process import EmulatorError, EmulatorHandle, start_emulator

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_REGION",
    "EmulatorConfig",
    "EmulatorError",
    "EmulatorHandle",
    "start_emulator",
]
