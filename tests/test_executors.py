"""executors: what ``executor=`` accepts, and how many tasks each kind runs at once."""
from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from ossresume_c.executors import executor_workers, resolve_executor


class Inline(Executor):
    """An executor that does not say how many tasks it runs at once."""


def test_workers_of_pools_and_of_an_executor_that_does_not_say():
    with ThreadPoolExecutor(5) as threads, ProcessPoolExecutor(3) as processes:
        assert executor_workers(threads, 8) == 5
        assert executor_workers(processes, 8) == 3
    assert executor_workers(Inline(), 8) == 8


def test_a_dask_clusters_worker_threads(dask_client):
    resolved = resolve_executor(dask_client)
    assert executor_workers(resolved, 8) == sum(dask_client.nthreads().values()) == 4


def test_what_is_no_executor():
    assert resolve_executor(None) is None
    with pytest.raises(TypeError):
        resolve_executor(object())
