"""Upload benchmark: this library vs oss2.resumable_upload vs the alibabacloud_oss_v2
uploader, same file, same emulator, same part size and thread count, alternating
runs; each client in its own process (CPU seconds and peak RSS of that process).

    python benchmarks/bench_upload.py [--size-mib 1024] [--rounds 3] [--part-mib 8] [--threads 4]

Also: bytes of checkpoint written during a 10000-part upload (our engine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import V2_PATH, Run, make_file, median_runs, run_client, table  # noqa: E402

from ossresume_c.emulator import start_emulator  # noqa: E402

OURS = """
import ossresume_c as oss, sys
o = oss.request_options_create(endpoint={ep!r}, access_key_id={ak!r}, access_key_secret={sk!r},
                               region="cn-hangzhou")
p = oss.create_resumable_clt_params({ps}, {th}, True, None)
s = oss.resumable_upload_file(o, {bucket!r}, {key!r}, {path!r}, clt_params=p)
print(s); sys.exit(0 if s.is_ok() else 1)
"""

OSS2 = """
import oss2, sys
from oss2 import utils
assert utils.crcmod is not None
auth = oss2.Auth({ak!r}, {sk!r})
b = oss2.Bucket(auth, {ep!r}, {bucket!r})
store = oss2.ResumableStore(root={tmp!r})
r = oss2.resumable_upload(b, {key!r}, {path!r}, store=store, multipart_threshold={ps}, part_size={ps},
                          num_threads={th})
