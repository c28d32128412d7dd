import random

from hypothesis import given, strategies as st

from ossresume_c import retry, status


@given(st.integers(0, 2000), st.floats(0.001, 10), st.floats(0.001, 100), st.integers(0, 2**32))
def test_delay_is_within_the_capped_exponential_ceiling(attempt, base, cap, seed):
    rng = random.Random(seed)
    delay = retry.backoff_delay(attempt, base, cap, rng)
    ceiling = retry.backoff_ceiling(attempt, base, cap)
    assert 0.0 <= delay <= ceiling <= cap
    assert ceiling == min(cap, base * 2.0 ** min(attempt, 60))


@given(st.integers(0, 30), st.floats(0.001, 1), st.floats(1, 100))
def test_ceiling_never_decreases(attempt, base, cap):
    assert retry.backoff_ceiling(attempt + 1, base, cap) >= retry.backoff_ceiling(attempt, base, cap)


def test_full_jitter_spreads_over_the_range():
    rng = random.Random(7)
    delays = [retry.backoff_delay(3, 0.5, 100, rng) for _ in range(2000)]
    assert min(delays) < 0.4 and max(delays) > 3.6   # ceiling 4.0


def test_what_is_retried():
    for code in (500, 502, 503, 504, 429, status.HTTP_IO_ERROR, status.REQUEST_TIMEOUT,
                 status.INCONSISTENT_ERROR, status.XML_PARSE_ERROR, status.INTERNAL_ERROR):
        assert retry.is_retryable(code)
    for code in (400, 403, 404, 409, 411, 412, 416, status.INVALID_ARGUMENT, status.OPEN_FILE_ERROR,
                 status.ABORT_CALLBACK, status.FILE_WRITE_ERROR, status.INVALID_OPERATION):
        assert not retry.is_retryable(code)
