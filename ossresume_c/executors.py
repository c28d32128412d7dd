"""Turns the ``executor=`` argument into a ``concurrent.futures.Executor``: None (threads
in this process), any Executor, or a ``dask.distributed.Client`` recognised by its type's
module, so that ``import ossresume_c`` never imports dask.
"""
from __future__ import annotations

import sys
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Optional

from . import status as st

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

CLOSED_CLIENT_STATES = ("closing", "closed")


def is_dask_client(obj: object) -> bool:
    """A ``distributed.Client`` (or a subclass), without importing ``distributed``."""
    for cls in type(obj).__mro__:
        if cls.__name__ == "Client" and cls.__module__.split(".")[0] == "distributed":
            return True
    return False


def resolve_executor(executor: object) -> Optional[Executor]:
    """The Executor that runs the tasks, or None for this process's threads.  A closed
    Dask client is a -994 Status (raised as ``InvalidExecutor``); anything else that is
    no executor is a programming error (TypeError)."""
    process = sys.modules.get("concurrent.futures.process")   # not imported: no process pool
    if process is not None and isinstance(executor, process.ProcessPoolExecutor):
        start_workers(executor)
    if executor is None or isinstance(executor, Executor):
        return executor
    if is_dask_client(executor):
        state = str(getattr(executor, "status", ""))
        if state in CLOSED_CLIENT_STATES:
            raise InvalidExecutor(st.Status(st.INVALID_ARGUMENT, "InvalidArgument",
                                            f"the Dask client is {state}"))
        # pure=False: two tasks with equal arguments (a retried batch) must both run
        return executor.get_executor(pure=False)  # type: ignore[attr-defined]
    raise TypeError("executor must be None, a concurrent.futures.Executor or a "
                    f"dask.distributed.Client, not {type(executor).__name__}")


def executor_workers(executor: Executor, default: int) -> int:
    """How many tasks ``executor`` runs at once: a process or thread pool's workers, a
    Dask cluster's worker threads (asked once); ``default`` when it does not say."""
    client = getattr(executor, "_client", None)
    if client is not None and is_dask_client(client):
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a scheduler that does not answer: its tasks will tell
            return default
    count = getattr(executor, "_max_workers", None)
    return count if isinstance(count, int) and count > 0 else default


def start_workers(pool: "ProcessPoolExecutor") -> None:
    """Fork a pool's workers now, before any checkpoint is locked: a worker forked
    later would inherit the lock and hold it past a killed coordinator."""
    pool.submit(int).result()


class InvalidExecutor(Exception):
    """The executor cannot run anything (a closed Dask client)."""

    def __init__(self, status: st.Status) -> None:
        super().__init__(str(status))
        self.status = status
