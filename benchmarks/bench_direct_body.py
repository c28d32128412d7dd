"""Same-process A/B of the download's body path: direct_body (socket straight into the
file) against the usual urllib3 ``readinto`` loop.

One process downloads the same object from the C sink of bench_wire.py (serves
zeros, costs next to nothing) over HTTP and HTTPS, alternating the two paths round
by round (the usual path is forced by making ``direct_body.receive`` decline), and
prints every run and the medians of this process's CPU time (user + system of all
its threads) per GiB and wall MiB/s.  Interpreter start-up and imports are outside
the measurement.  The page cache is written back and dropped before every run when
running as root.

    python benchmarks/bench_direct_body.py [--size-mib 1024] [--rounds 5] [--dir /dev/shm] [--no-tls]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_wire import WIRE, self_signed, start_sink  # noqa: E402
from bench_wire_download import drop_page_cache  # noqa: E402

import ossresume_c as oss  # noqa: E402
from ossresume_c import direct_body  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm")
    parser.add_argument("--no-tls", action="store_true")
    args = parser.parse_args()
    size = args.size_mib << 20
    work = Path(tempfile.mkdtemp(prefix="bench_direct_body_"))
    procs: List[subprocess.Popen] = []
    real = direct_body.receive
    try:
        sink = work / "sink"
        tls = not args.no_tls and shutil.which("openssl") is not None
        cmd = ["gcc", "-O2", "-pthread", "-o", str(sink), str(WIRE / "sink.c")]
        subprocess.run(cmd[:3] + ["-DSINK_TLS"] + cmd[3:] + ["-lssl", "-lcrypto"] if tls else cmd,
                       check=True)
        proc, port = start_sink(sink, work, "http", size)
        procs.append(proc)
        ends = [("HTTP", f"http://127.0.0.1:{port}", True)]
        if tls:
            cert, key = self_signed(work)
            proc, tls_port = start_sink(sink, work, "https", size, (cert, key))
            procs.append(proc)
            ends.append(("HTTPS", f"https://127.0.0.1:{tls_port}", cert))
        params = oss.create_resumable_clt_params(part_size=args.part_mib << 20,
                                                 thread_num=args.threads, enable_checkpoint=False)
        out = Path(args.dir) / f"bench_direct_body-{os.getpid()}.out"
        runs: Dict[str, List[Tuple[float, float]]] = {}
        gib = size / (1 << 30)
        warm = oss.request_options_create(endpoint=ends[0][1], access_key_id="bench",
                                          access_key_secret="bench", region="cn-hangzhou")
        # a first download loads the modules a download needs: not part of any measured run
        oss.resumable_download_file(warm, "bench", "object", str(out), clt_params=params)
        out.unlink(missing_ok=True)
        print(f"{args.size_mib} MiB, {args.part_mib} MiB parts, {args.threads} threads, "
              f"into {args.dir}; round | path | CPU s/GiB | MiB/s | load")
        for r in range(args.rounds):
            for proto, endpoint, verify in ends:
                options = oss.request_options_create(endpoint=endpoint, access_key_id="bench",
                                                     access_key_secret="bench",
                                                     region="cn-hangzhou", verify=verify)
                for path in (["direct", "urllib3"] if r % 2 == 0 else ["urllib3", "direct"]):
                    direct_body.receive = real if path == "direct" else (lambda *a: None)
                    drop_page_cache()
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    status = oss.resumable_download_file(options, "bench", "object", str(out),
                                                         clt_params=params)
                    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                    out.unlink(missing_ok=True)
                    if not status.is_ok():
                        raise SystemExit(f"{proto} {path}: {status}")
                    name = f"{proto} {path}"
                    runs.setdefault(name, []).append((cpu / gib, args.size_mib / wall))
                    print(f"{r + 1} | {name} | {cpu / gib:.2f} | {args.size_mib / wall:.0f} | "
                          f"{os.getloadavg()[0]:.1f}", flush=True)
        print("\n| path | CPU s/GiB (median) | MiB/s (median) | CPU vs urllib3 |")
        print("|---|---:|---:|---:|")
        for name, res in runs.items():
            cpu = statistics.median(c for c, _ in res)
            base = statistics.median(c for c, _ in runs[name.split()[0] + " urllib3"])
            print(f"| {name} | {cpu:.2f} | {statistics.median(m for _, m in res):.0f} | "
                  f"{cpu / base:.2f}x |")
    finally:
        direct_body.receive = real
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
