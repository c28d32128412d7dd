"""Progress reporting with the C SDK's callback signature
``callback(consumed_bytes, total_bytes)``: called from the caller's thread, never
decreasing, at most about every 100 ms, and once at the end with
``consumed == total``."""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

log = logging.getLogger("ossresume_c")

ProgressCallback = Callable[[int, int], object]


class CallbackRaised(Exception):
    """Wraps an exception raised by the user's progress callback."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"progress callback raised {type(original).__name__}: {original}")
        self.original = original


class ProgressReporter:
    def __init__(self, callback: Optional[ProgressCallback], total: int,
                 min_interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.callback = callback
        self.total = total
        self.min_interval = min_interval
        self.clock = clock
        self.consumed = 0
        self._reported = -1
        self._last_call = float("-inf")
        self.calls = 0

    def add(self, nbytes: int) -> None:
        self.consumed = min(self.total, self.consumed + nbytes)

    def due(self) -> bool:
        """A callback would be called now if something changed (any thread may ask)."""
        return self.callback is not None and self.clock() - self._last_call >= self.min_interval

    def report_final(self) -> None:
        """The closing ``consumed == total`` call.  The transfer is done by then, so
        a callback that raises here cannot cancel anything: it is logged and the
        call still returns its success Status."""
        try:
            self.report(final=True)
        except CallbackRaised as exc:
            log.warning("%s after the transfer had finished; ignored", exc)

    def report(self, final: bool = False) -> None:
        """Call the callback if something changed and the interval has passed
        (or unconditionally for the final call)."""
        if self.callback is None:
            return
        if final:
            self.consumed = self.total
        elif self.consumed == self._reported or self.consumed == 0 or self.consumed == self.total:
            return   # consumed == total is the closing call's, whose exception cannot cancel
        now = self.clock()
        if not final and now - self._last_call < self.min_interval:
            return
        if final and self._reported == self.consumed:
            return
        self._reported = self.consumed
        self._last_call = now
        self.calls += 1
        try:
            self.callback(self.consumed, self.total)
        except Exception as exc:  # noqa: BLE001 - any callback error cancels the call
            raise CallbackRaised(exc) from exc
