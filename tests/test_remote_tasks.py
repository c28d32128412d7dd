"""remote_tasks: the batching rule, the expiry margin and the worker's name, shared by
remote uploads (test_remote_parts) and downloads (test_remote_ranges)."""
from __future__ import annotations

import os
import time

from hypothesis import given, settings
from hypothesis import strategies as hs

from ossresume_c import remote_tasks


@settings(deadline=None)
@given(hs.integers(0, 100_000), hs.integers(1, 64))
def test_parts_per_task(todo, slots):
    per = remote_tasks.parts_per_task(todo, slots)
    assert 1 <= per <= remote_tasks.MAX_PARTS_PER_TASK
    if todo >= slots * remote_tasks.TASKS_PER_SLOT * remote_tasks.MAX_PARTS_PER_TASK:
        assert per == remote_tasks.MAX_PARTS_PER_TASK      # many parts: full batches
    if per > 1:    # batching never leaves a slot without its share of tasks
        assert -(-todo // per) >= slots * remote_tasks.TASKS_PER_SLOT


@given(hs.floats(-10_000, 10_000))
def test_a_url_is_not_started_within_the_margin_of_its_expiry(left):
    now = time.time()
    expiring = remote_tasks.expiring(now + left)
    if left <= remote_tasks.EXPIRY_MARGIN - 1:
        assert expiring
    if left >= remote_tasks.EXPIRY_MARGIN + 1:
        assert not expiring


def test_a_worker_outside_dask_is_named_by_host_and_pid():
    assert remote_tasks.worker_name().endswith(f" pid {os.getpid()}")


def test_cannot_open_names_the_worker_and_the_path():
    status = remote_tasks.cannot_open("host pid 7", "/data/x.tmp",
                                      FileNotFoundError(2, "No such file or directory"))
    assert status.code == 2 and status.error_code == "OpenFileFail"
    assert status.error_msg == "host pid 7 cannot open '/data/x.tmp': No such file or directory"
