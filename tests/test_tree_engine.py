"""The streaming tree engine against the emulator: requests per decision, the manifest's
skip rules, bad input as per-file outcomes, --delete and --dry-run boundaries."""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

import ossresume_c as oss
from ossresume_c.bulk import ManifestInUse, upload_tree
from ossresume_c.manifest import Manifest
from ossresume_c import ops
from ossresume_c import status as st
from ossresume_c.transport import Transport

from helpers import add_awkward_entries, build_tree, file_crc, get_bytes, head, make_file, options_for

WRITES = {"PutObject", "UploadPart", "InitiateMultipartUpload", "CompleteMultipartUpload",
          "DeleteObject", "AbortMultipartUpload"}


def log_since(emu, t0):
    return [e for e in emu.request_log() if e["time"] >= t0 and e.get("bucket") == emu.bucket]


def run(emu, root, prefix="", **kw):
    kw.setdefault("manifest", str(root.parent / "manifest.sqlite"))
    kw.setdefault("checkpoint_dir", str(root.parent / "cp"))
    return upload_tree(options_for(emu), str(root), emu.bucket, prefix, **kw)


def put(emu, key, data):
    with Transport(options_for(emu)) as t:
        status, _ = ops.put_object(t, emu.bucket, key, data)
    assert status.is_ok(), status


def test_new_files_take_one_request_each_and_an_unchanged_rerun_only_lists(oss_emulator, tmp_path):
    files = {f"d{i % 3}/f{i:03d}.txt": 50 + i for i in range(30)}
    root = build_tree(tmp_path / "t", files)
    t0 = time.time()
    summary = run(oss_emulator, root, "p/", threads=4)
    assert summary.ok and len(summary.uploaded) == 30
    ops_seen = [e["op"] for e in log_since(oss_emulator, t0)]
    assert sorted(set(ops_seen)) == ["ListObjects", "PutObject"] and ops_seen.count("PutObject") == 30
    assert summary.requests == 31 and summary.list_pages == 1
    t1 = time.time()
    again = run(oss_emulator, root, "p/", threads=4)
    assert again.ok and len(again.skipped) == 30 and not again.uploaded
    assert [e["op"] for e in log_since(oss_emulator, t1)] == ["ListObjects"]
    for rel in files:
        assert get_bytes(oss_emulator, "p/" + rel) == (root / rel).read_bytes()


def test_without_a_manifest_row_a_same_size_object_is_checked_by_crc(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"same.txt": 100, "other.txt": 100, "new.txt": 5})
    put(oss_emulator, "same.txt", (root / "same.txt").read_bytes())
    put(oss_emulator, "other.txt", b"x" * 100)                  # same size, other bytes
    t0 = time.time()
    summary = run(oss_emulator, root)
    assert sorted(summary.skipped) == ["same.txt"]
    assert sorted(summary.uploaded) == ["new.txt", "other.txt"]
    heads = {e["key"] for e in log_since(oss_emulator, t0) if e["op"] == "HeadObject"}
    assert heads == {"same.txt", "other.txt"}
    assert head(oss_emulator, "other.txt")[1].crc64 == file_crc(root / "other.txt")
    # the check filled the manifest: the next run needs no HEAD
    t1 = time.time()
    assert len(run(oss_emulator, root).skipped) == 3
    assert [e["op"] for e in log_since(oss_emulator, t1)] == ["ListObjects"]


