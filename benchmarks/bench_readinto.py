"""Download body reading: bodyread's direct http.client path against urllib3's readinto.

One process downloads the same object from the C sink (benchmarks/wire/sink.c) again and
again, alternating the two ways of draining each part body (the download engine asks
``download.readinto_for``; the baseline swaps in ``resp.raw.readinto``); CPU is
``time.process_time`` of the whole process (every thread) around each download.

    python benchmarks/bench_readinto.py [--size-mib 256] [--rounds 6] [--tls]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, table  # noqa: E402
from bench_wire import build, self_signed, start_sink  # noqa: E402

sys.path.insert(0, str(REPO))
import ossresume_c as oss  # noqa: E402
from ossresume_c import download  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    size = args.size_mib << 20
    work = Path(tempfile.mkdtemp(prefix="bench_readinto_"))
    sink = None
    try:
        bins = build(work, args.tls)
        tls = self_signed(work) if args.tls else None
        sink, port = start_sink(bins["sink"], work, "sink", size, tls)
        options = oss.request_options_create(
            endpoint=f"{'https' if tls else 'http'}://127.0.0.1:{port}", access_key_id="bench",
            access_key_secret="bench", region="cn-hangzhou", verify=tls[0] if tls else True)
        params = oss.create_resumable_clt_params(part_size=8 << 20, thread_num=4,
                                                 enable_checkpoint=False)
        ways = {"urllib3 resp.raw.readinto": lambda resp: resp.raw.readinto,
                "bodyread (http.client direct)": download.readinto_for}
        cpu = {name: [] for name in ways}
        names = list(ways)
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                download.readinto_for = ways[name]  # type: ignore[assignment]
                start = time.process_time()
                status = oss.resumable_download_file(options, "bench", "object",
                                                     str(work / "out"), clt_params=params)
                cpu[name].append(time.process_time() - start)
                if not status.is_ok():
                    raise SystemExit(f"{name}: {status}")
        gib = size / (1 << 30)
        base = statistics.median(cpu[names[0]])
        load = os.getloadavg()
        print(f"{args.size_mib} MiB {'HTTPS' if tls else 'HTTP'}, 8 MiB parts, 4 threads, "
              f"{args.rounds} alternating rounds; load average {load[0]:.1f} on "
              f"{os.cpu_count()} CPUs")
        print(table([[name, f"{statistics.median(v) / gib:.2f}",
                      " ".join(f"{x / gib:.2f}" for x in v),
                      f"{statistics.median(v) / base:.2f}"] for name, v in cpu.items()],
                    ["body reader", "CPU s/GiB (median)", "every round", "vs urllib3"]))
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
