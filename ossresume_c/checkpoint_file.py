"""The checkpoint on disk: where it lives, the lock that keeps a second process
out, atomic writes (temp file, fsync, rename) and write coalescing.

The codec itself (the C SDK's XML) is in C, behind ``checkpoint_codec``.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import sys
import time
from typing import Callable, Optional, Tuple

from . import checkpoint_codec as codec
from .params import ResumableCltParams

log = logging.getLogger("ossresume_c")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_UPLOAD_ID = re.compile(rb"<UploadId>([0-9A-Za-z]{16,64})</UploadId>")
_SEPARATORS = (os.sep, os.altsep) if os.altsep else (os.sep,)


def checkpoint_location(clt: ResumableCltParams, filepath: str, bucket: str, key: str,
                        suffix: str) -> Optional[str]:
    """The one checkpoint-path rule, used by every front end: where this transfer's
    checkpoint lives, or None when ``clt.enable_checkpoint`` is off.

    ``checkpoint_path`` None (or empty) means ``{filepath}{suffix}``, next to the
    local file.  A path ending in a separator, or naming an existing directory,
    is a directory: the checkpoint is a file in it named after the key plus a
    hash of bucket, key and the absolute file path, so that transfers sharing
    the directory never share a checkpoint.  Any other path is the checkpoint
    file itself.  Missing directories are created (mode 0700) only when the
    transfer locks its checkpoint (:func:`prepare_parent`).
    """
    if not clt.enable_checkpoint:
        return None
    path = clt.checkpoint_path
    if not path:
        return filepath + suffix
    if path.endswith(_SEPARATORS) or os.path.isdir(path):
        ident = "\n".join((bucket, key, os.path.abspath(filepath))).encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(ident).hexdigest()[:16]
        base = _SAFE_NAME.sub("_", key.rsplit("/", 1)[-1])[:80] or "object"
        return os.path.join(path, f"{base}.{digest}{suffix}")
    return path


def as_directory(path: str) -> str:
    """``path`` spelt as a directory for :func:`checkpoint_location` (a trailing separator)."""
    return path if path.endswith(_SEPARATORS) else path + os.sep


def prepare_parent(path: str) -> Optional[str]:
    """Create the checkpoint's directory if missing (mode 0700); the reason when impossible."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, mode=0o700, exist_ok=True)
    except OSError as exc:
        return f"cannot create checkpoint directory {parent!r}: {exc.strerror or exc}"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"checkpoint directory {parent!r} is not writable"
    if os.path.isdir(path):
        return f"checkpoint path {path!r} is a directory"
    return None


class CheckpointLocked(Exception):
    pass


class CheckpointFile:
    """One checkpoint path: lock, load, save, delete."""

    def __init__(self, path: str, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.lock_path = path + ".lock"
        self.interval = interval
        self.clock = clock
        self._lock_fd: Optional[int] = None
        self._last_write = float("-inf")
        self._bytes_since_write = 0
        self._last_size = 0
        self.writes = 0
        self.bytes_written = 0
        self.salvaged_upload_id = ""   # from a checkpoint rejected as invalid, for clean-up

    # -- locking --------------------------------------------------------------
    def lock(self) -> None:
        """Take the advisory lock or raise CheckpointLocked at once."""
        for _ in range(10):
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                _try_lock(fd)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise CheckpointLocked(
                        f"checkpoint {self.path!r} is in use by another upload or download") from None
                raise
            # The holder before us may have unlinked the lock file after we opened it.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
            except FileNotFoundError:
                same = False
            if same:
                self._lock_fd = fd
                return
            os.close(fd)
        raise CheckpointLocked(f"could not lock {self.lock_path!r}")

    def unlock(self, remove: bool = False) -> None:
        if self._lock_fd is None:
            return
        if remove:
            try:
                os.unlink(self.lock_path)
            except OSError:
                pass
        os.close(self._lock_fd)  # closing releases the lock
        self._lock_fd = None

    # -- reading --------------------------------------------------------------
    def load(self) -> Tuple[Optional[codec.Checkpoint], str]:
        """``(checkpoint, "")``, or ``(None, reason)``; reason "" when there is no file."""
        try:
            with open(self.path, "rb") as fh:
                data = fh.read(64 * 1024 * 1024)
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, f"unreadable checkpoint: {exc.strerror or exc}"
        return self.decode(data)

    # -- the format (the C SDK's XML; subclasses speak other SDKs' formats) ----
    def decode(self, data: bytes) -> Tuple[Optional[codec.Checkpoint], str]:
        """``load`` without the reading; sets ``salvaged_upload_id`` when invalid."""
        try:
            return codec.load(data), ""
        except codec.CheckpointInvalid as exc:
            match = _UPLOAD_ID.search(data)
            self.salvaged_upload_id = match.group(1).decode("ascii") if match else ""
            return None, f"invalid checkpoint: {exc.reason}"

    def encode(self, cp: codec.Checkpoint) -> bytes:
        return codec.dump(cp, fill_md5=True)

    def download_temp_path(self, filepath: str, meta: object) -> str:
        """Where a download collects its bytes; ``meta`` is the object's HEAD."""
        return filepath + ".tmp"

    # -- writing --------------------------------------------------------------
    def save(self, cp: codec.Checkpoint) -> None:
        """Write atomically: temp file in the same directory, fsync, rename."""
        data = self.encode(cp)
        directory = os.path.dirname(os.path.abspath(self.path))
        tmp = os.path.join(directory, f".{os.path.basename(self.path)}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quiet(tmp)
            raise
        os.close(fd)
        try:
            os.replace(tmp, self.path)
        except BaseException:
            _unlink_quiet(tmp)
            raise
        _fsync_dir(directory)
        self.writes += 1
        self.bytes_written += len(data)
        self._last_size = len(data)
        self._last_write = self.clock()
        self._bytes_since_write = 0

    def note_progress(self, nbytes: int) -> None:
        self._bytes_since_write += nbytes

    def due(self) -> bool:
        """Coalescing rule: at most one write per interval, and only once the data
        sent since the last write is at least 200x the checkpoint's size, which
        keeps checkpoint bytes under 0.5% of the bytes uploaded.  Resuming never
        depends on this write: the server's ListParts is reconciled anyway."""
        if self._bytes_since_write <= 0:
            return False
        if self.clock() - self._last_write < self.interval:
            return False
        return self._bytes_since_write >= 200 * self._last_size

    def delete(self) -> None:
        _unlink_quiet(self.path)


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: str) -> None:
    if sys.platform == "win32":
        return
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows wheels only
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
