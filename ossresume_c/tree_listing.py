"""The destination listing of a tree run, fetched one page ahead by a thread.

ListObjectsV2 under the prefix, 1,000 keys a page, at most two pages queued, so memory
does not grow with the bucket; keys the filter does not want are dropped here.  The
engine merges it with the walk (``tree_plan.merge``).
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator, Optional

from . import ops
from . import status as st
from .transport import Transport
from .tree_plan import KeyFilter, RemoteObject


class Listing:
    """The destination listing, fetched one page ahead by a thread; ``error`` is the
    Status of a failed page, or of an unexpected exception in the thread (the
    iteration then ends: a reader never waits for a thread that died)."""

    def __init__(self, transport: Transport, bucket: str, prefix: str, key_filter: KeyFilter,
                 stop: threading.Event) -> None:
        self.t = transport
        self.bucket = bucket
        self.prefix = prefix
        self.key_filter = key_filter
        self.stop = stop
        self.closed = threading.Event()
        self.pages = 0
        self.error: Optional[st.Status] = None
        self.q: "queue.Queue[object]" = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._fetch, name="ossresume-list", daemon=True)
        self.thread.start()

    def _fetch(self) -> None:
        token = ""
        try:
            while not self.closed.is_set():
                status, found, token = ops.list_objects_v2(self.t, self.bucket, self.prefix, token)
                self.pages += 1
                self._put(found if status.is_ok() else status)
                if not status.is_ok() or not token:
                    break
        except Exception as exc:   # noqa: BLE001 - the reader must learn of it, not wait forever
            self._put(st.Status(st.INTERNAL_ERROR, "ListingFailed",
                                f"listing {self.bucket}/{self.prefix}: {type(exc).__name__}: {exc}"))
        self._put(None)

    def _put(self, item: object) -> None:
        while not self.closed.is_set():
            try:
                self.q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[RemoteObject]:
        while True:
            try:
                item = self.q.get(timeout=0.2)
            except queue.Empty:
                if self.closed.is_set():        # closed while read from another thread
                    return
                continue
            if item is None:
                return
            if isinstance(item, st.Status):
                self.error = item
                return
            for obj in item:  # type: ignore[attr-defined]
                if self.key_filter and not self.key_filter.wants(obj.key[len(self.prefix):]):
                    continue
                yield RemoteObject(obj.key, obj.size, obj.etag)

    def close(self) -> None:
        self.closed.set()
        self.thread.join()
