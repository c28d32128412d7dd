"""Refresh ahead of expiry: the pure decision, and the thread-safe cache around a fetch
(injected clock, no sleeps)."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.credentials.base import CredentialsError, ExpiringCredentials
from ossresume_c.credentials.refresh import MAX_REFRESH_AHEAD, RefreshingProvider, refresh_ahead, refresh_due

moments = st.floats(min_value=0, max_value=1e9, allow_nan=False)
lifetimes = st.floats(min_value=1, max_value=86400 * 2, allow_nan=False)


@given(moments, lifetimes)
def test_refresh_happens_before_expiry_and_not_too_early(obtained, lifetime):
    expiration = obtained + lifetime
    ahead = refresh_ahead(expiration - obtained)   # the lifetime as the floats hold it
    assert 0 < ahead <= MAX_REFRESH_AHEAD and ahead <= (expiration - obtained) / 4
    assert not refresh_due(obtained, obtained, expiration)            # fresh credentials are used
    assert refresh_due(expiration - ahead, obtained, expiration)       # renewed before they expire
    assert refresh_due(expiration, obtained, expiration)


def test_one_hour_tokens_serve_45_minutes_like_the_official_sdk():
    assert refresh_ahead(3600) == 900
    assert not refresh_due(2699, 0, 3600) and refresh_due(2700, 0, 3600)


@given(moments)
def test_credentials_without_expiry_are_never_refreshed(now):
    assert not refresh_due(now, 0, None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counting_fetch(clock, lifetime=100.0):
    issued = []

    def fetch():
        creds = ExpiringCredentials(f"ak{len(issued)}", "sk", "tok", clock.now + lifetime)
        issued.append(creds)
        return creds
    return fetch, issued


def test_refreshes_only_when_due():
    clock = Clock()
    fetch, issued = _counting_fetch(clock)
    provider = RefreshingProvider(fetch, "test", clock)
    assert provider().access_key_id == "ak0"
    clock.now += 74
    assert provider().access_key_id == "ak0"
    clock.now += 1       # 75 of 100 s: a quarter of the lifetime left
    assert provider().access_key_id == "ak1"
    assert len(issued) == 2 and provider.refreshes == 2


def test_a_failed_refresh_keeps_valid_credentials_then_raises():
    clock = Clock()
    fetch, issued = _counting_fetch(clock)
    failing = {"on": False}

    def flaky():
        if failing["on"]:
            raise CredentialsError("STS down")
        return fetch()
    provider = RefreshingProvider(flaky, "test", clock)
    provider()
    failing["on"] = True
    clock.now += 80
    assert provider().access_key_id == "ak0"   # still valid for 20 s
    clock.now += 20
    with pytest.raises(CredentialsError, match="STS down"):
        provider()


def test_credentials_already_expired_when_fetched_are_refused():
    clock = Clock()
    provider = RefreshingProvider(lambda: ExpiringCredentials("a", "s", "t", clock.now - 1), "src", clock)
    with pytest.raises(CredentialsError, match="expired at"):
        provider()


def test_one_refresh_at_a_time_while_others_keep_signing():
    clock = Clock()
    fetch, issued = _counting_fetch(clock)
    entered, release = threading.Event(), threading.Event()
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow_fetch():
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        if issued:                  # the second fetch blocks until the others have signed
            entered.set()
            release.wait(10)
        try:
            return fetch()
        finally:
            with lock:
                active["now"] -= 1
    provider = RefreshingProvider(slow_fetch, "test", clock)
    provider()
    clock.now += 90                 # due, still valid
    refresher = threading.Thread(target=provider)
    refresher.start()
    assert entered.wait(10)
    seen = []
    workers = [threading.Thread(target=lambda: seen.append(provider().access_key_id)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    release.set()
    refresher.join(10)
    assert seen == ["ak0"] * 8      # nobody waited for the refresh, nobody started a second one
    assert active["max"] == 1 and len(issued) == 2
    assert provider().access_key_id == "ak1"


def test_expired_credentials_make_callers_wait_for_one_refresh():
    clock = Clock()
    fetch, issued = _counting_fetch(clock)
    provider = RefreshingProvider(fetch, "test", clock)
    provider()
    clock.now += 500                # long expired
    results = []
    workers = [threading.Thread(target=lambda: results.append(provider().access_key_id)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    assert results == ["ak1"] * 8 and len(issued) == 2