def test_manifest_rows_never_cause_a_wrong_skip(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a.txt": 100, "b.txt": 100, "c.txt": 100})
    assert run(oss_emulator, root).ok
    put(oss_emulator, "a.txt", b"y" * 100)                     # changed behind our back: new ETag
    make_file(root / "b.txt", 100, seed=99)                      # changed locally: new mtime
    summary = run(oss_emulator, root)
    assert sorted(summary.uploaded) == ["a.txt", "b.txt"] and summary.skipped == ["c.txt"]
    for rel in ("a.txt", "b.txt", "c.txt"):
        assert get_bytes(oss_emulator, rel) == (root / rel).read_bytes()


def test_checksum_forces_head_and_crc_for_every_size_match(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a": 10, "b": 20})
    assert run(oss_emulator, root).ok
    t0 = time.time()
    summary = run(oss_emulator, root, checksum=True)
    assert sorted(summary.skipped) == ["a", "b"]
    assert sorted(e["key"] for e in log_since(oss_emulator, t0) if e["op"] == "HeadObject") == ["a", "b"]


def test_a_corrupt_manifest_warns_and_is_rebuilt_from_the_listing(oss_emulator, tmp_path, caplog):
    root = build_tree(tmp_path / "t", {"a": 10, "b": 20})
    assert run(oss_emulator, root).ok
    for name in os.listdir(tmp_path):
        if name.startswith("manifest.sqlite"):
            (tmp_path / name).write_bytes(b"garbage" * 50)
    with caplog.at_level(logging.WARNING, logger="ossresume_c"):
        summary = run(oss_emulator, root)
    assert "rebuilt" in caplog.text
    assert sorted(summary.skipped) == ["a", "b"] and not summary.uploaded   # re-checked, not re-sent
    with Manifest(str(tmp_path / "manifest.sqlite")) as m:
        assert m.count() == 2


def test_a_manifest_in_use_is_refused_before_any_request(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a": 10})
    t0 = time.time()
    with Manifest(str(tmp_path / "manifest.sqlite")):
        with pytest.raises(ManifestInUse):
            run(oss_emulator, root)
    assert log_since(oss_emulator, t0) == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds")
def test_bad_input_becomes_per_file_outcomes(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"ok.txt": 10, "sub/ok2.txt": 11})
    add_awkward_entries(root)
    outcomes = []
    summary = run(oss_emulator, root, on_file=outcomes.append)
    by_key = {o.key: o for o in outcomes}
    assert sorted(summary.uploaded) == ["ok.txt", "sub/ok2.txt"]
    assert by_key["fifo"].action == "noted" and by_key["link"].action == "noted"
    bad = by_key["bad\udcff.txt"].status
    assert bad.code == st.INVALID_ARGUMENT and "not valid UTF-8" in bad.error_msg
    long_key = [k for k in by_key if k.endswith("long.txt")][0]
    assert by_key[long_key].status.error_code == "InvalidArgument"
    assert len(summary.failed) == 2
    followed = run(oss_emulator, root, follow_symlinks=True, manifest=False)
    assert "link" in followed.uploaded
    assert get_bytes(oss_emulator, "link") == (root / "ok.txt").read_bytes()


def test_a_file_that_vanishes_during_the_run_is_file_changed(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a": 10, "b": 10, "c": 10, "d": 10})

    def remove_later_file(outcome):
        if outcome.key == "a" and (root / "d").exists():
            os.remove(root / "d")                # walked (listed) already, not yet stat'ed or read

    summary = run(oss_emulator, root, threads=1, on_file=remove_later_file)
    assert sorted(summary.uploaded) == ["a", "b", "c"]
    assert summary.failed["d"].error_code == "FileChanged"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_an_unreadable_file_is_open_file_fail(oss_emulator, tmp_path):
    import shutil
    import subprocess
    import sys
    import tempfile
    base = tempfile.mkdtemp(prefix="unreadable-")      # pytest's tmp_path is private to root
    os.chmod(base, 0o755)
    from pathlib import Path
    root = build_tree(Path(base) / "t", {"open.txt": 10, "secret.txt": 10})
    os.chmod(root / "secret.txt", 0o000)
    work = Path(base) / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    code = (
        "import os, sys, mimetypes\n"
        # what the calls import lazily, imported while /root (Python's own files) is readable
        "import ossresume_c as oss, ossresume_c.upload, ossresume_c.lean_request, requests, encodings.idna\n"
        "from ossresume_c.bulk import upload_tree\n"
        "mimetypes.init(); os.setgid(65534); os.setuid(65534)\n"
        f"o = oss.request_options_create(endpoint={oss_emulator.endpoint!r}, "
        f"access_key_id={oss_emulator.access_key_id!r}, access_key_secret={oss_emulator.access_key_secret!r}, "
        f"region={oss_emulator.region!r})\n"
        f"s = upload_tree(o, {str(root)!r}, {oss_emulator.bucket!r}, '', manifest={str(work / 'm.sqlite')!r}, "
        f"checkpoint_dir={str(work / 'cp')!r})\n"
        "print(sorted(s.uploaded), {k: (v.code, v.error_code) for k, v in s.failed.items()})\n")
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "HOME": str(work)})
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "['open.txt'] {'secret.txt': (13, 'OpenFileFail')}"


def test_refused_credentials_stop_at_the_first_refusal(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {f"f{i}": 10 for i in range(10)})
    opts = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region,
                                      access_key_id=oss_emulator.access_key_id,
                                      access_key_secret="wrong-secret")
    t0 = time.time()
    summary = upload_tree(opts, str(root), oss_emulator.bucket, "", manifest=False,
                          checkpoint_dir=str(tmp_path / "cp"))
    assert len(summary.failed) == 10 and {s.code for s in summary.failed.values()} == {403}
    assert len(log_since(oss_emulator, t0)) == 1


