"""An iterator read ahead by a thread into a bounded queue, so that its consumer can
wait for the next item with a timeout and act while the source pauses.

The tree engine reads its walk-and-listing merge this way on an executor: when the
walk stalls (a slow directory, a listing page on its way) the coordinator sends the
partial batch it holds instead of letting workers idle.  The source's exception is
raised in the consumer; :meth:`ReadAhead.stop` ends the thread at its next item.
"""
from __future__ import annotations

import queue
import threading
from typing import Generic, Iterable, Iterator, Optional, TypeVar, Union

T = TypeVar("T")


class Paused:
    """What :meth:`ReadAhead.next` returns when no item came within the timeout."""


PAUSED = Paused()


class _End:
    def __init__(self, error: Optional[BaseException]) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    def __init__(self, source: Iterable[T], depth: int = 1024, name: str = "ossresume-ahead") -> None:
        self.q: "queue.Queue[Union[T, _End]]" = queue.Queue(maxsize=max(1, depth))
        self.closed = threading.Event()
        self.ended = False
        self.thread = threading.Thread(target=self._read, args=(iter(source),), name=name,
                                       daemon=True)
        self.thread.start()

    def _read(self, it: Iterator[T]) -> None:
        error: Optional[BaseException] = None
        try:
            for item in it:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            error = exc
        self._put(_End(error))

    def _put(self, item: Union[T, _End]) -> bool:
        while not self.closed.is_set():
            try:
                self.q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next(self, timeout: float) -> Union[T, Paused, None]:
        """The next item; :data:`PAUSED` when none came within ``timeout`` seconds;
        None at the end (the source's exception is raised here)."""
        if self.ended:
            return None
        try:
            item = self.q.get(timeout=timeout)
        except queue.Empty:
            return PAUSED
        if isinstance(item, _End):
            self.ended = True
            if item.error is not None:
                raise item.error
            return None
        return item

    def stop(self) -> None:
        """Stop reading: the thread ends at its next item."""
        self.closed.set()

    def close(self) -> None:
        """Stop reading and wait for the thread (whose source must end or yield)."""
        self.closed.set()
        while self.thread.is_alive():
            try:
                self.q.get(timeout=0.2)      # make room: a blocked put sees ``closed``
            except queue.Empty:
                pass
            self.thread.join(0.2)
