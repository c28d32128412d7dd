"""Benchmark of the C core: CRC-64 paths, MD5, the fused part reader, two threads.

    pip install crcmod fastcrc
    python benchmarks/bench_native.py            # full run (~1 min, writes a 1 GiB file in /tmp)
    python benchmarks/bench_native.py --quick    # smaller sizes, no targets judged

Every figure is the best of several rounds (the machine is shared), in GB/s
(10^9 bytes per second).  All contenders hash the same buffers in the same run
and are called the same way, from Python, one call per buffer.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from ossresume_c import native
from ossresume_c._native import ffi, lib

CHECK_CRC = 0x995DC9BBDF1939FA  # CRC-64/XZ of b"123456789"


def best_rates(contenders: Dict[str, Callable[[], object]], nbytes: int, rounds: int = 5,
               min_time: float = 0.2) -> Dict[str, float]:
    """Best GB/s of each contender over `rounds` rounds of repeated calls (>= `min_time` each).

    The rounds are interleaved (A B C A B C ...) so that every contender sees the same
    share of whatever else the machine is doing."""
    best = {name: 0.0 for name in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(rounds):
        for name, fn in contenders.items():
            calls, start = 0, time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best[name] = max(best[name], calls * nbytes / elapsed / 1e9)
    return best


def load_crcmod() -> Tuple[Optional[Callable[[bytes], int]], str]:
    try:
        import crcmod
    except ImportError:
        return None, "not installed"
    fn = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    assert fn(b"123456789") == CHECK_CRC, "crcmod is not computing CRC-64/XZ"
    ext = getattr(sys.modules.get("crcmod.crcmod"), "_usingExtension", False)
    return fn, "C extension crcmod._crcfunext" if ext else "PURE PYTHON (no C extension!)"


def load_fastcrc() -> Tuple[Optional[Callable[[bytes], int]], str]:
    try:
        import fastcrc
    except ImportError:
        return None, "not installed"
    fn = fastcrc.crc64.xz
    assert fn(b"123456789") == CHECK_CRC, "fastcrc.crc64.xz is not CRC-64/XZ"
    return fn, f"fastcrc {getattr(fastcrc, '__version__', '')}".strip()


class Report:
    def __init__(self) -> None:
        self.rows: List[Tuple[str, str, str]] = []
        self.targets: List[Tuple[str, float, float, bool]] = []

    def row(self, what: str, size: str, gbps: float) -> float:
        self.rows.append((what, size, f"{gbps:.2f}"))
        print(f"  {what:<44} {size:>8} {gbps:9.2f} GB/s", flush=True)
        return gbps

    def target(self, what: str, ratio: float, goal: float) -> None:
        self.targets.append((what, ratio, goal, ratio >= goal))

    def markdown(self) -> str:
        out = ["| what | buffer | GB/s |", "|---|---|---:|"]
        out += [f"| {a} | {b} | {c} |" for a, b, c in self.rows]
        out += ["", "| target | measured | goal | |", "|---|---:|---:|---|"]
        out += [f"| {w} | {r:.2f}x | {g}x | {'PASS' if ok else 'MISS'} |" for w, r, g, ok in self.targets]
        return "\n".join(out)


def crc_section(rep: Report, small: int, large: int) -> None:
    crcmod_fn, crcmod_note = load_crcmod()
    fast_fn, fast_note = load_fastcrc()
    print(f"crcmod: {crcmod_note}; fastcrc: {fast_note}; selected path: {native.implementation}")
    block = os.urandom(1 << 20)
    buffers = [(small, os.urandom(small)), (large, block * (large >> 20))]
    names = [ffi.string(lib.osr_crc64_impl_name(i)).decode() for i in range(lib.osr_crc64_impl_count())]
    results: Dict[Tuple[str, int], float] = {}
    for size, buf in buffers:
        label = f"{size >> 10} KiB" if size < 1 << 20 else f"{size >> 20} MiB"
        want = native.crc64(buf)
        contenders: Dict[str, Callable[[], object]] = {}
        for index, name in enumerate(names):
            if lib.osr_crc64_impl_available(index):
                assert lib.osr_crc64_update_with(index, 0, buf, size) == want
                contenders[name] = (lambda i=index, b=buf, n=size: lib.osr_crc64_update_with(i, 0, b, n))
        contenders["api"] = lambda b=buf: native.crc64(b)
        if fast_fn is not None:
            assert fast_fn(buf) == want
            contenders["fastcrc"] = lambda b=buf: fast_fn(b)
        if crcmod_fn is not None:
            assert crcmod_fn(buf) == want
            contenders["crcmod"] = lambda b=buf: crcmod_fn(b)
        rates = best_rates(contenders, size, rounds=15 if size < 1 << 20 else 8, min_time=0.05)
        titles = {"api": "native.crc64() (public API)", "fastcrc": "fastcrc.crc64.xz",
                  "crcmod": "crcmod (what oss2 uses)"}
        for name, rate in rates.items():
            results[(name, size)] = rep.row(f"CRC-64 {titles.get(name, name)}", label, rate)
    best = [n for i, n in enumerate(names) if lib.osr_crc64_impl_available(i)][0]
    for size, _ in buffers:
        label = f"{size >> 10} KiB" if size < 1 << 20 else f"{size >> 20} MiB"
        if ("fastcrc", size) in results:
            rep.target(f"best CRC ({best}) / fastcrc, {label}",
                       results[(best, size)] / results[("fastcrc", size)], 0.9)
        if ("crcmod", size) in results:
            crcmod_rate = results[("crcmod", size)]
            rep.target(f"best CRC ({best}) / crcmod, {label}", results[(best, size)] / crcmod_rate, 50)
            if ("pclmulqdq", size) in results:
                rep.target(f"pclmulqdq / crcmod, {label}", results[("pclmulqdq", size)] / crcmod_rate, 25)
            rep.target(f"portable / crcmod, {label}", results[("portable", size)] / crcmod_rate, 4)


def md5_section(rep: Report, small: int, large: int) -> None:
    for size in (small, large):
        buf = os.urandom(1 << 20) * (size >> 20) if size >= 1 << 20 else os.urandom(size)
        label = f"{size >> 10} KiB" if size < 1 << 20 else f"{size >> 20} MiB"
        assert native.md5(buf).digest() == hashlib.md5(buf).digest()
        rates = best_rates({"ours": lambda b=buf: native.md5(b).digest(),
                            "hashlib": lambda b=buf: hashlib.md5(b).digest()},
                           size, rounds=9 if size <= 1 << 20 else 5, min_time=0.1)
        ours = rep.row("MD5 native.md5 (own C)", label, rates["ours"])
        theirs = rep.row("MD5 hashlib.md5 (OpenSSL)", label, rates["hashlib"])
        rep.target(f"MD5 / hashlib, {label}", ours / theirs, 0.95)


def read_section(rep: Report, file_size: int, part: int) -> None:
    fd_tmp, path = tempfile.mkstemp(prefix="bench_native_", dir="/tmp")
    try:
        block = os.urandom(1 << 20)
        with os.fdopen(fd_tmp, "wb") as f:
            for _ in range(file_size >> 20):
                f.write(block)
        fd = os.open(path, os.O_RDONLY)
        buf = bytearray(part)
        view = memoryview(buf)
        offsets = range(0, file_size, part)
        label = f"{file_size >> 20} MiB file, {part >> 20} MiB parts"

        def plain() -> None:
            for off in offsets:
                os.preadv(fd, [view], off)

        def fused_crc() -> None:
            for off in offsets:
                native.read_part(fd, off, part, buf)

        def fused_crc_md5() -> None:
            for off in offsets:
                native.read_part(fd, off, part, buf, want_md5=True)

        def read_then_crc() -> None:
            for off in offsets:
                os.preadv(fd, [view], off)
                native.crc64(view)

        def hash_only() -> None:
            for off in offsets:
                native.crc64_file_range(fd, off, part)

        plain()  # warm the page cache
        assert native.read_part(fd, 0, part, buf).crc64 == native.crc64(block * (part >> 20))
        rates = best_rates({"plain": plain, "fused": fused_crc, "two-pass": read_then_crc,
                            "hash-only": hash_only}, file_size, rounds=9, min_time=0.0)
        base = rep.row("plain read (os.preadv into the part buffer)", label, rates["plain"])
        fused = rep.row("fused read + CRC-64 (read_part)", label, rates["fused"])
        rep.row("read, then CRC-64 in a second pass", label, rates["two-pass"])
        rep.row("hash-only read + CRC-64 (crc64_file_range)", label, rates["hash-only"])
        rep.row("fused read + CRC-64 + MD5 (read_part)", label,
                best_rates({"md5": fused_crc_md5}, file_size, rounds=1, min_time=0.0)["md5"])
        rep.target("fused read+CRC / plain read", fused / base, 0.7)
        os.close(fd)
    finally:
        os.unlink(path)


def threads_section(rep: Report, size: int, calls: int) -> None:
    bufs = [os.urandom(size), os.urandom(size)]

    def work(buf: bytes) -> None:
        for _ in range(calls):
            native.crc64(buf)

    cpu_per_wall: Dict[int, float] = {}

    def run(nthreads: int) -> None:
        threads = [threading.Thread(target=work, args=(bufs[i],)) for i in range(nthreads)]
        wall, cpu = time.perf_counter(), time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ratio = (time.process_time() - cpu) / (time.perf_counter() - wall)
        cpu_per_wall[nthreads] = max(cpu_per_wall.get(nthreads, 0.0), ratio)

    rates = best_rates({"one": lambda: run(1), "two": lambda: run(2)}, size * calls, rounds=25,
                       min_time=0.0)
    label = f"{size >> 10} KiB"
    one = rep.row(f"CRC-64 {native.implementation}, 1 thread", label, rates["one"])
    two = rep.row(f"CRC-64 {native.implementation}, 2 threads (sum)", label, 2 * rates["two"])
    print(f"  (most CPU-seconds per wall-second seen: 1 thread {cpu_per_wall[1]:.2f}, "
          f"2 threads {cpu_per_wall[2]:.2f}; load average {os.getloadavg()[0]:.2f})")
    rep.target("2 threads / 1 thread (GIL released)", two / one, 1.6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    parser.add_argument("--only", choices=["crc", "md5", "read", "threads"], action="append",
                        help="run only these sections (repeatable)")
    args = parser.parse_args()
    large = (16 if args.quick else 256) << 20
    rep = Report()
    print(f"ossresume_c native core; Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    only = set(args.only or ["crc", "md5", "read", "threads"])
    if "crc" in only:
        crc_section(rep, 256 << 10, large)
    if "md5" in only:
        md5_section(rep, 256 << 10, large)
    if "read" in only:
        read_section(rep, (64 if args.quick else 1024) << 20, 8 << 20)
    if "threads" in only:
        threads_section(rep, 512 << 10, 100 if args.quick else 400)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    for what, ratio, goal, ok in rep.targets:
        print(f"  {'PASS' if ok else 'MISS'}  {what:<48} {ratio:8.2f}x  (goal {goal}x)")
    if args.markdown:
        print()
        print(rep.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
