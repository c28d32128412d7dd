"""Where the client CPU of an HTTPS upload goes, piece by piece, and the floor it adds up to.

Each piece is measured alone in this process (CPU of the process: user + system,
medians of alternating rounds) against the C sink of bench_wire.py, then the whole
upload is run as a child the way bench_wire.py runs it, with the part buffer
page-aligned (default) and as a plain bytearray (OSSRESUME_PART_BUFFER=heap):

- interpreter start + ``import ossresume_c`` + options + an ``SSLContext`` (child, wait4),
  and one ``SSLContext`` with the system CAs (what ``verify=True`` costs per context);
- pread + CRC-64 of the file in 1 MiB reads (native.read_part) into a page-aligned
  buffer and into one 16 bytes past a page boundary (where glibc puts a fresh
  block of 128 KiB or more, such as a bytearray part buffer);
- TLS record encryption alone: an SSLObject pair over memory BIOs, 1 MiB writes,
  the ciphertext dropped (includes OpenSSL's copy of the plaintext into its
  record buffer and the BIO copies, so an upper bound of the cipher itself);
- the kernel's share of sending over loopback TCP to the sink: the same bytes in
  16,406-byte writes (one TLS 1.3 record each, which is what OpenSSL issues) and
  in 1 MiB writes.

The floor of the Python ``ssl`` path is start + pread/CRC + encryption + sending
in record-sized writes; a TLS writer that batched records would pay the 1 MiB
send instead.

    python benchmarks/bench_tls_floor.py [--size-mib 1024] [--rounds 3] [--threads 4]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, make_file, table  # noqa: E402
from bench_wire import OSSRESUME, build, child_env, measure, self_signed, start_sink, stop  # noqa: E402

sys.path.insert(0, str(REPO))
from ossresume_c import aligned, native  # noqa: E402

RECORD_ON_WIRE = 16384 + 22      # a full TLS 1.3 record: 5 header + 16 KiB + 1 type + 16 tag
START = """
import ssl, sys, ossresume_c as oss
oss.request_options_create(endpoint='https://127.0.0.1:1', access_key_id='a', access_key_secret='b',
                           region='cn-hangzhou', verify=sys.argv[1])
ssl.create_default_context(cafile=sys.argv[1])
"""


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def read_crc(fd: int, size: int, buf) -> float:
    start, done, crc = cpu(), 0, 0
    while done < size:
        got = native.read_part(fd, done, min(len(buf), size - done), buf, crc_seed=crc)
        crc, done = got.crc64, done + got.bytes_read
    return cpu() - start


def tls_pair(cert: str, key: str) -> Tuple[ssl.SSLObject, ssl.MemoryBIO, str]:
    """A handshaken client SSLObject (its outgoing BIO) against an in-memory server."""
    client_ctx = ssl.create_default_context(cafile=cert)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="127.0.0.1")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(8):
        for end in (client, server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    cipher = client.cipher()
    return client, c_out, f"{client.version()} {cipher[0] if cipher else '?'}"


def encrypt(size: int, client: ssl.SSLObject, out: ssl.MemoryBIO) -> float:
    view = memoryview(aligned.page_aligned(1 << 20))
    start, done = cpu(), 0
    while done < size:
        n = min(len(view), size - done)
        client.write(view[:n])
        out.read()
        done += n
    return cpu() - start


def send_plain(port: int, size: int, piece: int) -> float:
    """One PUT of ``size`` bytes to the sink, written ``piece`` bytes per send()."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    view = memoryview(aligned.page_aligned(1 << 20))
    start = cpu()
    sock.sendall(f"PUT /bench/floor HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n\r\n".encode())
    done = 0
    while done < size:
        n = min(piece, size - done)
        sock.sendall(view[:n])
        done += n
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the sink closed mid-reply")
        reply += chunk
    used = cpu() - start
    sock.close()
    if not reply.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"sink: {reply[:60]!r}")
    return used


def context_cost() -> float:
    start = cpu()
    ssl.create_default_context()
    return cpu() - start


def openssl_speed(cipher: str) -> float:
    """CPU s/GiB of ``cipher`` alone by ``openssl speed`` (16 KiB blocks, one CPU; it reports
    throughput in 1000s of bytes per second of its own CPU time)."""
    run = subprocess.run(["openssl", "speed", "-seconds", "1", "-bytes", "16384", "-evp", cipher],
                         capture_output=True, text=True, check=True)
    value = run.stdout.strip().splitlines()[-1].split()[-1]
    return (1 << 30) / (float(value.rstrip("k")) * 1000)


