"""Client CPU of a download's part GETs: the lean path (part_get.py) against requests, same process.

Both paths download the same object from the C sink of bench_wire.py (serves zeros,
costs almost nothing) into tmpfs (/dev/shm; no disk), with the same part size and
threads, inside one warm process, so interpreter start-up and imports are outside
the figure (bench_wire_download.py measures whole processes).  The two paths are
picked per run with ``OSSRESUME_PART_GETTER`` (``lean`` / ``requests``), in
alternating order; each run's CPU is this process's user + system time
(``time.process_time``: all threads; the sink is another process).  Printed: every
run, then medians per GiB and per part, and lean / requests.

    python benchmarks/bench_part_get.py [--size-mib 512] [--part-kib 1024 8192]
        [--threads 4] [--rounds 5] [--no-tls]
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
from _harness import table  # noqa: E402
from bench_wire import WIRE, self_signed, start_sink  # noqa: E402

import ossresume_c as oss  # noqa: E402

GETTERS = ("lean", "requests")


def download(endpoint: str, verify: str, path: Path, part: int, threads: int) -> Tuple[float, float]:
    """(wall s, CPU s of this process) of one download."""
    options = oss.request_options_create(endpoint=endpoint, access_key_id="bench",
                                         access_key_secret="bench", region="cn-hangzhou",
                                         verify=verify if verify != "-" else True)
    params = oss.create_resumable_clt_params(part_size=part, thread_num=threads, enable_checkpoint=False)
    cpu, wall = time.process_time(), time.perf_counter()
    status = oss.resumable_download_file(options, "bench", "object", str(path), clt_params=params)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if not status.is_ok():
        raise SystemExit(f"download failed: {status}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--part-kib", type=int, nargs="+", default=[1024, 8192])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-tls", action="store_true")
    args = parser.parse_args()
    size = args.size_mib << 20
    work = Path(tempfile.mkdtemp(prefix="bench_part_get_"))
    target_dir = Path(tempfile.mkdtemp(prefix="bench_part_get_", dir="/dev/shm"))
    procs: List[subprocess.Popen] = []
    try:
        subprocess.run(["gcc", "-O2", "-pthread", "-DSINK_TLS", "-o", str(work / "sink"),
                        str(WIRE / "sink.c"), "-lssl", "-lcrypto"], check=True)
        sink, port = start_sink(work / "sink", work, "http", size)
        procs.append(sink)
        ends = [("HTTP", f"http://127.0.0.1:{port}", "-")]
        if not args.no_tls and shutil.which("openssl"):
            cert, key = self_signed(work)
            tls_sink, tls_port = start_sink(work / "sink", work, "https", size, (cert, key))
            procs.append(tls_sink)
            ends.append(("HTTPS", f"https://127.0.0.1:{tls_port}", cert))
        rows = [(proto, endpoint, verify, part << 10, getter)
                for proto, endpoint, verify in ends for part in args.part_kib for getter in GETTERS]
        runs: Dict[Tuple[str, int, str], List[Tuple[float, float]]] = {r[:1] + r[3:]: [] for r in rows}
        out = target_dir / "out"
        for proto, endpoint, verify in ends:       # warm: imports (requests too), TLS contexts
            for getter in GETTERS:
                os.environ["OSSRESUME_PART_GETTER"] = getter
                download(endpoint, verify, out, 8 << 20, args.threads)
                os.unlink(out)
        print(f"{args.size_mib} MiB into tmpfs, {args.threads} threads, {args.rounds} alternating rounds")
        print("round | protocol | part KiB | getter | wall s | CPU s/GiB")
        gib = size / (1 << 30)
        for r in range(args.rounds):
            for proto, endpoint, verify, part, getter in (rows if r % 2 == 0 else rows[::-1]):
                os.environ["OSSRESUME_PART_GETTER"] = getter
                wall, cpu = download(endpoint, verify, out, part, args.threads)
                os.unlink(out)
                runs[(proto, part, getter)].append((wall, cpu))
                print(f"{r + 1} | {proto} | {part >> 10} | {getter} | {wall:.2f} | {cpu / gib:.3f}",
                      flush=True)
        body = []
        for (proto, part, getter), res in runs.items():
            cpu = statistics.median(c for _, c in res)
            base = statistics.median(c for _, c in runs[(proto, part, "requests")])
            parts = -(-size // part)
            body.append([proto, str(part >> 10), getter,
                         f"{statistics.median(size / (1 << 20) / w for w, _ in res):.0f}",
                         f"{cpu / gib:.3f}", f"{cpu / parts * 1e6:.0f}", f"{cpu / base:.2f}x"])
        print(f"\nload average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs\n")
        print(table(body, ["protocol", "part KiB", "getter", "MiB/s", "CPU s/GiB", "CPU us/part",
                           "CPU vs requests"]))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(target_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
