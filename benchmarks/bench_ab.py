"""Before/after benchmark of this library alone: two source trees (e.g. the last
commit before a change and the working tree) upload and download the same file
through one emulator, alternately, each run in its own process; medians and the
after/before ratio.  On a shared, loaded machine this same-run ratio is the
figure to trust, not the absolute speeds.

    git archive BASE ossresume_c | tar -x -C /tmp/base
    cp ossresume_c/_native.abi3.so /tmp/base/ossresume_c/
    python benchmarks/bench_ab.py --before /tmp/base --after . [--size-mib 256] [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import make_file, run_client, table  # noqa: E402

from ossresume_c.emulator import start_emulator  # noqa: E402

PRELUDE = """
import ossresume_c as oss, os, sys
assert os.path.realpath(oss.__file__).startswith({tree!r}), oss.__file__
o = oss.request_options_create(endpoint={ep!r}, access_key_id={ak!r}, access_key_secret={sk!r},
                               region="cn-hangzhou")
p = oss.create_resumable_clt_params({ps}, {th}, True, None)
"""
UPLOAD = PRELUDE + """
s = oss.resumable_upload_file(o, "bench", {key!r}, {path!r}, clt_params=p)
print(s); sys.exit(0 if s.is_ok() else 1)
"""
DOWNLOAD = PRELUDE + """
s = oss.resumable_download_file(o, "bench", "source.bin", {out!r}, clt_params=p)
print(s); sys.exit(0 if s.is_ok() else 1)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="a tree holding ossresume_c/ (with its _native)")
    ap.add_argument("--after", required=True)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--part-mib", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    trees = {"before": os.path.realpath(args.before), "after": os.path.realpath(args.after)}
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory() as d, \
            start_emulator(root=os.path.join(d, "root"), buckets=["bench"], benchmark_mode=True) as emu:
        path = Path(d) / "file.bin"
        make_file(path, size)
        fmt = dict(ep=emu.endpoint, ak=emu.access_key_id, sk=emu.access_key_secret, path=str(path),
                   ps=args.part_mib << 20, th=args.threads)

        def run(name: str, code: str, tree: str):
            result = run_client(name, code, pythonpath=tree)
            if not result.ok:
                sys.exit(f"{name} failed:\n{result.output}")
            return result

        run("source", UPLOAD.format(key="source.bin", tree=trees["after"], **fmt), trees["after"])
        runs: dict = {(op, t): [] for op in ("upload", "download") for t in trees}
        for r in range(args.rounds):
            for t in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                runs[("upload", t)].append(run(t, UPLOAD.format(key=f"{t}-{r}.bin", tree=trees[t], **fmt),
                                               trees[t]))
                out = os.path.join(d, f"{t}-{r}.out")
                runs[("download", t)].append(run(t, DOWNLOAD.format(out=out, tree=trees[t], **fmt), trees[t]))
                os.unlink(out)
        gib = size / 2**30
        rows = []
        for op in ("upload", "download"):
            wall = {t: statistics.median(x.wall for x in runs[(op, t)]) for t in trees}
            for t in trees:
                cpu = statistics.median(x.cpu for x in runs[(op, t)])
                rows.append([op, t, f"{wall[t]:.2f}", f"{size / wall[t] / 2**20:.0f}", f"{cpu / gib:.2f}",
                             f"{wall[t] / wall['before']:.2f}"])
        print(f"\n{args.size_mib} MiB, part {args.part_mib} MiB, {args.threads} threads, {args.rounds} "
              f"alternating rounds (median), emulator in benchmark mode\n")
        print(table(rows, ["op", "tree", "wall s", "MiB/s", "CPU s/GiB", "after/before wall"]))


if __name__ == "__main__":
    main()
