"""Big-file transfers near the machine's limit: ossresume_c against a minimal C client.

A C sink (benchmarks/wire/sink.c: reads and drops bodies, serves zeros, no checksums)
is the server, so the client is what is measured.  The minimal client
(benchmarks/wire/client.c: pread + send for PUTs, recv + pwrite for GETs, no HTTP
library, no hashing) and ossresume_c (resumable upload/download, CRC-64 on, no
checkpoint) move the same file with the same part size and threads.  Every round runs
every row once, in alternating order; the table holds medians over rounds of the wall
throughput and the client's own CPU (wait4 of the child: user + system) per GiB.
Both are built here with gcc; HTTPS rows need openssl (the CLI and libssl-dev).

    python benchmarks/bench_wire.py [--size-mib 1024] [--part-mib 8] [--threads 4] [--rounds 3]
                                    [--csdk-src DIR] [--only NAME,NAME] [--no-tls]

With ``--csdk-src`` (a checkout of the official C SDK, aliyun-oss-c-sdk) its resumable
upload (benchmarks/wire/csdk_upload.c, compiled here with the SDK's sources) is a row too.
The "requests path" and "sendfile path" rows run ossresume_c with OSSRESUME_PART_SENDER
set, to compare the UploadPart body paths of part_put.py in the same run; "heap buffer"
with OSSRESUME_PART_BUFFER=heap (the part buffer as a bytearray, not page-aligned).
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
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, make_file, table  # noqa: E402

WIRE = Path(__file__).resolve().parent / "wire"

OSSRESUME = """
import sys, ossresume_c as oss
mode, endpoint, path, part, threads, verify = sys.argv[1:7]
options = oss.request_options_create(endpoint=endpoint, access_key_id='bench',
                                     access_key_secret='bench', region='cn-hangzhou',
                                     verify=verify if verify != '-' else True)
params = oss.create_resumable_clt_params(part_size=int(part), thread_num=int(threads),
                                         enable_checkpoint=False)
call = oss.resumable_upload_file if mode == 'put' else oss.resumable_download_file
import os, resource, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
wall0, cpu0 = time.perf_counter(), cpu()
status = call(options, 'bench', 'object', path, clt_params=params)
if os.environ.get('OSSRESUME_BENCH_CALL_FILE'):
    with open(os.environ['OSSRESUME_BENCH_CALL_FILE'], 'w') as fh:
        fh.write(f'{time.perf_counter() - wall0} {cpu() - cpu0}')
sys.exit(0 if status.is_ok() else f'{mode}: {status}')
"""


def measure(cmd: List[str], env: Optional[Dict[str, str]] = None) -> Tuple[float, float]:
    """(wall s, CPU s of the child alone) of one command; exits on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:3])} ...")
    return wall, usage.ru_utime + usage.ru_stime


def measure_call(cmd: List[str], env: Dict[str, str], work: Path) -> Tuple[float, float, float, float]:
    """``measure`` plus (wall s, CPU s) of the transfer call alone, which a Python row
    writes to $OSSRESUME_BENCH_CALL_FILE (interpreter start, imports and options left
    out); a C row's call is its whole run."""
    report = work / "call.txt"
    report.unlink(missing_ok=True)
    wall, cpu = measure(cmd, dict(env, OSSRESUME_BENCH_CALL_FILE=str(report)))
    if not report.exists():
        return wall, cpu, wall, cpu
    call_wall, call_cpu = map(float, report.read_text().split())
    return wall, cpu, call_wall, call_cpu


def build(work: Path, tls: bool) -> Dict[str, Path]:
    out = {"client": work / "client", "sink": work / "sink"}
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(out["client"]),
                    str(WIRE / "client.c")], check=True)
    sink = ["gcc", "-O2", "-pthread", "-o", str(out["sink"]), str(WIRE / "sink.c")]
    if tls:
        sink[3:3] = ["-DSINK_TLS"]
        sink += ["-lssl", "-lcrypto"]
    subprocess.run(sink, check=True)
    return out


