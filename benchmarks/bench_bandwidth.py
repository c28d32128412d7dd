"""How precisely ``--bandwidth`` (one token bucket over all threads) holds its rate.

Against the emulator (benchmark mode), in one run: an uncapped upload first (the
ceiling: the cap means nothing above it), then uploads and downloads capped at
RATE, each moving RATE x SECONDS bytes, measured over the whole call.  The goal:
every capped transfer within 5% of RATE.

    python benchmarks/bench_bandwidth.py [--rate 50MiB/s] [--seconds 10] [--threads 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import make_file, table  # noqa: E402

import ossresume_c as oss  # noqa: E402
from ossresume_c.cli_common import bandwidth_arg, human_size  # noqa: E402
from ossresume_c.emulator import start_emulator  # noqa: E402

BUCKET = "bench-bandwidth"


def _timed(call) -> float:
    started = time.perf_counter()
    status = call()
    elapsed = time.perf_counter() - started
    if not status.is_ok():
        raise SystemExit(f"transfer failed: {status}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=bandwidth_arg, default=50 << 20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--part-size", type=bandwidth_arg, default=8 << 20)
    args = parser.parse_args()
    size = int(args.rate * args.seconds)
    rows = []
    verdicts = []
    with tempfile.TemporaryDirectory() as work, start_emulator(buckets=[BUCKET], benchmark_mode=True) as emu:
        path = Path(work) / "data.bin"
        make_file(path, size)
        params = oss.create_resumable_clt_params(args.part_size, args.threads, False, None)

        def options(rate: int):
            return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                              access_key_secret=emu.access_key_secret, region=emu.region,
                                              max_bandwidth=rate)
        ceiling = _timed(lambda: oss.resumable_upload_file(options(0), BUCKET, "free", str(path),
                                                           clt_params=params))
        rows.append(["upload, no cap (ceiling)", human_size(size), f"{ceiling:.2f}",
                     f"{human_size(size / ceiling)}/s", "-"])
        if size / ceiling < args.rate * 1.2:
            print(f"the ceiling {human_size(size / ceiling)}/s is not clearly above the cap: "
                  f"the measurement would say nothing", file=sys.stderr)
        for what in ("upload", "download"):
            for attempt in (1, 2):
                capped = options(args.rate)
                if what == "upload":
                    elapsed = _timed(lambda: oss.resumable_upload_file(
                        capped, BUCKET, f"capped-{attempt}", str(path), clt_params=params))
                else:
                    elapsed = _timed(lambda: oss.resumable_download_file(
                        capped, BUCKET, "free", str(Path(work) / f"back-{attempt}"), clt_params=params))
                ratio = size / elapsed / args.rate
                verdicts.append(abs(ratio - 1) <= 0.05)
                rows.append([f"{what}, cap {human_size(args.rate)}/s, run {attempt}", human_size(size),
                             f"{elapsed:.2f}", f"{human_size(size / elapsed)}/s", f"{ratio:.3f}x"])
    print(table(rows, ["transfer", "bytes", "seconds", "rate", "rate / cap"]))
    print()
    print(table([["every capped transfer within 5% of the cap", "PASS" if all(verdicts) else "FAIL"]],
                ["goal", "result"]))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
