"""Session fixtures of this test suite beyond the emulator's (which come from the plugin)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A Dask client on a local cluster of two worker processes, loopback only, started
    once for the session (tests that kill a worker wait for its restart)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client
