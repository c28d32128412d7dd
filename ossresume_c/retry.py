"""Retry policy: which outcomes are retried, and how long to wait (pure functions).

Capped exponential backoff with full jitter: attempt ``n`` (0-based) waits a
uniform time in ``[0, min(cap, base * 2**n)]``.
"""
from __future__ import annotations

import random
from typing import Optional

from . import status as st

# -980 and -996 reach the retry loop only from a 2xx response whose body or headers
# could not be read (damaged on the wire, a proxy's page): fetching it again can help.
_RETRYABLE_LOCAL = frozenset({st.HTTP_IO_ERROR, st.REQUEST_TIMEOUT, st.INCONSISTENT_ERROR,
                              st.XML_PARSE_ERROR, st.INTERNAL_ERROR})


def is_retryable(code: int) -> bool:
    """Connection errors, timeouts, CRC mismatches, unreadable 2xx responses (-980,
    -996), 5xx and 429 are retried; other 4xx never."""
    if code < 0:
        return code in _RETRYABLE_LOCAL
    return code == 429 or code >= 500


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """Upper bound of the wait before retry number ``attempt`` (0-based)."""
    if attempt < 0 or base <= 0 or cap <= 0:
        return 0.0
    # 2**attempt overflows floats only past ~1000; cap long before that.
    exp = min(attempt, 60)
    return min(cap, base * (2.0 ** exp))


def backoff_delay(attempt: int, base: float, cap: float,
                  rng: Optional[random.Random] = None) -> float:
    """Full-jitter delay before retry number ``attempt``."""
    ceiling = backoff_ceiling(attempt, base, cap)
    return (rng or random).uniform(0.0, ceiling) if ceiling > 0 else 0.0
