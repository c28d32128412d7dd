"""The SQLite manifest: rows, batched commits, the one-writer lock, corruption and crashes."""
from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from ossresume_c.manifest import Manifest, ManifestInUse, default_manifest_path
from ossresume_c.tree_plan import ManifestRow


def test_rows_round_trip_with_full_64_bit_crcs(tmp_path):
    path = str(tmp_path / "m.sqlite")
    with Manifest(path) as m:
        m.record(ManifestRow("a", 1, 2, (1 << 64) - 1, '"E1"'))
        m.record(ManifestRow("b", 3, 4, 5, '"E2"'))
        m.forget(["b"])
    with Manifest(path) as m:
        assert m.get("a") == ManifestRow("a", 1, 2, (1 << 64) - 1, '"E1"')
        assert m.get("b") is None and m.count() == 1
        assert m.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_is_keyed_by_endpoint_bucket_prefix_and_root(tmp_path):
    a = default_manifest_path(str(tmp_path), "http://e", "b", "p/", "/data")
    assert a.startswith(str(tmp_path / "manifests")) and a.endswith(".sqlite")
    assert len({a, default_manifest_path(str(tmp_path), "http://f", "b", "p/", "/data"),
                default_manifest_path(str(tmp_path), "http://e", "c", "p/", "/data"),
                default_manifest_path(str(tmp_path), "http://e", "b", "q/", "/data"),
                default_manifest_path(str(tmp_path), "http://e", "b", "p/", "/other")}) == 5


HOLD = textwrap.dedent("""
    import sys
    from ossresume_c.manifest import Manifest
    m = Manifest(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
""")


@pytest.mark.skipif(os.name == "nt", reason="flock")
def test_a_manifest_held_by_another_process_is_refused(tmp_path):
    path = str(tmp_path / "m.sqlite")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ManifestInUse, match="in use by another running"):
            Manifest(path)
    finally:
        holder.kill()
        holder.wait()
    Manifest(path).close()       # the kernel dropped the dead holder's lock


def test_a_corrupt_manifest_is_moved_aside_and_rebuilt(tmp_path, caplog):
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with caplog.at_level(logging.WARNING, logger="ossresume_c"):
        with Manifest(str(path)) as m:
            assert m.count() == 0
            m.record(ManifestRow("k", 1, 1, 1, "e"))
    assert "unreadable" in caplog.text and "rebuilt" in caplog.text
    assert [p for p in os.listdir(tmp_path) if ".corrupt-" in p]
    with Manifest(str(path)) as m:
        assert m.get("k") is not None


WRITER = textwrap.dedent("""
    import sys
    from ossresume_c.manifest import Manifest
    from ossresume_c.tree_plan import ManifestRow
    m = Manifest(sys.argv[1], batch=50, seconds=3600)
    for i in range(100000):
        m.record(ManifestRow(f"k{i:06d}", i, i, i, f"e{i}"))
        if i % 50 == 49:
            print(i, flush=True)
""")


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
@pytest.mark.parametrize("after_batches", [1, 7, 23])
def test_sigkill_mid_write_leaves_a_consistent_prefix(tmp_path, after_batches):
    path = str(tmp_path / "m.sqlite")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True)
    for _ in range(after_batches):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Manifest(path) as m:
        n = m.count()
        assert n >= after_batches * 50                    # every reported commit survived
        rows = m.db.execute("SELECT key, size, etag FROM files ORDER BY key").fetchall()
    assert rows == [(f"k{i:06d}", i, f"e{i}") for i in range(n)]   # and only whole rows
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
