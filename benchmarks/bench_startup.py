"""Start-up cost: ``import ossresume_c`` plus building options, over ``python -c pass``.

Each round runs a bare interpreter and the import-and-build interpreter back to back
(alternating which goes first), so machine load hits both alike; the table reports the
medians and the median of the per-round differences.

    python benchmarks/bench_startup.py [--runs 21]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BUILD_OPTIONS = (
    "import ossresume_c as oss\n"
    "o = oss.request_options_create(endpoint='http://127.0.0.1:9', region='cn-hangzhou',"
    " access_key_id='ak', access_key_secret='sk', max_retries=3)\n"
    "p = oss.create_resumable_clt_params(part_size=8 << 20, thread_num=4,"
    " enable_checkpoint=True)\n"
)


def _run(code: str, env: dict) -> tuple:
    """(wall seconds, CPU seconds of the child alone) of one interpreter."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{code!r} failed with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    _run(BUILD_OPTIONS, env)  # warm the page cache and the .pyc files
    rows: dict = {"bare": [], "full": []}
    for i in range(args.runs):
        order = ("bare", "full") if i % 2 else ("full", "bare")
        for name in order:
            rows[name].append(_run("pass" if name == "bare" else BUILD_OPTIONS, env))
    probe = ("import sys, ossresume_c as oss; oss.request_options_create(); "
             "print(' '.join(m for m in ('requests', 'urllib3', 'sqlite3', 'dask', 'ssl', "
             "'http.client', 'xml.etree.ElementTree', 'ossresume_c._native', "
             "'ossresume_c.credentials.chain') if m in sys.modules) or '-')")
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    print(f"runs: {args.runs}, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"{os.cpu_count()} CPUs")
    print("| process | wall median ms | wall min ms | CPU median ms | CPU min ms |")
    print("|---|---:|---:|---:|---:|")
    series = {"python -c pass": rows["bare"],
              "import ossresume_c + options + params": rows["full"],
              "difference (per round)": [(f[0] - b[0], f[1] - b[1])
                                         for f, b in zip(rows["full"], rows["bare"])]}
    for label, values in series.items():
        walls = [v[0] * 1e3 for v in values]
        cpus = [v[1] * 1e3 for v in values]
        print(f"| {label} | {statistics.median(walls):.1f} | {min(walls):.1f} | "
              f"{statistics.median(cpus):.1f} | {min(cpus):.1f} |")
    print(f"heavy modules loaded after import + options: {loaded}")


if __name__ == "__main__":
    main()
