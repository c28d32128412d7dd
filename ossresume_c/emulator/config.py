"""Emulator settings, shared by the CLI, the server and ``start_emulator``."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

DEFAULT_ACCESS_KEY_ID = "ossresume-emulator-ak"
DEFAULT_ACCESS_KEY_SECRET = "ossresume-emulator-secret"
DEFAULT_REGION = "cn-hangzhou"
ENV_ACCESS_KEY_ID = "OSSRESUME_EMULATOR_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "OSSRESUME_EMULATOR_ACCESS_KEY_SECRET"

MAX_OBJECT_SIZE = 5 * 1024**3  # PutObject and UploadPart limit
MIN_PART_SIZE = 102400  # every part but the last, checked at Complete


def default_access_key_id() -> str:
    return os.environ.get(ENV_ACCESS_KEY_ID) or DEFAULT_ACCESS_KEY_ID


def default_access_key_secret() -> str:
    return os.environ.get(ENV_ACCESS_KEY_SECRET) or DEFAULT_ACCESS_KEY_SECRET


@dataclass
class EmulatorConfig:
    root: str
    host: str = "127.0.0.1"
    port: int = 0
    access_key_id: str = field(default_factory=default_access_key_id)
    access_key_secret: str = field(default_factory=default_access_key_secret)
    anonymous: bool = False
    buckets: Tuple[str, ...] = ()
    benchmark_mode: bool = False
    request_log: Optional[str] = None
    faults: List[Dict[str, Any]] = field(default_factory=list)
    region: str = DEFAULT_REGION
    strict_region: bool = True  # refuse V4 signatures scoped to another region (as OSS)
    max_skew: float = 900.0
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    virtual_host_suffixes: Tuple[str, ...] = ()
    max_object_size: int = MAX_OBJECT_SIZE
    direct_io: bool = False  # write large bodies with O_DIRECT where possible (see ingest.py)
    discard: bool = False  # checksum bodies and drop them: objects keep size, CRC-64, ETag, Last-Modified
    block_public_access: bool = False  # new buckets start with Block Public Access on (OSS since 2025-10)

    def __repr__(self) -> str:  # the secret stays out of logs
        return (
            f"EmulatorConfig(root={self.root!r}, host={self.host!r}, port={self.port}, "
            f"access_key_id={self.access_key_id!r}, anonymous={self.anonymous}, "
            f"benchmark_mode={self.benchmark_mode}, discard={self.discard}, tls={bool(self.tls_cert)})"
        )