print(r.status); sys.exit(0 if r.status == 200 else 1)
"""

V2 = """
import alibabacloud_oss_v2 as oss, sys
cfg = oss.config.load_default()
cfg.credentials_provider = oss.credentials.StaticCredentialsProvider({ak!r}, {sk!r})
cfg.region = "cn-hangzhou"; cfg.endpoint = {ep!r}; cfg.use_path_style = True
c = oss.Client(cfg)
u = c.uploader(part_size={ps}, parallel_num={th}, leave_parts_on_error=True)
r = u.upload_file(oss.PutObjectRequest(bucket={bucket!r}, key={key!r}), filepath={path!r})
print(r.status_code); sys.exit(0 if r.status_code == 200 else 1)
"""


def delete_object(emu, bucket: str, key: str) -> None:
    import ossresume_c as oss
    from ossresume_c import ops
    from ossresume_c.transport import Transport
    o = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                   access_key_secret=emu.access_key_secret, region="cn-hangzhou")
    with Transport(o) as t:
        status = ops.delete_object(t, bucket, key)
    assert status.code == 204, status


def checkpoint_bytes_10000_parts(emu, bucket: str, tmp: Path) -> dict:
    """Run our engine in-process on a 10000-part upload, then a 10000-part download
    of the object, and read their checkpoint and journal counters."""
    import ossresume_c as oss
    from ossresume_c.download import DownloadJob
    from ossresume_c.upload import UploadJob
    path = tmp / "cp10000.bin"
    make_file(path, 10000 * 102400)
    o = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                   access_key_secret=emu.access_key_secret, region="cn-hangzhou")
    job = UploadJob(o, bucket, "cp10000.bin", str(path), None,
                    oss.create_resumable_clt_params(102400, 4, True, None), None, 1.0)
    status = job.run()
    path.unlink()
    assert status.is_ok(), status
    down = DownloadJob(o, bucket, "cp10000.bin", str(path), None,
                       oss.create_resumable_clt_params(102400, 4, True, None), None, 1.0)
    status = down.run()
    path.unlink()
    assert status.is_ok(), status
    return {"uploaded": 10000 * 102400, "checkpoint_writes": job.cpfile.writes,
            "checkpoint_bytes": job.cpfile.bytes_written,
            "journal_bytes": job.journal.bytes_written if job.journal else 0,
            "download_checkpoint_writes": down.cpfile.writes,
            "download_checkpoint_bytes": down.cpfile.bytes_written,
            "download_journal_bytes": down.journal.bytes_written if down.journal else 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--part-mib", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--benchmark-mode", action="store_true",
                    help="emulator skips MD5 (ETag from CRC-64) so that it is not the limit")
    ap.add_argument("--skip-checkpoint", action="store_true")
    ap.add_argument("--only-checkpoint", action="store_true",
                    help="only the 10000-part checkpoint and journal measurement")
    args = ap.parse_args()
    size = args.size_mib << 20
    ps = args.part_mib << 20
    clients = ["ossresume_c", "oss2"] + (["oss-v2"] if V2_PATH.is_dir() else [])
    if args.only_checkpoint:
        with tempfile.TemporaryDirectory() as d, \
                start_emulator(root=os.path.join(d, "root"), buckets=["bench"]) as emu:
            report_checkpoint_bytes(checkpoint_bytes_10000_parts(emu, "bench", Path(d)))
        return
    with tempfile.TemporaryDirectory() as d, \
            start_emulator(root=os.path.join(d, "root"), buckets=["bench"],
                           benchmark_mode=args.benchmark_mode) as emu:
        tmp = Path(d)
        path = tmp / "file.bin"
        make_file(path, size)
        fmt = dict(ep=emu.endpoint, ak=emu.access_key_id, sk=emu.access_key_secret, bucket="bench",
                   path=str(path), ps=ps, th=args.threads, tmp=str(tmp / "oss2store"))
        runs: dict = {c: [] for c in clients}
        for r in range(args.rounds):
            order = clients[r % len(clients):] + clients[:r % len(clients)]
            for c in order:
                key = f"{c}-{r}.bin"
                if c == "ossresume_c":
                    run = run_client(c, OURS.format(key=key, **fmt))
                elif c == "oss2":
                    run = run_client(c, OSS2.format(key=key, **fmt))
                else:
                    run = run_client(c, V2.format(key=key, **fmt), pythonpath=str(V2_PATH))
                if not run.ok:
                    print(f"{c} failed:\n{run.output}", file=sys.stderr)
                runs[c].append(run)
                # every client starts from the same state: the emulator's store does not
                # grow by a GiB per run (dirty pages of earlier runs would slow later ones)
                delete_object(emu, "bench", key)
        med = {c: median_runs(rs) for c, rs in runs.items()}
        gib = size / 2**30
        rows = []
        for c in clients:
            m: Run = med[c]
            rows.append([c, f"{m.wall:.2f}", f"{size / m.wall / 2**20:.0f}", f"{m.cpu / gib:.2f}",
                         f"{m.max_rss_mib:.0f}", f"{med['ossresume_c'].wall and m.wall / med['ossresume_c'].wall:.2f}x",
                         "ok" if m.ok else "FAILED"])
        print(f"\nUpload {args.size_mib} MiB, part {args.part_mib} MiB, {args.threads} threads, "
              f"{args.rounds} alternating rounds (median), emulator "
              f"{'benchmark mode' if args.benchmark_mode else 'with MD5 ETags'}\n")
        print(table(rows, ["client", "wall s", "MiB/s", "CPU s/GiB", "peak RSS MiB",
                           "time vs ossresume_c", "status"]))
        ours = med["ossresume_c"]
        print("\nTargets:")
        if "oss2" in med and med["oss2"].ok:
            print(f"  throughput vs oss2: {med['oss2'].wall / ours.wall:.2f}x (target >= 3x)")
            print(f"  CPU/GiB vs oss2: {ours.cpu / med['oss2'].cpu:.2f} (target <= 0.33)")
        if "oss-v2" in med and med["oss-v2"].ok:
            print(f"  throughput vs oss-v2: {med['oss-v2'].wall / ours.wall:.2f}x (target >= 2x)")
        print(f"  peak RSS: {ours.max_rss_mib:.0f} MiB (bound 100 MiB + threads x part = "
              f"{100 + args.threads * args.part_mib} MiB)")
        if not args.skip_checkpoint:
            report_checkpoint_bytes(checkpoint_bytes_10000_parts(emu, "bench", tmp))


def report_checkpoint_bytes(cp: dict) -> None:
    for what, pre in (("upload", ""), ("download", "download_")):
        total = cp[pre + "checkpoint_bytes"] + cp[pre + "journal_bytes"]
        print(f"\n10000-part {what} (100 KiB parts): {cp[pre + 'checkpoint_writes']} checkpoint writes, "
              f"{cp[pre + 'checkpoint_bytes']} bytes + journal {cp[pre + 'journal_bytes']} bytes = "
              f"{100 * total / cp['uploaded']:.3f}% of {cp['uploaded']} transferred (target < 1%)")
    print(json.dumps(cp))


if __name__ == "__main__":
    main()