def build_csdk(work: Path, src: Optional[str]) -> Optional[Path]:
    """benchmarks/wire/csdk_upload.c compiled with the official C SDK's sources (a checkout
    of aliyun-oss-c-sdk at ``src``), or None (with the reason printed) to skip its rows."""
    if not src:
        return None
    sdk = Path(src) / "oss_c_sdk"
    tools = [shutil.which(t) for t in ("apr-1-config", "apu-1-config")]
    if not (sdk / "oss_api.h").exists() or None in tools:
        print(f"C SDK rows skipped: {sdk}/oss_api.h or apr-1-config/apu-1-config missing "
              "(Debian: libapr1-dev libaprutil1-dev libcurl4-openssl-dev libmxml-dev)")
        return None
    flags = []
    for tool, opts in ((tools[0], ["--includes", "--cppflags"]), (tools[1], ["--includes"])):
        flags += subprocess.run([str(tool), *opts], check=True, capture_output=True,
                                text=True).stdout.split()
    out = work / "csdk_upload"
    cmd = ["gcc", "-O3", "-D_LARGEFILE64_SOURCE", *flags, f"-I{sdk}", "-o", str(out),
           str(WIRE / "csdk_upload.c"), *sorted(str(c) for c in sdk.glob("*.c")),
           "-lcurl", "-lmxml", "-laprutil-1", "-lapr-1", "-lpthread", "-lm"]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode != 0:
        print("C SDK rows skipped: building csdk_upload against the SDK's sources failed")
        return None
    return out


def self_signed(work: Path) -> Tuple[str, str]:
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return str(cert), str(key)


def start_sink(binary: Path, work: Path, name: str, size: int,
               tls: Optional[Tuple[str, str]] = None) -> Tuple[subprocess.Popen, int]:
    port_file = work / f"{name}.port"
    proc = subprocess.Popen([str(binary), str(port_file), str(size), *(tls or ())])
    # The sink writes the port file after listen(): wait for it (bounded).
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().endswith("\n")):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"sink {name} did not start")
        time.sleep(0.01)
    return proc, int(port_file.read_text())