def test_delete_removes_only_keys_under_the_prefix_without_a_local_file(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"keep.txt": 10, "logs/x.log": 5})
    for key in ("p/gone.txt", "p/sub/gone2.txt", "p/logs/old.log", "p/folder/", "pq/outside.txt",
                "other/outside.txt", "p"):
        put(oss_emulator, key, b"z")
    summary = run(oss_emulator, root, "p", delete=True, rules=[("exclude", "logs/*")])
    assert sorted(summary.deleted) == ["p/gone.txt", "p/sub/gone2.txt"]
    assert sorted(summary.uploaded) == ["p/keep.txt"]          # logs/x.log is excluded
    with Transport(options_for(oss_emulator)) as t:
        status, left, _ = ops.list_objects_v2(t, oss_emulator.bucket, "")
    assert sorted(o.key for o in left) == ["other/outside.txt", "p", "p/folder/", "p/keep.txt",
                                            "p/logs/old.log", "pq/outside.txt"]


def test_dry_run_sends_no_write_request(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"new.txt": 10, "same.txt": 10, "big.bin": 300 * 1024})
    put(oss_emulator, "same.txt", (root / "same.txt").read_bytes())
    put(oss_emulator, "stale.txt", b"old")
    t0 = time.time()
    summary = run(oss_emulator, root, part_size=100 * 1024, delete=True, dry_run=True)
    assert summary.counts["would-upload"] == 2 and summary.counts["would-delete"] == 1
    assert summary.skipped == ["same.txt"]
    assert not {e["op"] for e in log_since(oss_emulator, t0)} & WRITES
    assert head(oss_emulator, "stale.txt")[0].is_ok() and head(oss_emulator, "new.txt")[0].code == 404


def test_a_process_pool_runs_the_small_files(oss_emulator, tmp_path):
    files = {f"f{i}.txt": 100 + i for i in range(12)}
    root = build_tree(tmp_path / "t", files)
    with ProcessPoolExecutor(2) as pool:
        summary = run(oss_emulator, root, "pp/", executor=pool)
    assert summary.ok and len(summary.uploaded) == 12
    for rel in files:
        assert get_bytes(oss_emulator, "pp/" + rel) == (root / rel).read_bytes()


def test_keep_keys_off_keeps_counts_only(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {f"f{i}": 3 for i in range(5)})
    summary = run(oss_emulator, root, keep_keys=False)
    assert summary.counts["uploaded"] == 5 and summary.uploaded == [] and summary.files == []
    assert "5 uploaded" in str(summary)
