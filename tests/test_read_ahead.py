"""read_ahead: the source's items in order, PAUSED while the source stalls, its exception
in the consumer, a bounded lead, and a stop that ends the thread."""
from __future__ import annotations

import threading

import pytest

from ossresume_c.read_ahead import PAUSED, ReadAhead


def test_items_in_order_then_none():
    ahead = ReadAhead(iter(range(50)), depth=4)
    got = []
    while True:
        item = ahead.next(5)
        if item is None:
            break
        got.append(item)
    assert got == list(range(50)) and ahead.next(5) is None
    ahead.close()


def test_a_stalled_source_reads_as_paused_until_it_goes_on():
    go = threading.Event()

    def source():
        yield "first"
        go.wait(60)
        yield "second"

    ahead = ReadAhead(source())
    assert ahead.next(5) == "first"
    assert ahead.next(0.01) is PAUSED
    go.set()
    assert ahead.next(5) == "second" and ahead.next(5) is None
    ahead.close()


def test_the_source_error_is_raised_in_the_consumer():
    def source():
        yield 1
        raise ValueError("out of order")

    ahead = ReadAhead(source())
    assert ahead.next(5) == 1
    with pytest.raises(ValueError, match="out of order"):
        ahead.next(5)
    assert ahead.next(5) is None
    ahead.close()


def test_the_lead_is_bounded_and_close_ends_an_endless_source():
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    ahead = ReadAhead(endless(), depth=8)
    assert ahead.next(5) == 0
    ahead.close()
    assert not ahead.thread.is_alive()
    # read one, at most 8 queued, one in the reader's hand when it saw the stop, a few
    # more taken out by close() to unblock it
    assert len(produced) <= 1 + 8 + 1 + 8
