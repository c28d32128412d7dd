"""Ingest rate of the OSS emulator (UploadPart), from a minimal raw-socket client.

The client preloads the file in memory, signs each UploadPart with
``ossresume_c.auth`` (V4 header signing, one HMAC chain per request) and sends
header + body with ``socket.sendall`` from a memoryview: it does as little work
as a client can, so the figure is the emulator's. The emulator runs in its own
process (``start_emulator``), with real MD5 ETags and in benchmark mode.

    python benchmarks/bench_emulator.py [--size-mib 1024] [--part-mib 8] [--connections 1 4] [--repeat 3] [--discard]

``--discard`` adds rows for the emulator's ``--discard`` mode (bodies checksummed, not stored).

Prints a table (best of ``--repeat`` runs per row) and checks every object's
CRC-64 against the data.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ossresume_c import auth
from ossresume_c.emulator import start_emulator
from ossresume_c.native import crc64

BUCKET = "bench"


class RawConnection:
    """One keep-alive HTTP/1.1 connection speaking just enough to upload parts."""

    def __init__(self, host: str, port: int, creds: auth.Credentials, region: str) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}"
        self.creds = creds
        self.region = region
        self._buffer = b""

    def _read_response(self) -> Tuple[int, Dict[str, str], bytes]:
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._buffer += chunk
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            rest += chunk
        body, self._buffer = rest[:length], rest[length:]
        return status, headers, body

    def request(self, method: str, key: str, query: List[Tuple[str, Optional[str]]], body: memoryview) -> Tuple[int, Dict[str, str], bytes]:
        headers: Dict[str, str] = {"Content-Length": str(len(body)), "Host": self.host}
        auth.sign_v4(method, BUCKET, key, query, headers, self.creds, self.region)
        target = f"/{BUCKET}/{key}"
        if query:
            target += "?" + auth.encode_query(query)
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.sock.sendall(head.encode("ascii"))
        if len(body):
            self.sock.sendall(body)
        return self._read_response()

    def close(self) -> None:
        self.sock.close()


def _jiffies_total() -> Optional[int]:
    """Busy CPU time of the whole machine (Linux), in clock ticks."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return None
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def _jiffies_of(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


class CpuMeter:
    """CPU cores used during a run by the emulator, by this client, and by everything else."""

    def __init__(self, emulator_pid: int) -> None:
        self.pids = (emulator_pid, os.getpid())
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __enter__(self) -> CpuMeter:
        self.start = (time.perf_counter(), _jiffies_total(), [_jiffies_of(p) for p in self.pids])
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.start[0]
        total, own = _jiffies_total(), [_jiffies_of(p) for p in self.pids]
        if total is None or self.start[1] is None or None in own or None in self.start[2]:
            self.emulator = self.client = self.other = float("nan")
            return
        used = [(b - a) / self.tick / wall for a, b in zip(self.start[2], own)]
        self.emulator, self.client = used
        self.other = max(0.0, (total - self.start[1]) / self.tick / wall - sum(used))


def timed_threads(threads: List[threading.Thread], emulator_pid: int) -> Tuple[float, CpuMeter]:
    """Start ``threads``, wait for them: (wall seconds, CPU used meanwhile)."""
    with CpuMeter(emulator_pid) as meter:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    return elapsed, meter


def run_once(emu, data: memoryview, part_size: int, connections: int) -> Tuple[float, int, CpuMeter]:
    """Upload ``data`` as one multipart object; returns (UploadPart seconds, object CRC)."""
    parts = urlsplit(emu.endpoint)
    creds = auth.Credentials(emu.access_key_id, emu.access_key_secret)
    key = f"obj-{connections}-{time.monotonic_ns()}"
    control = RawConnection(parts.hostname, parts.port, creds, emu.region)
    status, _, body = control.request("POST", key, [("uploads", "")], memoryview(b""))
    assert status == 200, body
    upload_id = re.search(rb"<UploadId>(\w+)</UploadId>", body).group(1).decode()
    count = (len(data) + part_size - 1) // part_size
    next_part = iter(range(1, count + 1))
    lock = threading.Lock()
    etags: Dict[int, str] = {}
    errors: List[BaseException] = []

    def worker() -> None:
        conn = RawConnection(parts.hostname, parts.port, creds, emu.region)
        try:
            while True:
                with lock:
                    number = next(next_part, None)
                if number is None:
                    return
                piece = data[(number - 1) * part_size : number * part_size]
                status, headers, reply = conn.request(
                    "PUT", key, [("partNumber", str(number)), ("uploadId", upload_id)], piece
                )
                if status != 200:
                    raise RuntimeError(f"part {number}: {status} {reply[:200]!r}")
                etags[number] = headers["etag"]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            conn.close()

    elapsed, meter = timed_threads([threading.Thread(target=worker) for _ in range(connections)], emu.pid)
    if errors:
        raise errors[0]
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)
    ) + "</CompleteMultipartUpload>"
    status, headers, body = control.request("POST", key, [("uploadId", upload_id)], memoryview(xml.encode()))
    assert status == 200, body
    status, _, _ = control.request("DELETE", key, [], memoryview(b""))
    control.close()
    return elapsed, int(headers["x-oss-hash-crc64ecma"]), meter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=None, help="emulator store directory (default: a temporary one)")
    parser.add_argument("--discard", action="store_true", help="also measure the emulator's --discard mode")
    args = parser.parse_args()

    size = args.size_mib << 20
    part_size = args.part_mib << 20
    data = memoryview(bytearray(os.urandom(size)))
    expected_crc = crc64(data)
    print(f"# emulator ingest: {args.size_mib} MiB object, {args.part_mib} MiB parts, "
          f"best of {args.repeat}; {os.cpu_count()} CPU(s); Python {sys.version.split()[0]}")
    print(f"{'mode':<16} {'connections':>11} {'seconds':>8} {'GB/s':>7} {'GiB/s':>7} {'emulator CPU':>12} {'client CPU':>10} {'other CPU':>9}")
    modes = [("MD5 ETags", False, False), ("benchmark-mode", True, False)]
    if args.discard:
        modes += [("discard, MD5", False, True), ("discard, bench", True, True)]
    for mode, benchmark_mode, discard in modes:
        with tempfile.TemporaryDirectory(dir=args.root) as root, start_emulator(
            root=root, buckets=[BUCKET], benchmark_mode=benchmark_mode, discard=discard
        ) as emu:
            for connections in args.connections:
                best: Optional[Tuple[float, CpuMeter]] = None
                for _ in range(args.repeat):
                    elapsed, crc, meter = run_once(emu, data, part_size, connections)
                    if crc != expected_crc:
                        raise SystemExit(f"CRC mismatch: {crc} != {expected_crc}")
                    if best is None or elapsed < best[0]:
                        best = (elapsed, meter)
                assert best is not None
                seconds, meter = best
                print(
                    f"{mode:<16} {connections:>11} {seconds:>8.3f} {size / seconds / 1e9:>7.2f} {size / seconds / 2**30:>7.2f}"
                    f" {meter.emulator:>12.2f} {meter.client:>10.2f} {meter.other:>9.2f}"
                )
                sys.stdout.flush()
    print("# CPU columns: cores busy during the best run (other = the rest of the machine; > 0 means contention)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
