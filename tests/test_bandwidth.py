"""The bandwidth cap: the token bucket's arithmetic (fake clock), what a request
counts, and one end-to-end run against the emulator with a wide margin (the
precise measurement is benchmarks/bench_bandwidth.py)."""
from __future__ import annotations

import argparse
import time

import pytest
from helpers import make_file
from hypothesis import given
from hypothesis import strategies as st

import ossresume_c as oss
from ossresume_c.bandwidth import TokenBucket, bucket_for, request_bytes
from ossresume_c.cli_common import bandwidth_arg

KB = 1024


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(st.lists(st.tuples(st.integers(1, 4 << 20), st.floats(0, 2)), min_size=1, max_size=60),
       st.integers(1 << 10, 64 << 20))
def test_bytes_sent_never_exceed_burst_plus_rate_times_time(requests_, rate):
    clock = Clock()
    bucket = TokenBucket(rate, clock=clock)
    sent = 0
    biggest = 0
    for size, idle in requests_:
        clock.now += idle
        clock.now += bucket.reserve(size)      # the caller waits, then sends
        sent += size
        biggest = max(biggest, size)
        assert sent <= bucket.burst + rate * clock.now + 1e-6 * sent
    busy = all(idle == 0 for _, idle in requests_)
    if busy:   # a caller that never idles gets the whole rate (less at most one request)
        assert sent >= rate * clock.now - 1e-6 * sent


def test_bucket_is_one_per_options_shared_by_transports():
    options = oss.request_options_create(endpoint="127.0.0.1:1", max_bandwidth=1 << 20)
    assert bucket_for(options.ctl) is bucket_for(options.ctl) and bucket_for(options.ctl).rate == 1 << 20
    assert bucket_for(oss.request_options_create(endpoint="127.0.0.1:1").ctl) is None


def test_request_bytes():
    assert request_bytes("PUT", b"x" * 10, {}) == 10
    assert request_bytes("PUT", memoryview(b"abc"), {}) == 3
    assert request_bytes("GET", None, {"Range": "bytes=100-199"}) == 100
    assert request_bytes("GET", None, {}) == 0
    assert request_bytes("HEAD", None, {"range": "bytes=0-9"}) == 0


def test_bandwidth_argument():
    assert bandwidth_arg("50MiB/s") == 50 << 20
    assert bandwidth_arg("800KB/s") == 800 << 10
    assert bandwidth_arg("1048576") == 1 << 20
    for bad in ("fast", "0", "-1MiB/s"):
        with pytest.raises(argparse.ArgumentTypeError):
            bandwidth_arg(bad)


def test_upload_and_download_stay_under_the_cap(oss_emulator, tmp_path):
    rate = 1 << 20
    size = 3 << 20
    path = make_file(tmp_path / "f.bin", size, seed=9)
    options = oss_emulator.options(max_bandwidth=rate)
    params = oss.create_resumable_clt_params(256 * KB, 4, False, None)
    burst = bucket_for(options.ctl).burst
    started = time.monotonic()
    status = oss.resumable_upload_file(options, oss_emulator.bucket, "capped", path, clt_params=params)
    up = time.monotonic() - started
    assert status.is_ok(), status
    started = time.monotonic()
    status = oss.resumable_download_file(options, oss_emulator.bucket, "capped", str(tmp_path / "back"),
                                         clt_params=params)
    down = time.monotonic() - started
    assert status.is_ok(), status
    for seconds in (up, down):
        # never above the cap (the bucket starts full: one burst more), and not absurdly below
        assert size <= burst + rate * seconds * 1.05
        assert size >= 0.25 * rate * seconds