def negotiated(port: int, cert: str) -> str:
    ctx = ssl.create_default_context(cafile=cert)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1") as s:
        cipher = s.cipher()
        return f"{s.version()} {cipher[0] if cipher else '?'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("openssl") is None or not Path("/usr/include/openssl/ssl.h").exists():
        raise SystemExit("needs the openssl CLI and libssl-dev (the TLS sink)")
    size = args.size_mib << 20
    gib = size / (1 << 30)
    work = Path(tempfile.mkdtemp(prefix="bench_tls_floor_"))
    procs: List[subprocess.Popen] = []
    try:
        bins = build(work, True)
        src = work / "source.bin"
        make_file(src, size)
        cert, key = self_signed(work)
        http_sink, http_port = start_sink(bins["sink"], work, "http", size)
        tls_sink, tls_port = start_sink(bins["sink"], work, "https", size, (cert, key))
        procs += [http_sink, tls_sink]
        env = child_env(work)
        fd = os.open(src, os.O_RDONLY)
        # where glibc puts a fresh block of >= 128 KiB (a bytearray of a part buffer): 16
        # bytes into its own mapping; placed there explicitly, as malloc's choice varies
        offset16 = memoryview(aligned.page_aligned((1 << 20) + 4096))[16:16 + (1 << 20)]
        client, out, suite = tls_pair(cert, key)
        upload = [sys.executable, "-c", OSSRESUME, "put", f"https://127.0.0.1:{tls_port}", str(src),
                  str(args.part_mib << 20), str(args.threads), cert]
        pieces: Dict[str, Callable[[], float]] = {
            "start: interpreter + import + options + SSLContext (per process)":
                lambda: measure([sys.executable, "-c", START, cert], env)[1],
            "SSLContext with the system CAs (per context; verify=True)": lambda: context_cost(),
            "pread + CRC-64, 1 MiB reads, page-aligned buffer": lambda: read_crc(fd, size, aligned.page_aligned(1 << 20)),
            "pread + CRC-64, 1 MiB reads, buffer at page offset 16": lambda: read_crc(fd, size, offset16),
            f"TLS encryption alone ({suite}), 1 MiB writes": lambda: encrypt(size, client, out),
            f"send over loopback TCP, {RECORD_ON_WIRE}-byte writes (one per record)":
                lambda: send_plain(http_port, size, RECORD_ON_WIRE),
            "send over loopback TCP, 1 MiB writes": lambda: send_plain(http_port, size, 1 << 20),
            "AES-256-GCM alone (openssl speed, 16 KiB blocks)": lambda: openssl_speed("aes-256-gcm") * gib,
            "AES-128-GCM alone (openssl speed, 16 KiB blocks)": lambda: openssl_speed("aes-128-gcm") * gib,
            "HTTPS upload, page-aligned part buffer (child)": lambda: measure(upload, env)[1],
            "HTTPS upload, bytearray part buffer (child, OSSRESUME_PART_BUFFER=heap)":
                lambda: measure(upload, dict(env, OSSRESUME_PART_BUFFER="heap"))[1],
        }
        names = list(pieces)
        results: Dict[str, List[float]] = {n: [] for n in names}
        for r in range(-1, args.rounds):          # round -1 warms up and is not kept
            for name in (names if r % 2 == 0 else names[::-1]):
                used = pieces[name]()
                if r >= 0:
                    results[name].append(used)
        os.close(fd)
        med = {n: statistics.median(v) for n, v in results.items()}
        per_gib = {n: (v if n.startswith(("start", "SSLContext")) else v / gib) for n, v in med.items()}
        load = os.getloadavg()
        print(f"{args.size_mib} MiB, {args.part_mib} MiB parts, {args.threads} threads, medians of "
              f"{args.rounds} alternating rounds; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
              f"on {os.cpu_count()} CPUs; negotiated with the sink: {negotiated(tls_port, cert)}")
        print(table([[n, f"{per_gib[n]:.3f}"] for n in names], ["piece", "CPU s/GiB (first two: s)"]))
        start = per_gib[names[0]] / gib        # once per process: per GiB of this run's file
        base = start + per_gib[names[2]] + per_gib[names[7]]     # + the cipher alone (AES-256-GCM)
        print(f"floor = start + pread/CRC + AES-256-GCM alone + sending: {base + per_gib[names[5]]:.2f} "
              f"s/GiB in one write per record (Python ssl), {base + per_gib[names[6]]:.2f} with "
              f"batched records; with TLS record framing measured instead of the bare cipher: "
              f"{start + per_gib[names[2]] + per_gib[names[4]] + per_gib[names[5]]:.2f}; target <= 0.9")
        page, heap = per_gib[names[9]], per_gib[names[10]]
        print(f"HTTPS upload: {page:.2f} s/GiB page-aligned, {heap:.2f} bytearray -> {page / heap:.2f}x; "
              f"pread + CRC-64 {per_gib[names[2]] / per_gib[names[3]]:.2f}x; upload above the floor: "
              f"{page - base - per_gib[names[5]]:.2f} s/GiB")
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
