"""Tree benchmark: ``upload_tree`` vs a plain oss2 ThreadPoolExecutor of
``put_object_from_file``, in the same run, against a server that is not the bottleneck.

    python benchmarks/bench_tree.py [--files 5000] [--threads 16] [--rounds 3]
        [--trees 10000,100000] [--rerun 0] [--mixed-big-mib 0] [--mixed-small 10000]

Server: ``tree_sink`` (benchmarks/tree_sink.c, compiled here with ``cc``), one C
thread on epoll; its requests/s ceiling is measured first with a minimal pipelined
client and must be at least 5x what the clients reach.  ``--rerun N`` uploads an N-file
tree and then times the re-run and counts its requests (the sink remembers keys, sizes
and CRC-64s, and lists them).  Each client runs in its own process; CPU is that process's
user+system time over the upload itself (getrusage), RSS its peak (VmHWM).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, run_client, table  # noqa: E402

AK, SK = "ossresume-emulator-ak", "ossresume-emulator-secret"

# Every client prints one JSON line: {"files":, "wall":, "cpu":, "first":, ...}
MEASURE = """
import json, os, resource, sys, time
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
"""

OSS2_POOL = MEASURE + """
import oss2
from concurrent.futures import ThreadPoolExecutor
auth = oss2.Auth({ak!r}, {sk!r})
b = oss2.Bucket(auth, {ep!r}, "bench")
root = {root!r}
c0, w0 = _cpu(), time.perf_counter()
def put(rel):
    b.put_object_from_file("oss2/" + rel, os.path.join(root, rel))
def rels():
    for d, _dirs, files in os.walk(root):
        for f in files:
            yield os.path.relpath(os.path.join(d, f), root)
with ThreadPoolExecutor({threads}) as pool:
    n = sum(1 for _ in pool.map(put, rels()))
print(json.dumps(dict(files=n, wall=time.perf_counter() - w0, cpu=_cpu() - c0)))
"""

OURS = MEASURE + """
import ossresume_c as oss
from ossresume_c.bulk import upload_tree
o = oss.request_options_create(endpoint={ep!r}, access_key_id={ak!r}, access_key_secret={sk!r},
                               region="cn-hangzhou")
first, big_done = [], [0.0]
c0, w0 = _cpu(), time.perf_counter()
def on_file(outcome):
    if not first and outcome.action == "uploaded":
        first.append(time.perf_counter() - w0)
    if outcome.size >= 1 << 20:
        big_done[0] = time.perf_counter() - w0
s = upload_tree(o, {root!r}, "bench", {prefix!r}, threads={threads}, manifest={manifest!r},
                keep_keys=False, on_file=on_file, checkpoint_dir={cp!r})
wall, cpu = time.perf_counter() - w0, _cpu() - c0
print(json.dumps(dict(files=s.counts["uploaded"], skipped=s.counts["skipped"],
                      failed=s.counts["failed"], wall=wall, cpu=cpu, first=first[0] if first else None,
                      requests=s.requests, pages=s.list_pages, big_done=big_done[0], summary=str(s))))
"""

SINGLE = MEASURE + """
import ossresume_c as oss
o = oss.request_options_create(endpoint={ep!r}, access_key_id={ak!r}, access_key_secret={sk!r},
                               region="cn-hangzhou")
p = oss.create_resumable_clt_params(0, {threads}, False, None)
c0, w0 = _cpu(), time.perf_counter()
for path in {paths!r}:
    s = oss.resumable_upload_file(o, "bench", "single/" + os.path.basename(path), path, clt_params=p)
    assert s.is_ok(), s
print(json.dumps(dict(files=len({paths!r}), wall=time.perf_counter() - w0, cpu=_cpu() - c0)))
"""

# A minimal client: C connections, each sending batches of pipelined 4 KiB PUTs.
CEILING = """
import socket, sys, threading, time
port, conns, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
body = b"x" * 4096
req = (b"PUT /bench/k HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 4096\\r\\n\\r\\n" + body) * 64
done = [0]
stop = time.perf_counter() + seconds
def run():
    s = socket.create_connection(("127.0.0.1", port))
    while time.perf_counter() < stop:
        s.sendall(req)
        got = b""
        while got.count(b"HTTP/1.1 200") < 64:
            got += s.recv(1 << 20)
        done[0] += 64
