"""Shared pieces of the transfer benchmarks: the emulator, client subprocesses
measured with wait4 (CPU seconds and peak RSS of the child alone), and tables."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
V2_PATH = Path(os.environ.get("OSSRESUME_OSS_V2_PATH", REPO / ".ci-deps" / "oss-v2"))


@dataclass
class Run:
    client: str
    wall: float
    cpu: float
    max_rss_mib: float
    ok: bool
    output: str


# The child's own peak RSS: VmHWM of its address space (wait4's ru_maxrss is no good
# here: after vfork+exec it starts from the parent's RSS).
_PEAK_RSS = """
import atexit
def _ossresume_bench_peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("PEAK_RSS_KB", int(line.split()[1]), flush=True)
atexit.register(_ossresume_bench_peak)
"""


def run_client(name: str, code: str, env_extra: Optional[Dict[str, str]] = None,
               pythonpath: Optional[str] = None) -> Run:
    env = dict(os.environ)
    env.update(env_extra or {})
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _PEAK_RSS + code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    peak = [int(line.split()[1]) for line in out.splitlines() if line.startswith("PEAK_RSS_KB")]
    rss_mib = peak[-1] / 1024.0 if peak else usage.ru_maxrss / 1024.0
    return Run(name, wall, cpu, rss_mib, proc.returncode == 0, out.strip())


def median_runs(runs: List[Run]) -> Run:
    ok = [r for r in runs if r.ok]
    if not ok:
        return runs[-1]
    return Run(ok[0].client, statistics.median(r.wall for r in ok), statistics.median(r.cpu for r in ok),
               max(r.max_rss_mib for r in ok), True, "")


def table(rows: List[List[str]], header: List[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def make_file(path: Path, size: int) -> None:
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for off in range(0, size, len(chunk)):
            fh.write(chunk[: min(len(chunk), size - off)])
    with open(path, "rb") as fh:        # warm the page cache: every client reads it cached
        while fh.read(1 << 24):
            pass
