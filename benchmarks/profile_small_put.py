"""Where a small file's client CPU goes: one 4 KiB PutObject three ways, one thread,
against tree_sink, in the same run, then a cProfile of the path the tree engine uses.

    python benchmarks/profile_small_put.py [--files 400]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tree import build_sink, start_sink  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=400)
    args = ap.parse_args()
    import oss2

    import ossresume_c as oss
    from ossresume_c.put_file import put_file
    from ossresume_c.small_put import SmallPutter
    from ossresume_c.transport import Transport
    work = Path(tempfile.mkdtemp(prefix="profile-put-"))
    paths = []
    for i in range(args.files):
        path = work / f"f{i:04d}"
        path.write_bytes(os.urandom(4096))
        paths.append(str(path))
    sink, port = start_sink(build_sink(work))
    try:
        ep = f"http://127.0.0.1:{port}"
        opts = oss.request_options_create(endpoint=ep, access_key_id="ak", access_key_secret="sk",
                                          region="cn-hangzhou")
        transport = Transport(opts, pool_size=4)
        fast = SmallPutter(transport)
        bucket = oss2.Bucket(oss2.Auth("ak", "sk"), ep, "bench")
        variants = {
            "oss2 put_object_from_file": lambda p: bucket.put_object_from_file("o/x", p),
            "put_file through requests (ops.put_object)": lambda p: put_file(transport, "bench", "r/x", p),
            "put_file + small_put (one sendall, kept-alive socket)":
                lambda p: put_file(transport, "bench", "l/x", p, fast=fast.put),
        }
        for name, send in variants.items():
            for p in paths[:20]:
                send(p)
            c0 = cpu()
            for p in paths:
                send(p)
            print(f"{name:55s} {(cpu() - c0) / len(paths) * 1e3:.3f} ms CPU per file")
        profile = cProfile.Profile()
        profile.enable()
        for p in paths:
            put_file(transport, "bench", "l/x", p, fast=fast.put)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
