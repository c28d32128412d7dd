"""Big-file downloads near the machine's limit: ossresume_c against a minimal C reader.

The server is the C sink of bench_wire.py (benchmarks/wire/sink.c: serves zeros, no
checksums), so the client is what is measured.  The minimal reader
(benchmarks/wire/reader.c: GET with Range, recv or SSL_read into a 1 MiB buffer,
pwrite at its offset, fsync at the end as ossresume_c does; no HTTP library, no
hashing) and ossresume_c (``resumable_download_file``, CRC-64 on, no checkpoint)
download the same object with the same part size and threads, over HTTP and HTTPS,
into each target directory: a disk directory and tmpfs (/dev/shm), so that the
cost of the page cache and the disk can be told apart from the wire and the CPU.

To keep one run from paying for another's dirty pages, every run writes a new file
that is deleted after it, and before every run the page cache is written back and
dropped (``sync`` + ``echo 1 > /proc/sys/vm/drop_caches``, when running as root;
``--no-drop`` leaves that out).  Rows alternate in order from round to round.  Every
run is printed (wall MiB/s and the child's own CPU, user + system from wait4, per
GiB), then the medians and each client's ratio to the C reader of its target and
protocol, for the whole process and for the download call alone (the child times
``resumable_download_file`` itself: interpreter start, imports and options left out).  ``--baseline TREE`` adds rows for another checkout of ossresume_c (e.g.
``git archive main ossresume_c | tar -x -C /tmp/base`` plus the built
``_native.abi3.so``), for a same-run A/B; ``--requests-gets`` adds rows of this tree
with every part GET sent through requests (``OSSRESUME_PART_GETTER=requests``).

    python benchmarks/bench_wire_download.py [--size-mib 1024] [--part-mib 8] [--threads 4]
        [--rounds 3] [--dirs DIR ...] [--no-tls] [--baseline TREE] [--only TEXT] [--requests-gets]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, table  # noqa: E402
from bench_wire import OSSRESUME, WIRE, measure_call, self_signed, start_sink  # noqa: E402


def build(work: Path, tls: bool) -> Dict[str, Path]:
    out = {"reader": work / "reader", "sink": work / "sink"}
    flags = ["-DREADER_TLS", "-DSINK_TLS"] if tls else []
    libs = ["-lssl", "-lcrypto"] if tls else []
    for name in ("reader", "sink"):
        subprocess.run(["gcc", "-O2", "-pthread", *flags, "-o", str(out[name]),
                        str(WIRE / f"{name}.c"), *libs], check=True)
    return out


def _kind(target: Path) -> str:
    """How a target directory is named in the tables: its file system type."""
    best, fstype = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if str(target.resolve()).startswith(fields[1]) and len(fields[1]) > len(best):
                best, fstype = fields[1], fields[2]
    return fstype


def drop_page_cache() -> bool:
    """Write back every dirty page and drop the clean page cache; False when not allowed."""
    subprocess.run(["sync"], check=True)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=float, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dirs", nargs="+", default=None,
                        help="target directories (default: a new directory under /var/tmp and /dev/shm)")
    parser.add_argument("--no-tls", action="store_true", help="leave out the HTTPS rows")
    parser.add_argument("--no-drop", action="store_true", help="do not sync + drop the page cache")
    parser.add_argument("--baseline", default=None, help="another ossresume_c tree, as extra rows")
    parser.add_argument("--only", default="", help="run only the rows whose name has this")
    parser.add_argument("--requests-gets", action="store_true",
                        help="add rows of this tree with OSSRESUME_PART_GETTER=requests (same-run A/B)")
    args = parser.parse_args()
    size = args.size_mib << 20
    part = int(args.part_mib * (1 << 20))
    tls = (not args.no_tls and shutil.which("openssl") is not None
           and Path("/usr/include/openssl/ssl.h").exists())
    work = Path(tempfile.mkdtemp(prefix="bench_wire_dl_"))
    made: List[Path] = []
    if args.dirs:
        targets = [Path(d) for d in args.dirs]
    else:
        targets = [Path(tempfile.mkdtemp(prefix="bench_wire_dl_", dir="/var/tmp"))]
        if os.path.isdir("/dev/shm"):
            targets.append(Path(tempfile.mkdtemp(prefix="bench_wire_dl_", dir="/dev/shm")))
        made = list(targets)
    procs: List[subprocess.Popen] = []
    try:
        bins = build(work, tls)
        sink, port = start_sink(bins["sink"], work, "http", size)
        procs.append(sink)
        ends: List[Tuple[str, str, int, str]] = [("HTTP", f"http://127.0.0.1:{port}", port, "-")]
        if tls:
            cert, key = self_signed(work)
            tls_sink, tls_port = start_sink(bins["sink"], work, "https", size, (cert, key))
            procs.append(tls_sink)
            ends.append(("HTTPS", f"https://127.0.0.1:{tls_port}", tls_port, cert))
        trees: List[Tuple[str, str, Dict[str, str]]] = [("ossresume_c", str(REPO), {})]
        if args.requests_gets:
            trees.append(("ossresume_c requests GETs", str(REPO), {"OSSRESUME_PART_GETTER": "requests"}))
        if args.baseline:
            trees.append(("baseline", str(Path(args.baseline).resolve()), {}))
        # rows: (name, target, protocol, command builder taking the output path, PYTHONPATH)
        rows: List[Tuple[str, Path, str, List[str], Optional[str], Dict[str, str]]] = []
        for target in targets:
            for proto, endpoint, p, verify in ends:
                tag = f"{proto}, {_kind(target)}"
                rows.append((f"C reader ({tag})", target, proto,
                             [str(bins["reader"]), str(p), "{out}", str(size), str(part),
                              str(args.threads), "1", *(["tls"] if proto == "HTTPS" else [])], None, {}))
                for label, tree, extra in trees:
                    rows.append((f"{label} ({tag})", target, proto,
                                 [sys.executable, "-c", OSSRESUME, "get", endpoint, "{out}", str(part),
                                  str(args.threads), verify], tree, extra))
        rows = [r for r in rows if args.only in r[0]]
        # As installed from a wheel (pip compiles the modules at install): compiled modules
        # in the trees' __pycache__, so that no run compiles ossresume_c's sources again
        # (every run did when PYTHONDONTWRITEBYTECODE is set: ~0.1 s CPU per run).
        for _label, tree, _extra in trees:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "ossresume_c")],
                           env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                           check=True)
        dropped = not args.no_drop
        runs: Dict[str, List[Tuple[float, float, float, float]]] = {r[0]: [] for r in rows}
        print(f"{args.size_mib} MiB, {part / (1 << 20):g} MiB parts, {args.threads} threads, "
              f"{args.rounds} alternating rounds; targets: "
              + ", ".join(f"{t} ({_kind(t)})" for t in targets))
        print("round | client | wall s | MiB/s | CPU s/GiB | load")
        gib = size / (1 << 30)
        for r in range(args.rounds):
            for name, target, _proto, cmd, tree, extra in (rows if r % 2 == 0 else rows[::-1]):
                out = target / f"run-{os.getpid()}.out"
                if dropped:
                    dropped = drop_page_cache()
                env = dict(os.environ)
                if tree is not None:
                    env["PYTHONPATH"] = tree
                env.update(extra)
                try:
                    wall, cpu, call_wall, call_cpu = measure_call(
                        [c.replace("{out}", str(out)) for c in cmd], env, work)
                finally:
                    if out.exists():
                        out.unlink()
                runs[name].append((wall, cpu, call_wall, call_cpu))
                print(f"{r + 1} | {name} | {wall:.2f} | {size / (1 << 20) / wall:.0f} | "
                      f"{cpu / gib:.2f} | {os.getloadavg()[0]:.1f}", flush=True)
        print(f"\npage cache dropped before every run: {'yes' if dropped else 'no'}; "
              f"load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs\n")
        medians = {name: (statistics.median(size / (1 << 20) / w for w, _, _, _ in res),
                          statistics.median(c / gib for _, c, _, _ in res),
                          statistics.median(size / (1 << 20) / w for _, _, w, _ in res))
                   for name, res in runs.items()}
        lines = []
        for name, target, proto, _cmd, _tree, _extra in rows:
            ref = f"C reader ({proto}, {_kind(target)})"
            mbs, cpu, call_mbs = medians[name]
            ratio = (f"{mbs / medians[ref][0]:.2f}x" if ref in medians else "-")
            call_ratio = (f"{call_mbs / medians[ref][2]:.2f}x" if ref in medians else "-")
            cpu_ratio = (f"{cpu / medians[ref][1]:.2f}x" if ref in medians else "-")
            lines.append([name, f"{mbs:.0f}", f"{cpu:.2f}", ratio, cpu_ratio, f"{call_mbs:.0f}", call_ratio])
        print(table(lines, ["client", "MiB/s", "CPU s/GiB", "MiB/s vs C reader",
                            "CPU vs C reader", "MiB/s in the call", "the call vs C reader"]))
        print("target: ossresume_c >= 0.7x the C reader's MiB/s (issue 17)")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
