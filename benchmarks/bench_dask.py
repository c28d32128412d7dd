"""What running the transfers elsewhere costs (issue 13), against the emulator in
--discard mode (the server checksums and drops bodies, so it costs little):

1. one big file: ``resumable_upload_file`` with its parts sent by a Dask LocalCluster
   (2 worker processes, presigned URLs) vs threads in this process;
1b. the same file downloaded: ``resumable_download_file`` with its ranges fetched by the
   LocalCluster's workers into the .tmp vs threads in this process (from a second emulator
   that keeps the data: a download needs the bytes), ``--rounds`` times in the order
   threads, cluster, cluster, threads, each the median of its runs;
2. a tree of small files: ``upload_tree`` with its tasks on ``ProcessPoolExecutor(2)``
   vs threads in this process;
3. the Dask scheduler's cost per task (no-op tasks), which sets the batch size.

    PYTHONPATH=. python benchmarks/bench_dask.py [--size-mib 1024] [--files 5000] [--only-big] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import table  # noqa: E402

import ossresume_c as oss  # noqa: E402
from ossresume_c import remote_tasks  # noqa: E402
from ossresume_c.emulator import start_emulator  # noqa: E402

MiB = 1 << 20


def _noop(x: int) -> int:
    return x


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as fh:
        for _ in range(size // MiB):
            fh.write(block)


def make_tree(root: Path, files: int, size: int) -> None:
    for i in range(files):
        d = root / f"d{i % 50:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(size))


def big_file(emu, path: Path, executor, threads: int, part_size: int) -> float:
    options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                         access_key_secret=emu.access_key_secret, region=emu.region)
    params = oss.create_resumable_clt_params(part_size, threads, False, None)
    started = time.perf_counter()
    status = oss.resumable_upload_file(options, "bench", f"big-{time.time_ns()}", str(path), None,
                                       None, params, executor=executor)
    wall = time.perf_counter() - started
    assert status.is_ok(), status
    return wall


def stored(emu, path: Path, threads: int, part_size: int) -> str:
    """Upload ``path`` (threads) to an emulator that keeps data; its key."""
    key = "kept.bin"
    options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                         access_key_secret=emu.access_key_secret, region=emu.region)
    params = oss.create_resumable_clt_params(part_size, threads, False, None)
    status = oss.resumable_upload_file(options, "bench", key, str(path), None, None, params)
    assert status.is_ok(), status
    return key


def big_download(emu, target: Path, key: str, executor, threads: int, part_size: int) -> float:
    options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                         access_key_secret=emu.access_key_secret, region=emu.region)
    params = oss.create_resumable_clt_params(part_size, threads, False, None)
    started = time.perf_counter()
    status = oss.resumable_download_file(options, "bench", key, str(target), None, None, params,
                                         executor=executor)
    wall = time.perf_counter() - started
    assert status.is_ok(), status
    target.unlink()
    return wall


def tree(emu, root: Path, executor, threads: int) -> float:
    options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                         access_key_secret=emu.access_key_secret, region=emu.region)
    started = time.perf_counter()
    summary = oss.upload_tree(options, str(root), "bench", f"t{time.time_ns()}/", threads=threads,
                              manifest=False, enable_checkpoint=False, executor=executor)
    wall = time.perf_counter() - started
    assert summary.ok, list(summary.failed.items())[:3]
    return wall


def tree_rows(emu, root: Path, files: int, file_size: int) -> list:
    """2. the small-file tree: threads, then ``ProcessPoolExecutor(2)``."""
    make_tree(root, files, file_size)
    p_threads = tree(emu, root, None, 8)
    with ProcessPoolExecutor(2) as pool:
        p_procs = tree(emu, root, pool, 8)
    return [[f"{files} x {file_size} B tree, threads", f"{p_threads:.2f}",
             f"{files / p_threads:,.0f} files/s", "1.00"],
            [f"{files} x {file_size} B tree, ProcessPoolExecutor(2)", f"{p_procs:.2f}",
             f"{files / p_procs:,.0f} files/s", f"{p_procs / p_threads:.2f}"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--part-mib", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--file-size", type=int, default=4096)
    ap.add_argument("--tasks", type=int, default=2000, help="no-op tasks for the scheduler cost")
    ap.add_argument("--only-big", action="store_true", help="skip the small-file tree")
    ap.add_argument("--rounds", type=int, default=2,
                    help="download rounds, each threads/cluster/cluster/threads")
    args = ap.parse_args()
    import distributed

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        work = Path(tmp)
        with start_emulator(root=str(work / "emu"), buckets=["bench"], discard=True) as emu:
            rows = []
            path = work / "big.bin"
            make_file(path, args.size_mib * MiB)
            with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                          host="127.0.0.1", dashboard_address=None) as cluster, \
                    distributed.Client(cluster) as client:
                # 3. scheduler cost per task
                client.gather(client.map(_noop, range(100), pure=False))      # warm
                started = time.perf_counter()
                client.gather(client.map(_noop, range(args.tasks), pure=False))
                per_task_ms = (time.perf_counter() - started) / args.tasks * 1000
                # 1. one big file, threads then the cluster
                t_threads = big_file(emu, path, None, args.threads, args.part_mib * MiB)
                t_dask = big_file(emu, path, client, args.threads, args.part_mib * MiB)
                # 1b. the same file downloaded, from an emulator that keeps it
                with start_emulator(root=str(work / "emu-kept"), buckets=["bench"]) as kept:
                    key = stored(kept, path, args.threads, args.part_mib * MiB)
                    target = work / "down.bin"
                    times: dict = {None: [], client: []}
                    for executor in (None, client, client, None) * args.rounds:  # ABBA: drift cancels
                        times[executor].append(big_download(kept, target, key, executor,
                                                            args.threads, args.part_mib * MiB))
                    d_threads, d_dask = (statistics.median(times[e]) for e in (None, client))
                    d_runs = (times[None], times[client])
            size = args.size_mib * MiB
            parts = -(-size // (args.part_mib * MiB))
            per = remote_tasks.parts_per_task(parts, args.threads)
            rows.append([f"{args.size_mib} MiB file, threads", f"{t_threads:.2f}",
                         f"{size / t_threads / MiB:,.0f} MiB/s", "1.00"])
            rows.append([f"{args.size_mib} MiB file, LocalCluster(2)", f"{t_dask:.2f}",
                         f"{size / t_dask / MiB:,.0f} MiB/s", f"{t_dask / t_threads:.2f}"])
            rows.append([f"{args.size_mib} MiB download, threads", f"{d_threads:.2f}",
                         f"{size / d_threads / MiB:,.0f} MiB/s", "1.00"])
            rows.append([f"{args.size_mib} MiB download, LocalCluster(2)", f"{d_dask:.2f}",
                         f"{size / d_dask / MiB:,.0f} MiB/s", f"{d_dask / d_threads:.2f}"])
            path.unlink()
            if not args.only_big:
                rows.extend(tree_rows(emu, work / "tree", args.files, args.file_size))
    print(table(rows, ["run", "seconds", "rate", "time vs threads"]))
    print(f"\nDask scheduler: {per_task_ms:.2f} ms per no-op task ({1000 / per_task_ms:,.0f} tasks/s, "
          f"{args.tasks} tasks, 2 workers)")
    print(f"{parts} parts of {args.part_mib} MiB, {args.threads} batches in flight: "
          f"{per} part(s) per task, {-(-parts // per)} tasks")
    print("download runs (s), threads: " + ", ".join(f"{t:.2f}" for t in d_runs[0])
          + "; LocalCluster(2): " + ", ".join(f"{t:.2f}" for t in d_runs[1]))


if __name__ == "__main__":
    main()
