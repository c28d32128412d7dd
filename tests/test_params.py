import logging

import pytest

import ossresume_c as oss


def test_fields_and_defaults():
    p = oss.create_resumable_clt_params(100 * 1024, 3, True, "/tmp/x.ucp")
    assert (p.part_size, p.thread_num, p.enable_checkpoint, p.checkpoint_path) == (102400, 3, True, "/tmp/x.ucp")
    assert set(vars(p)) == {"part_size", "thread_num", "enable_checkpoint", "checkpoint_path"}


def test_path_dropped_when_checkpoint_disabled():
    assert oss.create_resumable_clt_params(0, 1, False, "/tmp/x").checkpoint_path is None


@pytest.mark.parametrize("threads,expect", [(0, 1), (-5, 1), (1025, 1), (1, 1), (1024, 1024), (10, 10)])
def test_thread_num_clamped_like_the_c_sdk(threads, expect, caplog):
    caplog.set_level(logging.WARNING, logger="ossresume_c")
    assert oss.create_resumable_clt_params(0, threads, False, None).thread_num == expect
    assert ("thread_num" in caplog.text) == (threads != expect)


@pytest.mark.parametrize("ps", [-1, 5 * 2**30 + 1])
def test_part_size_range(ps):
    with pytest.raises(ValueError):
        oss.create_resumable_clt_params(ps, 1, False, None)
