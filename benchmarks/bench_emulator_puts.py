"""Requests/s ceiling of the OSS emulator for small PutObjects, from a minimal client.

Every request is signed (V4) and encoded *before* the clock starts, so the timed
loop of each client thread is only ``sendall`` of ready bytes and a read of the
response head: the client does as little work per request as one can, and the
figure is the emulator's. The emulator runs in its own process
(``start_emulator``); the same run measures it storing bodies on disk (the
baseline) and in ``--discard`` mode, with MD5 ETags and in benchmark mode.

    python benchmarks/bench_emulator_puts.py [--count 4000] [--size 4096] [--connections 1 4 16] [--repeat 3]

Prints a table (best of ``--repeat`` runs per row) and checks, after each run,
that the emulator's ListObjects counts every object with its size. Besides the
rate, each row shows the emulator's CPU time per request; as the emulator is one
Python process (one GIL), one core divided by that time is its ceiling
("1-core ceiling"), a figure that holds on a machine busy with other work too.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import tempfile
import threading
from typing import Dict, List, Tuple
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_emulator import CpuMeter, RawConnection, timed_threads  # noqa: E402 - the sibling benchmark's client

from ossresume_c import auth  # noqa: E402
from ossresume_c.emulator import start_emulator  # noqa: E402

BUCKET = "bench"

MODES: Dict[str, Dict[str, bool]] = {
    "disk, MD5 ETags": {"discard": False, "benchmark_mode": False},
    "discard, MD5 ETags": {"discard": True, "benchmark_mode": False},
    "discard, benchmark-mode": {"discard": True, "benchmark_mode": True},
}


def signed_put(host: str, key: str, body: bytes, creds: auth.Credentials, region: str) -> bytes:
    """The complete bytes of one signed PutObject request."""
    headers: Dict[str, str] = {"Content-Length": str(len(body)), "Host": host}
    auth.sign_v4("PUT", BUCKET, key, [], headers, creds, region)
    head = f"PUT /{BUCKET}/{key} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("ascii") + body


def _read_status(sock: socket.socket, buffer: bytearray) -> int:
    """Read one response (head, then Content-Length bytes) off ``buffer``/``sock``; its status."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head = bytes(buffer[:end]).decode("latin-1")
    match = re.search(r"(?im)^content-length:\s*(\d+)", head)
    total = end + 4 + (int(match.group(1)) if match else 0)
    while len(buffer) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    del buffer[:total]
    return int(head.split(" ", 2)[1])


def run_once(emu, count: int, size: int, connections: int, tag: str) -> Tuple[float, CpuMeter]:
    """PUT ``count`` objects of ``size`` bytes over ``connections`` connections; (seconds, CPU)."""
    parts = urlsplit(emu.endpoint)
    host = f"{parts.hostname}:{parts.port}"
    creds = auth.Credentials(emu.access_key_id, emu.access_key_secret)
    body = os.urandom(size)
    per_connection: List[List[bytes]] = [[] for _ in range(connections)]
    for i in range(count):
        per_connection[i % connections].append(signed_put(host, f"{tag}/{i:08d}", body, creds, emu.region))
    sockets = [socket.create_connection((parts.hostname, parts.port)) for _ in range(connections)]
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    errors: List[BaseException] = []

    def worker(sock: socket.socket, requests: List[bytes]) -> None:
        buffer = bytearray()
        try:
            for request in requests:
                sock.sendall(request)
                status = _read_status(sock, buffer)
                if status != 200:
                    raise RuntimeError(f"PutObject answered {status}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(sockets, per_connection)]
    elapsed, meter = timed_threads(threads, emu.pid)
    for sock in sockets:
        sock.close()
    if errors:
        raise errors[0]
    _check_listing(emu, parts.hostname, parts.port, creds, tag, count, size)
    return elapsed, meter


def _check_listing(emu, hostname: str, port: int, creds: auth.Credentials, tag: str, count: int, size: int) -> None:
    """Every object is listed with its size (ListObjectsV2 pages of 1000)."""
    conn = RawConnection(hostname, port, creds, emu.region)
    seen = 0
    token = None
    while True:
        query = [("list-type", "2"), ("prefix", tag + "/"), ("max-keys", "1000")]
        if token:
            query.append(("continuation-token", token))
        status, _, body = conn.request("GET", "", query, memoryview(b""))
        assert status == 200, body[:300]
        sizes = re.findall(rb"<Size>(\d+)</Size>", body)
        assert all(int(s) == size for s in sizes)
        seen += len(sizes)
        found = re.search(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        if not found:
            break
        token = found.group(1).decode()
    conn.close()
    assert seen == count, (seen, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=4000, help="PutObjects per run")
    parser.add_argument("--size", type=int, default=4096, help="body size in bytes")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=None, help="emulator store directory (default: a temporary one)")
    args = parser.parse_args()

    print(f"# emulator small PutObjects: {args.count} x {args.size} B per run, best of {args.repeat}; "
          f"{os.cpu_count()} CPU(s); Python {sys.version.split()[0]}")
    print(f"{'mode':<24} {'connections':>11} {'req/s':>8} {'vs disk':>7} {'emulator CPU':>12} "
          f"{'us CPU/req':>10} {'1-core ceiling':>14} {'client CPU':>10} {'other CPU':>9}")
    baseline: Dict[int, float] = {}
    for mode, options in MODES.items():
        with tempfile.TemporaryDirectory(dir=args.root) as root, start_emulator(
            root=root, buckets=[BUCKET], **options
        ) as emu:
            for connections in args.connections:
                best = None
                for attempt in range(args.repeat):
                    elapsed, meter = run_once(emu, args.count, args.size, connections, f"c{connections}-r{attempt}")
                    if best is None or elapsed < best[0]:
                        best = (elapsed, meter)
                assert best is not None
                rate = args.count / best[0]
                baseline.setdefault(connections, rate)
                meter = best[1]
                per_request = meter.emulator / rate * 1e6
                print(f"{mode:<24} {connections:>11} {rate:>8.0f} {rate / baseline[connections]:>6.2f}x "
                      f"{meter.emulator:>12.2f} {per_request:>10.0f} {1e6 / per_request:>14.0f} "
                      f"{meter.client:>10.2f} {meter.other:>9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
