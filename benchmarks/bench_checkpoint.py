"""Checkpoint codec speed: dump and load of a 10000-part checkpoint.

    python benchmarks/bench_checkpoint.py [--repeat N]

Prints one table: the bare C calls (osr_cp_dump / osr_cp_load, buffers
allocated once) and the Python face (checkpoint_codec.dump / load, which also
build the C structs or the dataclasses), with and without the MD5, for an
upload checkpoint (every part with an ETag, Crc64 0) and a download one (every
part with an ETag and a 20-digit CRC-64).  Best and median of N runs.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Tuple

from ossresume_c import checkpoint_codec as codec
from ossresume_c._native import ffi, lib

N_PARTS = 10000
PART_SIZE = 100 * 1024


def make(kind: int) -> codec.Checkpoint:
    parts = [codec.CheckpointPart(i, i * PART_SIZE, PART_SIZE, i % 3 != 0, '"%032X"' % (i * 2654435761),
                                  (i * 0x9E3779B97F4A7C15) % 2**64 if kind == codec.DOWNLOAD else 0)
             for i in range(N_PARTS)]
    total = N_PARTS * PART_SIZE
    if kind == codec.UPLOAD:
        return codec.Checkpoint(kind, "/data/big/file.bin", total, 1700000000123456, "big/file.bin", 0,
                                "", "", "0004B9894A22E5B1888A1E29F8236E2D", PART_SIZE, parts)
    return codec.Checkpoint(kind, "/data/big/file.bin", 0, 0, "big/file.bin", total,
                            "Fri, 24 Feb 2012 06:07:48 GMT", '"5B3B7A9A2A7F2E9C7B8F3E1D2C4B6A8F-10000"',
                            "", PART_SIZE, parts)


def timed(fn: Callable[[], object], repeat: int) -> Tuple[float, float]:
    runs: List[float] = []
    for _ in range(3):  # warm-up: first-touch page faults, allocator growth
        fn()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return min(runs), statistics.median(runs)


Row = Tuple[str, str, int, str, float, float]


def measure(name: str, cp: codec.Checkpoint, fill: int, repeat: int) -> List[Row]:
    c, _keep = codec._to_c(cp)
    cap = 8 << 20
    out = ffi.new("char[]", cap)
    err = ffi.new("char[]", 256)
    target = ffi.new("osr_checkpoint *")
    slots = ffi.new("osr_cp_part[]", N_PARTS)
    target.parts, target.part_capacity = slots, N_PARTS
    size = lib.osr_cp_dump(c, fill, out, cap, err, 256)
    assert size > 0, ffi.string(err)
    doc = ffi.unpack(out, size)
    assert lib.osr_cp_load(doc, len(doc), target, err, 256) == 0, ffi.string(err)
    assert codec.load(doc).parts == cp.parts
    md5 = "with MD5" if fill else "no MD5"
    return [
        (name, md5, size, "C dump", *timed(lambda: lib.osr_cp_dump(c, fill, out, cap, err, 256), repeat)),
        (name, md5, size, "C load", *timed(lambda: lib.osr_cp_load(doc, len(doc), target, err, 256), repeat)),
        (name, md5, size, "Python dump()", *timed(lambda: codec.dump(cp, fill_md5=bool(fill)), repeat)),
        (name, md5, size, "Python load()", *timed(lambda: codec.load(doc), repeat)),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()

    rows: List[Row] = []
    for kind, name in ((codec.UPLOAD, "upload"), (codec.DOWNLOAD, "download")):
        cp = make(kind)
        for fill in (0, 1):
            rows.extend(measure(name, cp, fill, args.repeat))

    print(f"10000-part checkpoint, best / median of {args.repeat} runs")
    print(f"| {'checkpoint':<10} | {'MD5':<8} | {'bytes':>9} | {'call':<13} | {'best ms':>8} | {'median ms':>9} |")
    print(f"|{'-' * 12}|{'-' * 10}|{'-' * 11}|{'-' * 15}|{'-' * 10}|{'-' * 11}|")
    for name, md5, size, call, best, med in rows:
        print(f"| {name:<10} | {md5:<8} | {size:>9} | {call:<13} | {best * 1e3:>8.2f} | {med * 1e3:>9.2f} |")


if __name__ == "__main__":
    main()