threads = [threading.Thread(target=run) for _ in range(conns)]
t0 = time.perf_counter()
[t.start() for t in threads]; [t.join() for t in threads]
print(done[0] / (time.perf_counter() - t0))
"""


def build_sink(work: Path) -> Path:
    exe = work / "tree_sink"
    src = REPO / "csrc"
    subprocess.run(["cc", "-O2", "-D_GNU_SOURCE", f"-I{src}", "-o", str(exe),
                    str(REPO / "benchmarks" / "tree_sink.c"), str(src / "crc64.c"),
                    str(src / "crc64_x86.c"), str(src / "crc64_arm.c")], check=True)
    return exe


def start_sink(exe: Path):
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    port = int(line.rsplit(":", 1)[1])
    return proc, port


def ceiling(port: int) -> float:
    """Requests/s of the sink under two pipelining client processes."""
    procs = [subprocess.Popen([sys.executable, "-c", CEILING, str(port), "4", "2"],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    return sum(float(p.communicate()[0]) for p in procs)


def make_tree(root: Path, count: int, size: int, per_dir: int = 1000) -> None:
    for i in range(count):
        d = root / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:07d}.bin").write_bytes(os.urandom(size))


def client(name: str, code: str) -> Dict:
    run = run_client(name, code, pythonpath=str(REPO))
    lines = [ln for ln in run.output.splitlines() if ln.startswith("{")]
    if not run.ok or not lines:
        raise SystemExit(f"{name} failed:\n{run.output}")
    result = json.loads(lines[-1])
    result["rss"] = run.max_rss_mib
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=5000, help="files of the oss2 comparison (0: skip)")
    ap.add_argument("--file-size", type=int, default=4096)
    ap.add_argument("--discard-row", action="store_true",
                    help="also run upload_tree against the emulator in --discard mode")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trees", default="10000,100000", help="tiny-file tree sizes ('' for none)")
    ap.add_argument("--rerun", type=int, default=0, help="files in the emulator re-run tree (0: skip)")
    ap.add_argument("--mixed-big-mib", type=int, default=0, help="size of each big file (0: skip)")
    ap.add_argument("--mixed-big", type=int, default=2)
    ap.add_argument("--mixed-small", type=int, default=10000)
    ap.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-tree-"))
    work.mkdir(parents=True, exist_ok=True)
    exe = build_sink(work)
    sink, port = start_sink(exe)
    ep = f"http://127.0.0.1:{port}"
    kw = dict(ep=ep, ak=AK, sk=SK, threads=args.threads, manifest=False, cp=str(work / "cp"))
    try:
        ceil = ceiling(port)
        print(f"sink ceiling (minimal pipelined client, 2 processes x 4 connections): {ceil:,.0f} req/s")

        # 1. many small files vs the plain oss2 pool
        if args.files:
            tree = work / "small"
            make_tree(tree, args.files, args.file_size)
            rows, ours_all, oss2_all = [], [], []
            for r in range(args.rounds):
                oss2_all.append(client("oss2 pool", OSS2_POOL.format(root=str(tree), **kw)))
                ours_all.append(client("upload_tree", OURS.format(root=str(tree), prefix=f"r{r}/", **kw)))
            med = lambda xs, k: sorted(x[k] for x in xs)[len(xs) // 2]  # noqa: E731
            o_fps, p_fps = args.files / med(ours_all, "wall"), args.files / med(oss2_all, "wall")
            o_cpu, p_cpu = med(ours_all, "cpu") / args.files * 1e3, med(oss2_all, "cpu") / args.files * 1e3
            rows.append(["oss2 ThreadPoolExecutor(put_object_from_file)", f"{p_fps:,.0f}", f"{p_cpu:.3f}", "1.00x", "1.00x"])
            rows.append(["ossresume_c upload_tree", f"{o_fps:,.0f}", f"{o_cpu:.3f}", f"{o_fps / p_fps:.2f}x",
                         f"{o_cpu / p_cpu:.2f}x"])
            print(f"\n{args.files} files x {args.file_size} B, {args.threads} in flight, median of {args.rounds}:")
            print(table(rows, ["client", "files/s", "CPU ms/file", "files/s vs oss2", "CPU vs oss2"]))
            print(f"sink ceiling / fastest client = {ceil / max(o_fps, p_fps):.1f}x")
            if args.discard_row:
                # the same client against the embedded emulator in --discard mode: is it the limit?
                from ossresume_c.emulator import start_emulator
                with start_emulator(root=str(work / "emu"), buckets=["bench"], discard=True) as emu:
                    res = client("upload_tree vs emulator", OURS.format(
                        root=str(tree), prefix="e/", **dict(kw, ep=emu.endpoint)))
                print(f"the same upload_tree against the emulator --discard: {args.files / res['wall']:,.0f} files/s "
                      f"(vs {o_fps:,.0f} against the sink)")
            shutil.rmtree(tree)

        # 2. tiny-file trees: first file, RSS, files/s (each row printed before its tree is
        #    deleted: removing a million files takes longer than uploading them)
        sizes = [int(x) for x in args.trees.split(",") if x]
        if sizes:
            print(f"\ntrees of 100 B files, {args.threads} in flight:")
            header = ["files", "first file s", "peak RSS MiB", "files/s", "wall s", "failed"]
            print(table([], header))
        for n in sizes:
            tree = work / f"tiny{n}"
            make_tree(tree, n, 100)
            res = client("upload_tree", OURS.format(root=str(tree), prefix=f"t{n}/", **kw))
            row = [f"{n:,}", f"{res['first']:.3f}", f"{res['rss']:.1f}", f"{res['files'] / res['wall']:,.0f}",
                   f"{res['wall']:.1f}", str(res["failed"])]
            print(table([row], header).splitlines()[-1], flush=True)
            shutil.rmtree(tree)

        # 3. mixed tree: big files keep their throughput while the small ones flow
        if args.mixed_big_mib:
            tree = work / "mixed"
            make_tree(tree, args.mixed_small, 4096)
            bigs = []
            for i in range(args.mixed_big):
                path = tree / f"big{i}.bin"
                with open(path, "wb") as fh:
                    block = os.urandom(1 << 20)
                    for _ in range(args.mixed_big_mib):
                        fh.write(block)
                bigs.append(str(path))
            big_bytes = args.mixed_big * args.mixed_big_mib << 20
            alone = client("single-file engine", SINGLE.format(paths=bigs, **kw))
            mixed = client("upload_tree mixed", OURS.format(root=str(tree), prefix="mixed/", **kw))
            # the big files sort first (b < d), so they start with the run: their throughput
            # in it is their bytes over the time the last of them finished
            big_wall = max(1e-9, mixed["big_done"])
            rows = [["single-file engine, big files alone, one after the other",
                     f"{big_bytes / alone['wall'] / 2**20:,.0f}", "1.00x", "-"],
                    ["upload_tree, big files among the small ones",
                     f"{big_bytes / big_wall / 2**20:,.0f}", f"{alone['wall'] / big_wall:.2f}x",
                     f"{mixed['files'] - args.mixed_big:,} small files done in {mixed['wall']:.1f} s"]]
            print(f"\nmixed tree: {args.mixed_big} x {args.mixed_big_mib} MiB among {args.mixed_small:,} x 4 KiB, "
                  f"{args.threads} in flight:")
            print(table(rows, ["what", "big-file MiB/s", "vs alone", "small files"]))
            shutil.rmtree(tree)
        # 4. re-run over an unchanged tree: list pages only (the sink lists what was put)
        if args.rerun:
            rerun(args, work, port)
    finally:
        sink.terminate()
        sink.wait()
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


def served(port: int) -> int:
    """Requests the sink has answered."""
    from urllib.request import urlopen
    with urlopen(f"http://127.0.0.1:{port}/_count") as resp:  # noqa: S310 - loopback only
        return int(resp.read())


def rerun(args: argparse.Namespace, work: Path, port: int) -> None:
    """Upload an N-file tree, then run again over it unchanged: list pages only."""
    tree = work / "rerun"
    make_tree(tree, args.rerun, 100)
    kw = dict(ep=f"http://127.0.0.1:{port}", ak=AK, sk=SK, threads=args.threads,
              manifest=str(work / "m.sqlite"), cp=str(work / "cp"))
    first = client("upload_tree first run", OURS.format(root=str(tree), prefix="rr/", **kw))
    before = served(port)
    again = client("upload_tree re-run", OURS.format(root=str(tree), prefix="rr/", **kw))
    seen = served(port) - before
    pages = -(-args.rerun // 1000)
    rows = [["first run", f"{first['files']:,} uploaded", str(first["requests"]), f"{first['wall']:.1f}",
             f"{first['cpu']:.1f}", f"{first['rss']:.0f}"],
            ["re-run, unchanged", f"{again['skipped']:,} skipped", f"{again['requests']} (sink saw {seen})",
             f"{again['wall']:.1f}", f"{again['cpu']:.1f}", f"{again['rss']:.0f}"]]
    print(f"\nre-run over an unchanged tree of {args.rerun:,} files (ceil(N/1000) = {pages} list pages):")
    print(table(rows, ["run", "files", "requests", "wall s", "client CPU s", "peak RSS MiB"]))
    shutil.rmtree(tree)


if __name__ == "__main__":
    main()
