"""A bandwidth cap: one token bucket shared by every request made with the same
``RequestOptions`` (all threads, all files), refilled at ``rate`` bytes per second.

A request takes its body size (or the length of its ranged GET) before it is
sent; a request larger than what is in the bucket goes into debt and waits until
the debt is paid back, so the long-run rate is ``rate`` whatever the part size.
``burst`` (default: 50 ms of traffic, at least 64 KiB) is what an idle bucket
holds, the most that can go out above the rate.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

MIN_BURST = 64 * 1024


def refill(tokens: float, elapsed: float, rate: float, burst: float) -> float:
    """Tokens after ``elapsed`` seconds, never above ``burst``."""
    return min(burst, tokens + max(0.0, elapsed) * rate)


def debt_wait(tokens: float, rate: float) -> float:
    """Seconds until a bucket holding ``tokens`` (negative: in debt) is back at zero."""
    return -tokens / rate if tokens < 0 else 0.0


class TokenBucket:
    def __init__(self, rate: float, burst: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(MIN_BURST, rate * 0.05))
        self.clock = clock
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:.0f} B/s, burst={self.burst:.0f} B)"

    def reserve(self, nbytes: int) -> float:
        """Take ``nbytes`` now; the seconds the caller must wait before sending them."""
        with self._lock:
            now = self.clock()
            self._tokens = refill(self._tokens, now - self._last, self.rate, self.burst) - nbytes
            self._last = now
            return debt_wait(self._tokens, self.rate)

    def acquire(self, nbytes: int, cancel: Optional[threading.Event] = None) -> bool:
        """Wait until ``nbytes`` may go; False when ``cancel`` was set meanwhile."""
        wait = self.reserve(nbytes)
        if wait <= 0:
            return True
        if cancel is None:
            time.sleep(wait)
            return True
        return not cancel.wait(wait)


_LOCK = threading.Lock()


def bucket_for(ctl: Any) -> Optional[TokenBucket]:
    """The bucket of an ``HttpController`` with ``max_bandwidth`` set (made once, shared)."""
    rate = int(getattr(ctl, "max_bandwidth", 0) or 0)
    if rate <= 0:
        return None
    with _LOCK:
        bucket: Optional[TokenBucket] = getattr(ctl, "_bucket", None)
        if bucket is None or bucket.rate != rate:
            bucket = TokenBucket(rate)
            object.__setattr__(ctl, "_bucket", bucket)
        return bucket


def request_bytes(method: str, body: Any, headers: Any) -> int:
    """What a request moves: its body, or the span of a ranged GET."""
    if body is not None:
        try:
            return len(body)
        except TypeError:
            return 0
    if method == "GET":
        for name, value in headers.items():
            if name.lower() == "range" and str(value).startswith("bytes="):
                first, _, last = str(value)[6:].partition("-")
                if first.isdigit() and last.isdigit():
                    return int(last) - int(first) + 1
    return 0
