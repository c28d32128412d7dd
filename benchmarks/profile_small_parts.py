"""Where an UploadPart's client CPU goes with small parts: the layers of the lean path
measured one at a time, in one process, against the C sink of bench_wire.py.

Rows, each the CPU (user + system of this process) per part, alternating over rounds:
the C exchange alone (``Exchanger.run`` with ready heads), building the signed heads
from the template, and the same with ``SmallPutter.signed_head`` (the way before),
``PartPutter.put`` (head + exchange + settling), the same parts sent in rows of
``batch_limit`` parts per C call (``Exchanger.run_many``, ``PartPutter.put_many``, what
the engine does with small parts), the engine with a no-op part, and a whole
``resumable_upload_file`` (no checkpoint, no interpreter start-up).

    python benchmarks/profile_small_parts.py [--parts 3000] [--part-kib 100] [--threads 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import make_file, table  # noqa: E402
from bench_wire import build, start_sink  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=int, default=3000)
    ap.add_argument("--part-kib", type=int, default=100)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import ossresume_c as oss
    from ossresume_c import ops, part_put
    from ossresume_c import part_exchange as px
    from ossresume_c import status as st
    from ossresume_c.transport import Transport

    part, n = args.part_kib << 10, args.parts
    work = Path(tempfile.mkdtemp(prefix="profile_parts_"))
    sink = None
    try:
        src = work / "source.bin"
        make_file(src, part * n)
        sink, port = start_sink(build(work, False)["sink"], work, "http", part * n)
        options = oss.request_options_create(endpoint=f"http://127.0.0.1:{port}", access_key_id="bench",
                                             access_key_secret="bench", region="cn-hangzhou")
        params = oss.create_resumable_clt_params(part_size=part, thread_num=args.threads,
                                                 enable_checkpoint=False)
        transport = Transport(options)
        putter = part_put.PartPutter(transport)
        assert putter.conns is not None
        fd = os.open(src, os.O_RDONLY)
        upload_id = "UPLOADID0123456789ABCDEF"
        heads = [putter.heads.build("bench", "object", upload_id, i + 1, {}, part) for i in range(n)]
        sock = putter.conns.socket_for("127.0.0.1", port)
        assert sock is not None and all(h is not None for h in heads)
        exchanger = px.Exchanger(part_put.CHUNK, part_put.REPLY_BUFFER)

        def exchange_only() -> None:
            for i in range(n):
                assert exchanger.run(sock, heads[i][0], fd, i * part, part, 30).outcome == "done"

        def template_heads() -> None:
            for i in range(n):
                putter.heads.build("bench", "object", upload_id, i + 1, {}, part)

        def signed_heads() -> None:
            for i in range(n):
                putter.conns.signed_head("bench", "object", ops.part_query(i + 1, upload_id), {}, part)

        def put_loop() -> None:
            for i in range(n):
                got = putter.put("bench", "object", upload_id, i + 1, fd, i * part, part, {}, str(src))
                assert got is not None and got.status.is_ok()

        row = part_put.batch_limit(part)

        def exchange_rows() -> None:
            for i in range(0, n, row):
                k = min(row, n - i)
                clean, last = exchanger.run_many(sock, [heads[j][0] for j in range(i, i + k)], fd,
                                                 [(j * part, part) for j in range(i, i + k)], 30)
                assert len(clean) == k and last is None

        def put_rows() -> None:
            for i in range(0, n, row):
                k = min(row, n - i)
                got = putter.put_many("bench", "object", upload_id, fd,
                                      [(j + 1, j * part, part) for j in range(i, i + k)], {}, str(src))
                assert got is not None and len(got) == k and all(g is not None and g.final for g in got)

        def upload(noop: bool) -> Callable[[], None]:
            def run() -> None:
                real, real_many = part_put.PartPutter.put, part_put.PartPutter.put_many
                if noop:
                    ok = part_put.LeanPart(st.Status(200), True, '"x"', 0)
                    part_put.PartPutter.put = lambda *a, **k: ok
                    part_put.PartPutter.put_many = lambda self, b, k, u, fd, parts, *a: [ok] * len(parts)
                try:
                    status = oss.resumable_upload_file(options, "bench", "object", str(src), clt_params=params)
                finally:
                    part_put.PartPutter.put, part_put.PartPutter.put_many = real, real_many
                assert status.is_ok(), status
            return run

        rows: Dict[str, Callable[[], None]] = {
            "C exchange alone (Exchanger.run, ready heads)": exchange_only,
            "signed head from the template (part_head)": template_heads,
            "signed head via SmallPutter.signed_head (before)": signed_heads,
            "PartPutter.put (head + exchange + settle)": put_loop,
            f"C exchanges in rows of {row} (Exchanger.run_many, ready heads)": exchange_rows,
            f"PartPutter.put_many, rows of {row} (heads + exchanges + settle)": put_rows,
            f"engine, no-op part ({args.threads} threads)": upload(True),
            f"resumable_upload_file ({args.threads} threads)": upload(False),
        }
        for run in rows.values():      # warm: connections, templates, first-use imports
            run()
        results: Dict[str, List[float]] = {name: [] for name in rows}
        for r in range(args.rounds):
            for name in (list(rows) if r % 2 == 0 else list(rows)[::-1]):
                start = cpu()
                rows[name]()
                results[name].append((cpu() - start) / n * 1e6)
        os.close(fd)
        putter.close()
        transport.close()
        load = os.getloadavg()
        print(f"{n} parts of {args.part_kib} KiB, medians of {args.rounds} alternating rounds; "
              f"load average {load[0]:.1f} on {os.cpu_count()} CPUs")
        med = {name: statistics.median(v) for name, v in results.items()}
        whole = med[f"resumable_upload_file ({args.threads} threads)"]
        print(table([[name, f"{us:.1f}", f"{us / whole:.2f}"] for name, us in med.items()],
                    ["layer", "CPU us/part", "share of the whole upload"]))
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
