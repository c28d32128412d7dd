"""Temporary credentials renewed ahead of their expiry: one refresh at a time,
shared by every thread that signs requests.

``refresh_due`` is the pure decision; ``RefreshingProvider`` the thread-safe cache
around a ``fetch`` that returns fresh ``ExpiringCredentials`` (an STS call, the
metadata service, a credentials URI).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from .base import CredentialsError, ExpiringCredentials, format_expiration

log = logging.getLogger("ossresume_c")

# The official SDKs treat credentials as stale 15 minutes before they expire.
MAX_REFRESH_AHEAD = 15 * 60.0


def refresh_ahead(lifetime: float) -> float:
    """How long before expiry to renew credentials issued for ``lifetime`` seconds:
    15 minutes, or a quarter of the lifetime for shorter ones (so a 1-hour token
    serves 45 minutes, as the official SDKs do, and a 4-second one serves 3)."""
    return min(MAX_REFRESH_AHEAD, max(0.0, lifetime) / 4.0)


def refresh_due(now: float, obtained: float, expiration: Optional[float]) -> bool:
    """True when credentials obtained at ``obtained`` and valid until ``expiration``
    must be renewed at ``now``.  Credentials without an expiry never are."""
    if expiration is None:
        return False
    return now >= expiration - refresh_ahead(expiration - obtained)


class RefreshingProvider:
    """Calls ``fetch`` for the first credentials and again when ``refresh_due``.

    While one thread refreshes, others keep signing with the current credentials
    if they are still valid, and wait otherwise.  A failed refresh keeps the
    current credentials until they expire (a warning is logged), then raises.
    """

    def __init__(self, fetch: Callable[[], ExpiringCredentials], name: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.fetch = fetch
        self.name = name
        self.clock = clock
        self.refreshes = 0
        self._lock = threading.Lock()
        self._current: Optional[ExpiringCredentials] = None
        self._obtained = 0.0
        self._next_attempt = 0.0   # after a failed refresh, the next try waits a little

    def __repr__(self) -> str:
        return f"RefreshingProvider({self.name!r}, refreshes={self.refreshes})"

    def _valid(self, now: float) -> bool:
        current = self._current
        return current is not None and (current.expiration is None or now < current.expiration)

    def _due(self, now: float) -> bool:
        current = self._current
        if current is None or not self._valid(now):
            return True
        return now >= self._next_attempt and refresh_due(now, self._obtained, current.expiration)

    def __call__(self) -> ExpiringCredentials:
        now = self.clock()
        if not self._due(now):
            return self._current  # type: ignore[return-value]
        if self._valid(now):
            if not self._lock.acquire(blocking=False):
                return self._current  # type: ignore[return-value]  # another thread renews
        else:
            self._lock.acquire()
        try:
            now = self.clock()
            if self._due(now):
                self._renew(now)
            return self._current  # type: ignore[return-value]
        finally:
            self._lock.release()

    def invalidate(self) -> bool:
        """Forget the current credentials (the server said they expired)."""
        with self._lock:
            self._current = None
        return True

    def _renew(self, now: float) -> None:
        try:
            fresh = self.fetch()
        except CredentialsError as exc:
            if self._valid(now):
                expiration = self._current.expiration or now  # type: ignore[union-attr]
                self._next_attempt = now + min(30.0, (expiration - now) / 4)
                log.warning("%s: refresh failed, keeping the current credentials until %s: %s",
                            self.name, format_expiration(expiration), exc)
                return
            raise
        if fresh.expiration is not None and fresh.expiration <= now:
            raise CredentialsError(f"{self.name}: the credentials it gave expired at "
                                   f"{format_expiration(fresh.expiration)}; check the clock")
        self._current, self._obtained = fresh, now
        self.refreshes += 1
        log.info("%s: credentials %s valid until %s", self.name, fresh.access_key_id,
                 format_expiration(fresh.expiration) if fresh.expiration else "-")
