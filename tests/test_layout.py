import pytest
from hypothesis import given, settings, strategies as st

from ossresume_c.layout import (DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_UPLOAD_PART_SIZE,
                                check_part_size, effective_part_size, plan_from_sizes, plan_parts,
                                upload_part_size_error)

sizes = st.integers(min_value=0, max_value=50 * 2**40)
part_sizes = st.integers(min_value=0, max_value=MAX_PART_SIZE)


@settings(deadline=None)  # a loaded machine must not fail a pure property on time
@given(sizes, part_sizes)
def test_plan_covers_file_exactly_within_10000_parts(total, ps):
    plan = plan_parts(total, ps)
    assert plan.count <= MAX_PARTS
    if total == 0:
        assert plan.count == 0
        return
    # contiguous, ordered, last part possibly short, nothing empty
    assert plan.parts[0].offset == 0
    for i, part in enumerate(plan.parts):
        assert part.index == i and part.number == i + 1
        assert part.offset == i * plan.part_size
        assert 0 < part.size <= plan.part_size
    assert sum(p.size for p in plan.parts) == total
    assert plan.parts[-1].last_byte == total - 1


@settings(deadline=None)  # a loaded machine must not fail a pure property on time
@given(sizes, part_sizes)
def test_part_size_is_the_smallest_that_fits(total, ps):
    eff = effective_part_size(total, ps)
    requested = ps or DEFAULT_PART_SIZE
    assert eff >= requested
    if eff > requested:
        # grown: one byte less would need more than 10000 parts
        assert -(-total // (eff - 1)) > MAX_PARTS
        assert -(-total // eff) <= MAX_PARTS


def test_automatic_and_examples():
    assert effective_part_size(10, 0) == DEFAULT_PART_SIZE
    assert plan_parts(550000, 102400).count == 6
    assert [p.size for p in plan_parts(550000, 102400).parts][-1] == 550000 - 5 * 102400
    assert effective_part_size(10000 * 100 + 1, 100) == 101


@pytest.mark.parametrize("bad", [-1, MAX_PART_SIZE + 1])
def test_part_size_out_of_range(bad):
    with pytest.raises(ValueError):
        check_part_size(bad)


@pytest.mark.parametrize("bad", [1.5, "100", True, None])
def test_part_size_wrong_type(bad):
    with pytest.raises(TypeError):
        check_part_size(bad)


@settings(deadline=None)
@given(st.integers(1, 10 * 2**20), st.integers(1, 400 * 1024))
def test_upload_minimum_part_size_rule(total, ps):
    plan = plan_parts(total, ps)
    err = upload_part_size_error(plan)
    assert bool(err) == (plan.count > 1 and plan.part_size < MIN_UPLOAD_PART_SIZE)


def test_plan_from_sizes_keeps_recorded_layout():
    plan = plan_from_sizes(250, 100, [100, 100, 50])
    assert [(p.offset, p.size) for p in plan.parts] == [(0, 100), (100, 100), (200, 50)]
