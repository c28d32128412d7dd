"""tree_batches: batches formed as the walk streams stay within their count and byte
limits, keep the walk's order, lose and repeat nothing, and are as full as the limits allow."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from ossresume_c.tree_batches import (MAX_BYTES, MAX_FILES, BatchFormer, BatchLimits, batch_slots,
                                      idle_workers, split_evenly, still_fresh)

limits_st = hs.builds(BatchLimits, hs.integers(1, 12), hs.integers(1, 5000))
sizes_st = hs.lists(hs.integers(0, 6000), max_size=120)


def form(sizes, limits, flush_after=frozenset()):
    """Feed ``sizes`` (items are their indexes); flush a partial batch after the
    indexes in ``flush_after`` (the walk paused there)."""
    former = BatchFormer(limits)
    batches, partial = [], []
    for index, size in enumerate(sizes):
        batches.extend(former.add(index, size))
        if index in flush_after:
            rest = former.flush()
            if rest is not None:
                batches.append(rest)
                partial.append(len(batches) - 1)
    rest = former.flush()
    if rest is not None:
        batches.append(rest)
        partial.append(len(batches) - 1)
    assert former.flush() is None and len(former) == 0
    return batches, set(partial)


@given(limits_st, sizes_st, hs.frozensets(hs.integers(0, 119)))
def test_every_item_once_in_order_and_within_the_limits(limits, sizes, pauses):
    batches, _partial = form(sizes, limits, pauses)
    assert [i for b in batches for i in b] == list(range(len(sizes)))
    for batch in batches:
        assert 1 <= len(batch) <= limits.files
        total = sum(sizes[i] for i in batch)
        # a file bigger than the byte limit travels alone
        assert total <= limits.bytes or len(batch) == 1


@given(limits_st, sizes_st)
def test_without_pauses_a_batch_is_cut_only_when_the_next_file_would_not_fit(limits, sizes):
    batches, partial = form(sizes, limits)
    for n, batch in enumerate(batches):
        if n in partial:
            continue                        # the end of the walk
        full = len(batch) == limits.files or sum(sizes[i] for i in batch) >= limits.bytes
        following = batches[n + 1][0] if n + 1 < len(batches) else None
        overflow = following is not None and \
            sum(sizes[i] for i in batch) + sizes[following] > limits.bytes
        assert full or overflow
    assert len(partial) <= 1


@given(limits_st, sizes_st)
def test_add_hands_over_a_batch_the_moment_it_is_full(limits, sizes):
    former = BatchFormer(limits)
    for index, size in enumerate(sizes):
        former.add(index, size)
        # what stays behind is never a full batch
        assert len(former) < limits.files and former.bytes < limits.bytes


def test_the_defaults_bound_count_and_bytes():
    former = BatchFormer(BatchLimits())
    ready = [b for i in range(MAX_FILES) for b in former.add(i, 4096)]
    assert [len(b) for b in ready] == [MAX_FILES]
    ready = former.add("a", MAX_BYTES // 2) + former.add("b", MAX_BYTES // 2 + 1)
    assert ready == [["a"]] and former.flush() == ["b"]
    with pytest.raises(ValueError):
        BatchLimits(0, 1)


@given(hs.integers(0, 1000), hs.integers(0, 500))
def test_partial_batches_go_only_to_idle_workers_and_slots_hold_one_queued_each(out, workers):
    idle = idle_workers(out, workers)
    assert idle == max(0, max(1, workers) - out)
    slots = batch_slots(workers)
    assert slots == 2 * max(1, workers)
    if out <= slots:                        # never more are out
        assert out + idle <= slots          # sending the pieces never waits for a slot


@given(hs.lists(hs.integers(), max_size=300), hs.integers(0, 64))
def test_a_partial_batch_is_shared_evenly_in_order(items, pieces):
    split = split_evenly(items, pieces)
    assert [x for piece in split for x in piece] == items
    if items:
        assert len(split) == min(max(1, pieces), len(items))
        sizes = [len(piece) for piece in split]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    else:
        assert split == []


@given(hs.integers(0, 10**10), hs.integers(-10**6, 10**6), hs.integers(0, 3600))
def test_a_file_is_started_only_with_more_than_the_margin_left(expires_at, before, margin):
    now = expires_at - margin + before          # ``before`` < 0: more than the margin left
    assert still_fresh(expires_at, now, margin) == (before < 0)
    if still_fresh(expires_at, now, margin):
        assert still_fresh(expires_at, now - 1, margin)     # earlier is fresh too
