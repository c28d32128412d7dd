"""The tree engine's local manifest: what was uploaded, in SQLite (stdlib ``sqlite3``).

One row per uploaded file: ``key, size, mtime_ns, crc64, etag, uploaded_at``.
WAL journal, one writer (the engine's recording thread), rows committed in
batches; a row is written only after its object is confirmed, so a crash at any
moment loses at most rows (the next run re-checks those files), never adds a
wrong one.  A second running sync on the same manifest is refused before any
request (an ``flock`` on ``PATH.lock``, released by the kernel when a process
dies); a corrupt file is moved aside with a warning and rebuilt from scratch.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from typing import Iterable, Optional

from .tree_plan import ManifestRow

log = logging.getLogger("ossresume_c")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    crc64 INTEGER NOT NULL,
    etag TEXT NOT NULL,
    uploaded_at REAL NOT NULL
) WITHOUT ROWID;
"""


_U64 = (1 << 64) - 1


def _signed(crc: int) -> int:
    """SQLite integers are signed 64-bit: CRC-64 values are stored two's complement."""
    return crc - (1 << 64) if crc >= 1 << 63 else crc


class ManifestInUse(Exception):
    """Another running process holds this manifest."""


def default_manifest_path(cache_dir: str, endpoint: str, bucket: str, prefix: str, root: str) -> str:
    """``CACHE/manifests/<sha256 of endpoint, bucket, prefix, local root>.sqlite``."""
    ident = "\n".join((endpoint, bucket, prefix, os.path.abspath(root)))
    name = hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(cache_dir, "manifests", name + ".sqlite")


class Manifest:
    """Rows of one tree upload.  Reads are point lookups; writes are batched."""

    def __init__(self, path: str, batch: int = 2000, seconds: float = 1.0) -> None:
        self.path = os.path.abspath(path)
        self.batch = batch
        self.seconds = seconds
        self.pending = 0
        self.last_commit = time.monotonic()
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self._lock_fd = _take_lock(self.path + ".lock")
        try:
            self.db = self._open_or_rebuild()
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _open_or_rebuild(self) -> sqlite3.Connection:
        try:
            return _open(self.path)
        except sqlite3.DatabaseError as exc:
            aside = f"{self.path}.corrupt-{int(time.time())}"
            log.warning("manifest %s is unreadable (%s); moved to %s and rebuilt: files already "
                        "uploaded are re-checked against the bucket once", self.path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.replace(self.path + suffix, aside + suffix)
            return _open(self.path)

    def get(self, key: str) -> Optional[ManifestRow]:
        row = self.db.execute("SELECT size, mtime_ns, crc64, etag FROM files WHERE key = ?",
                              (key,)).fetchone()
        return ManifestRow(key, row[0], row[1], row[2] & _U64, row[3]) if row else None

    def record(self, row: ManifestRow) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                        (row.key, row.size, row.mtime_ns, _signed(row.crc64), row.etag, time.time()))
        self._wrote()

    def forget(self, keys: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM files WHERE key = ?", ((k,) for k in keys))
        self._wrote()

    def _wrote(self) -> None:
        self.pending += 1
        if self.pending >= self.batch or time.monotonic() - self.last_commit >= self.seconds:
            self.commit()

    def commit(self) -> None:
        self.db.commit()
        self.pending = 0
        self.last_commit = time.monotonic()

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def close(self) -> None:
        try:
            self.commit()
            self.db.close()
        finally:
            os.close(self._lock_fd)

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(path: str) -> sqlite3.Connection:
    # check_same_thread off: the engine opens it in the caller's thread and its one
    # recording thread is then the only user.
    db = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")    # WAL + NORMAL: a crash loses recent commits only
        db.executescript(_SCHEMA)
        ok = db.execute("PRAGMA quick_check").fetchone()
        if not ok or ok[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {ok[0] if ok else 'no answer'}")
        db.execute("SELECT key, size, mtime_ns, crc64, etag, uploaded_at FROM files LIMIT 1").fetchall()
    except BaseException:
        db.close()
        raise
    return db


def _take_lock(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl
    except ImportError:     # pragma: no cover - Windows: no second-process guard
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ManifestInUse(f"the manifest {path[:-len('.lock')]} is in use by another running "
                            "sync or cp -r of the same tree; wait for it or pass --manifest PATH") \
            from None
    return fd
