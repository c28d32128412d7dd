"""Cut the tree engine's stream of small-file work into batches, one executor task each
(pure: no I/O, no clock).

On an executor (``executor=``, SCALE §3) one task per 4 KiB file makes the per-task
costs (a Dask scheduler's millisecond or more, a process pool's pickling and one
worker busy per file) the limit, so tasks carry batches:

* :class:`BatchFormer` — fills a batch as the walk streams, up to ``files`` files and
  ``bytes`` bytes (a file bigger than ``bytes`` goes alone), and hands it over the
  moment it is full; the caller takes the partial rest with :meth:`BatchFormer.flush`.
* :func:`idle_workers` and :func:`split_evenly` — a partial batch goes at once while
  some worker would otherwise sit idle, shared among the idle ones, so the first files
  of a run, a slow walk's files and the walk's last files do not wait.
* :func:`batch_slots` — how many batches may be out at once: one running and one
  queued per worker, which bounds the coordinator's memory by what is in flight.
* :func:`still_fresh` — whether a worker may start a file on presigned URLs that
  expire at a given time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, List, Optional, TypeVar

MAX_FILES = 256             # files per task (benchmarks/RESULTS.md, Dask section)
MAX_BYTES = 64 << 20        # bytes per task: what one lost task costs again, at most
QUEUED_PER_WORKER = 1       # batches waiting at each worker while it runs one

T = TypeVar("T")


@dataclass(frozen=True)
class BatchLimits:
    files: int = MAX_FILES
    bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        if self.files < 1 or self.bytes < 1:
            raise ValueError(f"batch limits must be positive, got {self.files} files, "
                             f"{self.bytes} bytes")


LIMITS = BatchLimits()      # what the tree engine uses (benchmarks/bench_dask.py tries others)


class BatchFormer(Generic[T]):
    """The batch being filled.  :meth:`add` returns the batches it completed, in order
    (none, one, or two when a file too big to share a batch arrives)."""

    def __init__(self, limits: BatchLimits = LIMITS) -> None:
        self.limits = limits
        self.items: List[T] = []
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: T, size: int) -> List[List[T]]:
        ready: List[List[T]] = []
        if self.items and self.bytes + size > self.limits.bytes:
            ready.append(self._take())
        self.items.append(item)
        self.bytes += max(0, size)
        if len(self.items) >= self.limits.files or self.bytes >= self.limits.bytes:
            ready.append(self._take())
        return ready

    def flush(self) -> Optional[List[T]]:
        """The partial batch, or None when there is none."""
        return self._take() if self.items else None

    def _take(self) -> List[T]:
        batch, self.items, self.bytes = self.items, [], 0
        return batch


def idle_workers(outstanding: int, workers: int) -> int:
    """Workers with nothing to run while ``outstanding`` batches are out: as many
    pieces as the partial batch goes in now (none: it keeps filling)."""
    return max(0, max(1, workers) - outstanding)


def split_evenly(items: List[T], pieces: int) -> List[List[T]]:
    """``items`` in order, cut into ``pieces`` (at most one per item) whose sizes differ
    by one at most."""
    count = min(max(1, pieces), len(items))
    if count == 0:
        return []
    size, extra = divmod(len(items), count)
    out, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def batch_slots(workers: int) -> int:
    """Batches out at once: each worker runs one and has ``QUEUED_PER_WORKER`` queued,
    so it never waits for the coordinator between two batches."""
    return max(1, workers) * (1 + QUEUED_PER_WORKER)


def still_fresh(expires_at: float, now: float, margin: float) -> bool:
    """A file may be started on URLs expiring at ``expires_at`` when more than
    ``margin`` seconds are left (enough for its HEAD and PUT, retries included)."""
    return now < expires_at - margin

