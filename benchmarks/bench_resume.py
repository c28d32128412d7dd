"""Resume pre-phase: time from the call to the first new part sent, for a large
file whose upload stopped at ~90%, page cache dropped, verify="all" (the old
behaviour: every finished part read back) against verify="sample" (the default:
parts recorded with the server's CRC-64 trusted, a bounded sample read).

    sudo python benchmarks/bench_resume.py [--sizes-gib 1 4] [--rounds 2]

Each measured resume runs in its own process after ``sync; echo 3 >
/proc/sys/vm/drop_caches`` (root; without it the table says "cache kept").  The
emulator answers every new UploadPart with 403, so the call returns right after
its first new part is sent and the upload's state is the same for every round;
the wall time of that call (modules imported before the cache is dropped) is
the pre-phase plus one round of rejected parts.  Prints one
table and the ratio all/sample per size, same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

from _harness import REPO, make_file, table

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c.emulator import start_emulator

MiB = 1 << 20
PART = 8 * MiB
THREADS = 4

CHILD = """
import sys, time, logging, ossresume_c as oss
import ossresume_c.upload, ossresume_c.transport, ossresume_c.ops, ossresume_c.reconcile
import ossresume_c.journal, ossresume_c.put_file, requests, urllib3
ep, ak, sk, path, mode = sys.argv[1:6]
print("ready", flush=True)
sys.stdin.readline()   # the parent drops the page cache now: only the file and checkpoint are cold
o = oss.request_options_create(endpoint=ep, access_key_id=ak, access_key_secret=sk,
                               region="cn-hangzhou", max_retries=0)
marks = []
class Mark(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("resuming upload"):
            marks.append(time.perf_counter())
log = logging.getLogger("ossresume_c")
log.setLevel(logging.INFO)
log.addHandler(Mark())
t = time.perf_counter()
s = oss.resumable_upload_file(o, "bench", "big.bin", path, None, None,
                              oss.create_resumable_clt_params({part}, {threads}, True, None),
                              verify=mode)
print(marks[0] - t, time.perf_counter() - t, s.code)
"""


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def stop_at_90(emu, path: str) -> float:
    """Upload ``path`` until ~90% of its parts are on the server, leaving the checkpoint."""
    parts = -(-os.path.getsize(path) // PART)
    emu.add_fault(op="UploadPart", action="status", status=403, nth=int(parts * 0.9) + 1)
    o = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                   access_key_secret=emu.access_key_secret, region="cn-hangzhou",
                                   max_retries=0)
    status = oss.resumable_upload_file(o, "bench", "big.bin", path, None, None,
                                       oss.create_resumable_clt_params(PART, THREADS, True, None))
    emu.clear_faults()
    assert status.code == 403, status
    cp = codec.load(open(path + ".ucp", "rb").read())
    return sum(p.completed for p in cp.parts) / len(cp.parts)


def resume_once(emu, path: str, mode: str) -> Tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(part=PART, threads=THREADS),
                             emu.endpoint, emu.access_key_id, emu.access_key_secret, path, mode],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    dropped = drop_caches()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out = proc.stdout.read().split()
    assert proc.wait() == 0 and out[2] == "403", out
    resume_once.dropped = dropped  # type: ignore[attr-defined]
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes-gib", type=float, nargs="+", default=[1, 4])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", default=None, help="where the file and the emulator's store go")
    args = ap.parse_args()
    rows = []
    for gib in args.sizes_gib:
        size = int(gib * 1024) * MiB
        with tempfile.TemporaryDirectory(dir=args.dir) as d, \
                start_emulator(root=os.path.join(d, "root"), buckets=["bench"],
                               benchmark_mode=True) as emu:
            path = os.path.join(d, "big.bin")
            make_file(Path(path), size)
            done = stop_at_90(emu, path)
            emu.add_fault(op="UploadPart", action="status", status=403)
            times: Dict[str, List[Tuple[float, float]]] = {"all": [], "sample": []}
            for r in range(args.rounds):
                for mode in (("all", "sample") if r % 2 == 0 else ("sample", "all")):
                    times[mode].append(resume_once(emu, path, mode))
            pre = {m: statistics.median(t[0] for t in ts) for m, ts in times.items()}
            call = {m: statistics.median(t[1] for t in ts) for m, ts in times.items()}
            rows.append([f"{gib:g} GiB", f"{100 * done:.0f}%", f"{done * size / 2**30:.2f}",
                         f"{pre['all']:.2f}", f"{pre['sample']:.2f}", f"{pre['all'] / pre['sample']:.1f}x",
                         f"{call['all']:.2f}", f"{call['sample']:.2f}"])
    cache = "page cache dropped" if getattr(resume_once, "dropped", False) else "cache kept (not root)"
    print(f"\nResume at ~90%: seconds from the call to the start of sending (pre-phase) and to the "
          f"call's return after its first new parts were sent and rejected (part {PART // MiB} MiB, "
          f"{THREADS} threads, median of {args.rounds}, {cache})\n")
    print(table(rows, ["file", "done", "GiB already uploaded", 'pre-phase, "all" (before) s',
                       'pre-phase, "sample" (default) s', "all / sample",
                       'to first part, "all" s', 'to first part, "sample" s']))


if __name__ == "__main__":
    main()
