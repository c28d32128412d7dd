"""Where ``cp`` (both ways) and ``sync`` run their work: ``--processes N`` (a process pool on this
machine) or ``--dask-scheduler tcp://HOST:PORT`` (a Dask cluster), else threads here."""
from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

from .cli_common import threads_arg


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--processes", type=threads_arg, default=None, metavar="N",
                       help="transfer the parts (and with -r or sync the small files) from N "
                            "worker processes on this machine")
    group.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                       help="transfer them from the workers of this Dask cluster (pip install "
                            "'ossresume_c[dask]'); the files (for a download, the target's "
                            "directory) must be at the same path on every worker, parts go on "
                            "presigned URLs")


@contextmanager
def open_executor(args: argparse.Namespace) -> Iterator[Any]:
    """The executor the options ask for (None: threads), closed afterwards."""
    parser: argparse.ArgumentParser = args.subparser
    if getattr(args, "processes", None):
        with ProcessPoolExecutor(args.processes) as pool:
            yield pool
        return
    address = getattr(args, "dask_scheduler", None)
    if not address:
        yield None
        return
    try:
        import distributed
    except ImportError:
        parser.error("--dask-scheduler needs Dask: pip install 'ossresume_c[dask]'")
    try:
        client = distributed.Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        parser.error(f"cannot reach the Dask scheduler at {address}: {exc}")
    with client:
        yield client
