"""Download benchmark: this library vs oss2.resumable_download vs the
alibabacloud_oss_v2 downloader: same object, same emulator, same part size and
thread count, alternating runs, each client in its own process.

    python benchmarks/bench_download.py [--size-mib 1024] [--rounds 3] [--part-mib 8] [--threads 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import V2_PATH, make_file, median_runs, run_client, table  # noqa: E402

import ossresume_c as oss  # noqa: E402
from ossresume_c.emulator import start_emulator  # noqa: E402

OURS = """
import ossresume_c as oss, sys
o = oss.request_options_create(endpoint={ep!r}, access_key_id={ak!r}, access_key_secret={sk!r},
                               region="cn-hangzhou")
p = oss.create_resumable_clt_params({ps}, {th}, True, None)
s = oss.resumable_download_file(o, "bench", "obj.bin", {out!r}, clt_params=p)
print(s); sys.exit(0 if s.is_ok() else 1)
"""

OSS2 = """
import oss2, sys
from oss2 import utils
assert utils.crcmod is not None
b = oss2.Bucket(oss2.Auth({ak!r}, {sk!r}), {ep!r}, "bench")
oss2.resumable_download(b, "obj.bin", {out!r}, multiget_threshold={ps}, part_size={ps}, num_threads={th},
                        store=oss2.ResumableDownloadStore(root={tmp!r}))
"""

V2 = """
import alibabacloud_oss_v2 as oss, sys
cfg = oss.config.load_default()
cfg.credentials_provider = oss.credentials.StaticCredentialsProvider({ak!r}, {sk!r})
cfg.region = "cn-hangzhou"; cfg.endpoint = {ep!r}; cfg.use_path_style = True
d = oss.Client(cfg).downloader(part_size={ps}, parallel_num={th})
r = d.download_file(oss.GetObjectRequest(bucket="bench", key="obj.bin"), filepath={out!r})
print(r.written)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--part-mib", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    size = args.size_mib << 20
    ps = args.part_mib << 20
    clients = ["ossresume_c", "oss2"] + (["oss-v2"] if V2_PATH.is_dir() else [])
    with tempfile.TemporaryDirectory() as d, \
            start_emulator(root=os.path.join(d, "root"), buckets=["bench"]) as emu:
        tmp = Path(d)
        src = tmp / "src.bin"
        make_file(src, size)
        o = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                       access_key_secret=emu.access_key_secret, region="cn-hangzhou")
        st = oss.resumable_upload_file(o, "bench", "obj.bin", str(src),
                                       clt_params=oss.create_resumable_clt_params(ps, 4, False, None))
        assert st.is_ok(), st
        src.unlink()
        runs: dict = {c: [] for c in clients}
        for r in range(args.rounds):
            order = clients[r % len(clients):] + clients[:r % len(clients)]
            for c in order:
                out = tmp / f"out-{c}-{r}.bin"
                fmt = dict(ep=emu.endpoint, ak=emu.access_key_id, sk=emu.access_key_secret, out=str(out),
                           ps=ps, th=args.threads, tmp=str(tmp / "oss2store"))
                code = {"ossresume_c": OURS, "oss2": OSS2, "oss-v2": V2}[c].format(**fmt)
                run = run_client(c, code, pythonpath=str(V2_PATH) if c == "oss-v2" else None)
                if run.ok and (not out.exists() or out.stat().st_size != size):
                    run.ok = False
                if not run.ok:
                    print(f"{c} failed:\n{run.output}", file=sys.stderr)
                runs[c].append(run)
                if out.exists():
                    out.unlink()
        med = {c: median_runs(rs) for c, rs in runs.items()}
        gib = size / 2**30
        rows = [[c, f"{m.wall:.2f}", f"{size / m.wall / 2**20:.0f}", f"{m.cpu / gib:.2f}",
                 f"{m.max_rss_mib:.0f}", "ok" if m.ok else "FAILED"] for c, m in med.items()]
        print(f"\nDownload {args.size_mib} MiB, part {args.part_mib} MiB, {args.threads} threads, "
              f"{args.rounds} alternating rounds (median)\n")
        print(table(rows, ["client", "wall s", "MiB/s", "CPU s/GiB", "peak RSS MiB", "status"]))
        ours = med["ossresume_c"]
        if med.get("oss2") and med["oss2"].ok:
            print(f"\nthroughput vs oss2: {med['oss2'].wall / ours.wall:.2f}x (target >= 2x)")
        if med.get("oss-v2") and med["oss-v2"].ok:
            print(f"throughput vs oss-v2: {med['oss-v2'].wall / ours.wall:.2f}x")


if __name__ == "__main__":
    main()