def child_env(work: Path) -> Dict[str, str]:
    """The environment of the Python rows: this checkout, its bytecode compiled once under
    ``work`` — as installed (PYTHONDONTWRITEBYTECODE=1 would compile every module from source
    in every run, ~0.1-0.2 s of CPU that no user pays)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "ossresume_c")],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def stop(procs: List[subprocess.Popen], work: Path) -> None:
    """End the sinks this benchmark started and remove its work directory."""
    for proc in procs:
        proc.terminate()
        proc.wait()
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=float, default=8)
    parser.add_argument("--part-kib", type=int, default=0, help="part size in KiB (overrides)")
    parser.add_argument("--only", default="",
                        help="run only the rows whose name has this (comma: any of several)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-tls", action="store_true", help="leave out the HTTPS rows")
    parser.add_argument("--csdk-src", default=os.environ.get("OSSRESUME_CSDK_SRC", ""),
                        help="a checkout of aliyun-oss-c-sdk: adds its resumable upload's row "
                             "(default: $OSSRESUME_CSDK_SRC; without it the row is left out)")
    args = parser.parse_args()
    size = args.size_mib << 20
    part = args.part_kib << 10 if args.part_kib else int(args.part_mib * (1 << 20))
    tls = (not args.no_tls and shutil.which("openssl") is not None
           and Path("/usr/include/openssl/ssl.h").exists())
    work = Path(tempfile.mkdtemp(prefix="bench_wire_"))
    procs: List[subprocess.Popen] = []
    try:
        bins = build(work, tls)
        src = work / "source.bin"
        make_file(src, size)
        http_sink, http_port = start_sink(bins["sink"], work, "http", size)
        procs.append(http_sink)
        endpoint = f"http://127.0.0.1:{http_port}"
        env = child_env(work)
        py = [sys.executable, "-c", OSSRESUME]
        common = [str(part), str(args.threads)]
        rows: Dict[str, List[str]] = {
            "C client PUT (HTTP)": [str(bins["client"]), "put", str(http_port), str(src),
                                    str(size), *common],
            "ossresume_c upload (HTTP)": [*py, "put", endpoint, str(src), *common, "-"],
            "C reader GET (HTTP)": [str(bins["client"]), "get", str(http_port),
                                    str(work / "c.out"), str(size), *common],
            "ossresume_c download (HTTP)": [*py, "get", endpoint, str(work / "py.out"),
                                            *common, "-"],
        }
        csdk = build_csdk(work, args.csdk_src)
        if csdk is not None:
            rows["official C SDK upload (HTTP)"] = [str(csdk), endpoint, str(src), *common]
        if tls:
            cert, key = self_signed(work)
            tls_sink, tls_port = start_sink(bins["sink"], work, "https", size, (cert, key))
            procs.append(tls_sink)
            https = f"https://127.0.0.1:{tls_port}"
            rows["ossresume_c upload (HTTPS)"] = [*py, "put", https, str(src), *common, cert]
            rows["ossresume_c download (HTTPS)"] = [*py, "get", https, str(work / "tls.out"),
                                                    *common, cert]
        # A/B rows of the upload body path (part_put.py): the regular requests path, sendfile
        row_env: Dict[str, Dict[str, str]] = {}
        for sender in ("requests", "sendfile"):
            for scheme in ("HTTP", "HTTPS"):
                base = f"ossresume_c upload ({scheme})"
                if base in rows and not (sender == "sendfile" and scheme == "HTTPS"):
                    name = f"ossresume_c upload ({scheme}, {sender} path)"
                    rows[name] = rows[base]
                    row_env[name] = dict(env, OSSRESUME_PART_SENDER=sender)
        for scheme in ("HTTP", "HTTPS"):      # the part buffer before (aligned.py)
            base = f"ossresume_c upload ({scheme})"
            if base in rows:
                rows[f"ossresume_c upload ({scheme}, heap buffer)"] = rows[base]
                row_env[f"ossresume_c upload ({scheme}, heap buffer)"] = dict(env, OSSRESUME_PART_BUFFER="heap")
        wanted = [w for w in args.only.split(",") if w] or [""]
        rows = {name: cmd for name, cmd in rows.items() if any(w in name for w in wanted)}
        results: Dict[str, List[Tuple[float, float, float, float]]] = {name: [] for name in rows}
        names = list(rows)
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                for out in work.glob("*.out"):
                    out.unlink()
                results[name].append(measure_call(rows[name], row_env.get(name, env), work))
        gib = size / (1 << 30)
        load = os.getloadavg()
        print(f"{args.size_mib} MiB, {part / (1 << 20):g} MiB parts, {args.threads} threads, "
              f"medians of {args.rounds} alternating rounds; load average "
              f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
        medians = {name: (statistics.median(size / (1 << 20) / w for w, _, _, _ in res),
                          statistics.median(c / gib for _, c, _, _ in res),
                          statistics.median(size / (1 << 20) / w for _, _, w, _ in res),
                          statistics.median(c / gib for _, _, _, c in res))
                   for name, res in results.items()}
        n_parts = -(-size // part)
        print(table([[name, f"{mbs:.0f}", f"{cpu:.2f}", f"{cpu * gib / n_parts * 1e6:.0f}",
                      f"{call_mbs:.0f}", f"{call_cpu:.2f}"]
                     for name, (mbs, cpu, call_mbs, call_cpu) in medians.items()],
                    ["client", "MiB/s", "client CPU s/GiB", f"CPU us/part ({n_parts} parts)",
                     "MiB/s in the call", "CPU s/GiB in the call"]))

        def ratio(a: str, b: str, column: int = 0) -> str:
            return (f"{medians[a][column] / medians[b][column]:.2f}x"
                    if a in medians and b in medians else "-")
        print(f"HTTP upload, ossresume_c / C client: {ratio('ossresume_c upload (HTTP)', 'C client PUT (HTTP)')}"
              " (target >= 0.75x); the transfer call alone (no interpreter start, imports, options): "
              f"{ratio('ossresume_c upload (HTTP)', 'C client PUT (HTTP)', 2)}")
        print(f"HTTP download, ossresume_c / C reader: "
              f"{ratio('ossresume_c download (HTTP)', 'C reader GET (HTTP)')} (target >= 0.7x); "
              f"the call alone: {ratio('ossresume_c download (HTTP)', 'C reader GET (HTTP)', 2)}")
        print(f"HTTP upload, ossresume_c / official C SDK: "
              f"{ratio('ossresume_c upload (HTTP)', 'official C SDK upload (HTTP)')} (target >= 1.5x)")
        if "official C SDK upload (HTTP)" in medians and "ossresume_c upload (HTTP)" in medians:
            cpu = medians["ossresume_c upload (HTTP)"][1] / medians["official C SDK upload (HTTP)"][1]
            print(f"HTTP upload client CPU, ossresume_c / official C SDK: {cpu:.2f}x "
                  "(small parts: target <= 0.5x)")
        if "ossresume_c upload (HTTPS)" in medians:
            print(f"HTTPS upload client CPU: {medians['ossresume_c upload (HTTPS)'][1]:.2f} s/GiB"
                  f" (target <= 0.9); the call alone: {medians['ossresume_c upload (HTTPS)'][3]:.2f}")
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
