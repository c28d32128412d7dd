"""What running the transfers elsewhere costs (issue 13), against the emulator in
--discard mode (the server checksums and drops bodies, so it costs little):

1. one big file: ``resumable_upload_file`` with its parts sent by a Dask LocalCluster
   (2 worker processes, presigned URLs) vs threads in this process;
2. a tree of small files: ``upload_tree`` with its files in batches on
   ``ProcessPoolExecutor(2)`` and on the LocalCluster vs threads in this process, for
   several batch sizes (1 file a task is how the engine shipped them before batching),
   ``--rounds`` rounds interleaved, medians reported (``--only-big`` skips it);
3. the Dask scheduler's cost per task (no-op tasks), which sets the batch size.

1b. between 1 and 2, the same big file downloaded: ``resumable_download_file`` with its ranges
   fetched by the LocalCluster's workers into the .tmp vs threads in this process (from a
   second emulator that keeps the data: a download needs the bytes), ``--rounds`` times in the
   order threads, cluster, cluster, threads, each the median of its runs.

    PYTHONPATH=. python benchmarks/bench_dask.py [--size-mib 1024] [--files 5000] \
        [--batch-files 1,16,64,256] [--rounds 3] [--only-big]
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
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import table  # noqa: E402

import ossresume_c as oss  # noqa: E402
from ossresume_c import remote_tasks, tree_batches  # noqa: E402
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


class Counting:
    """Counts the batches (tasks) of a tree and their files that an executor is given."""

    tasks = files = 0

    def submit(self, fn, /, *args, **kwargs):
        batch = args[0] if args else None
        if hasattr(batch, "tasks"):
            self.tasks += 1
            self.files += len(batch.tasks)
        return super().submit(fn, *args, **kwargs)  # type: ignore[misc]


class CountingPool(Counting, ProcessPoolExecutor):
    pass


def tree(emu, root: Path, executor, threads: int,
         batch_files: int = tree_batches.MAX_FILES) -> Tuple[float, float]:
    """Wall seconds and this process's CPU seconds (the coordinator's, on an executor)."""
    tree_batches.LIMITS = tree_batches.BatchLimits(batch_files, tree_batches.MAX_BYTES)
    options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                         access_key_secret=emu.access_key_secret, region=emu.region)
    started, cpu = time.perf_counter(), time.process_time()
    summary = oss.upload_tree(options, str(root), "bench", f"t{time.time_ns()}/", threads=threads,
                              manifest=False, enable_checkpoint=False, executor=executor)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    tree_batches.LIMITS = tree_batches.BatchLimits()
    assert summary.ok, list(summary.failed.items())[:3]
    return wall, cpu


def tree_rows(runs: Dict[Tuple[str, int], List[Tuple[float, float, str]]], files: int) -> List[list]:
    """One row per configuration: the median of its rounds, against the threads' median."""
    baseline = statistics.median(wall for wall, _cpu, _tasks in runs[("threads", 0)])
    rows = []
    for (name, limit), timed in runs.items():
        wall = statistics.median(t[0] for t in timed)
        cpu = statistics.median(t[1] for t in timed)
        rows.append([name, str(limit) if limit else "-", timed[-1][2], str(len(timed)),
                     f"{wall:.2f}", f"{files / wall:,.0f} files/s", f"{wall / baseline:.2f}",
                     f"{cpu / files * 1000:.3f}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--part-mib", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--file-size", type=int, default=4096)
    ap.add_argument("--tasks", type=int, default=2000, help="no-op tasks for the scheduler cost")
    ap.add_argument("--batch-files", default="1,16,64,256",
                    help="files-per-task limits tried on the cluster (the engine's is 256)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of the tree runs, interleaved (limits under 64 run once), and of "
                         "the downloads (each threads/cluster/cluster/threads)")
    ap.add_argument("--only-big", action="store_true", help="skip the small-file tree")
    args = ap.parse_args()
    limits = [int(n) for n in args.batch_files.split(",")]
    import distributed
    from distributed.cfexecutor import ClientExecutor

    class CountingClient(Counting, ClientExecutor):
        pass

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        work = Path(tmp)
        with start_emulator(root=str(work / "emu"), buckets=["bench"], discard=True) as emu:
            rows = []
            path = work / "big.bin"
            make_file(path, args.size_mib * MiB)
            root = work / "tree"
            if not args.only_big:
                make_tree(root, args.files, args.file_size)
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
                # 2. the small-file tree: threads, the cluster at each batch size, a process
                # pool with one file a task and with the engine's batches; rounds interleaved
                configs = [("threads", 0)] + [("LocalCluster(2)", n) for n in limits] + \
                    [("ProcessPoolExecutor(2)", 1), ("ProcessPoolExecutor(2)", tree_batches.MAX_FILES)]
                runs: Dict[Tuple[str, int], List[Tuple[float, float, str]]] = {c: [] for c in configs}
                for round_ in range(0 if args.only_big else args.rounds):
                    for name, limit in configs:
                        if round_ and 0 < limit < 64:
                            continue                  # slow and far from the choice: once
                        counted: Counting
                        if name == "threads":
                            wall, cpu = tree(emu, root, None, 8)
                            runs[(name, limit)].append((wall, cpu, "-"))
                            continue
                        if name.startswith("Local"):
                            counted = CountingClient(client, pure=False)
                            wall, cpu = tree(emu, root, counted, 8, limit)
                        else:
                            with CountingPool(2) as pool:
                                wall, cpu = tree(emu, root, pool, 8, limit)
                            counted = pool
                        each = counted.files / max(1, counted.tasks)
                        runs[(name, limit)].append((wall, cpu, f"{counted.tasks} ({each:.0f})"))
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
    print(table(rows, ["run", "seconds", "rate", "time vs threads"]))
    print("download runs (s), threads: " + ", ".join(f"{t:.2f}" for t in d_runs[0])
          + "; LocalCluster(2): " + ", ".join(f"{t:.2f}" for t in d_runs[1]))
    if not args.only_big:
        print(f"\n{args.files} x {args.file_size} B tree (medians of the rounds):")
        print(table(tree_rows(runs, args.files), ["run", "files/task limit", "tasks (files each)",
                                                  "rounds", "seconds", "rate", "time vs threads",
                                                  "this process's CPU ms/file"]))
    print(f"\nDask scheduler: {per_task_ms:.2f} ms per no-op task ({1000 / per_task_ms:,.0f} tasks/s, "
          f"{args.tasks} tasks, 2 workers)")
    print(f"{parts} parts of {args.part_mib} MiB, {args.threads} batches in flight: "
          f"{per} part(s) per task, {-(-parts // per)} tasks")
    print(f"Tree batches of up to {tree_batches.MAX_FILES} files: {per_task_ms / tree_batches.MAX_FILES:.3f} ms "
          f"of scheduler time per file ({per_task_ms:.2f} ms a task)")


if __name__ == "__main__":
    main()
