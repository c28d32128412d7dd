"""``upload_tree``: many files under one global request limit, file-level resume."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import ossresume_c as oss
from ossresume_c.bulk import TreeInterrupted, normalize_prefix, tree_key, upload_tree

from helpers import file_crc, head, make_file, options_for, upload_part_requests

KiB = 1024


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Default manifests go under this test's own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def build(root, files):
    for rel, size in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        make_file(path, size, seed=len(rel) + size)
    return root


def settled_log(emu, since=0.0, until=lambda entries: True, timeout=10.0):
    """This test's bucket's request log from ``since`` on, once ``until(entries)``
    holds (a guard in case the log ever trails the responses)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = [e for e in emu.request_log() if e["time"] >= since and e.get("bucket") == emu.bucket]
        if until(entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.01)


def max_overlap(entries, trim):
    """Most requests the server was handling at once; each interval loses
    ``trim`` seconds at its end so that a request answered and the next one
    started in the same instant do not count as overlapping."""
    events = []
    for e in entries:
        start, end = e["time"], e["time"] + e["duration"] - trim
        if end > start:
            events += [(start, 1), (end, -1)]
    best = cur = 0
    for _t, d in sorted(events, key=lambda x: (x[0], x[1])):
        cur += d
        best = max(best, cur)
    return best


def test_keys_prefix_and_separators(tmp_path):
    root = str(tmp_path)
    assert tree_key(root, os.path.join(root, "a", "b", "c.txt"), "pre") == "pre/a/b/c.txt"
    assert tree_key(root, os.path.join(root, "x"), "") == "x"
    assert tree_key(root, os.path.join(root, "ü", "日本.txt"), "p/") == "p/ü/日本.txt"
    assert normalize_prefix("/backup") == "backup/"
    assert normalize_prefix("") == ""


def test_tree_uploads_every_file_with_small_ones_as_single_puts(oss_emulator, tmp_path):
    files = {"a.txt": 10, "empty": 0, "sub/deeper/b.bin": 5000, "ünï/コード.txt": 77,
             "big/one.bin": 450 * KiB}
    root = build(tmp_path / "t", files)
    summary = upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "up",
                          part_size=100 * KiB, threads=4, checkpoint_dir=str(tmp_path / "cp"))
    assert summary.ok, summary.failed
    assert sorted(summary.uploaded) == sorted("up/" + k for k in files)
    assert summary.bytes_uploaded == sum(files.values())
    for rel in files:
        assert head(oss_emulator, "up/" + rel)[1].crc64 == file_crc(root.joinpath(*rel.split("/")))
    by_op = {}
    for e in settled_log(oss_emulator, until=lambda es: sum(x["op"] == "PutObject" for x in es) >= 4):
        by_op.setdefault(e["op"], set()).add(e["key"])
    assert by_op["PutObject"] == {"up/" + k for k in files if files[k] <= 100 * KiB}
    assert by_op["InitiateMultipartUpload"] == {"up/big/one.bin"}
    assert len(upload_part_requests(oss_emulator, "up/big/one.bin")) == 5
    assert os.listdir(tmp_path / "cp") == []          # checkpoint removed after Complete


def test_rerun_skips_same_size_and_crc_only(oss_emulator, tmp_path):
    files = {"same.txt": 100, "changed.txt": 100, "grown.txt": 100, "big.bin": 300 * KiB}
    root = build(tmp_path / "t", files)
    opts = options_for(oss_emulator)
    kw = dict(part_size=100 * KiB, threads=3, checkpoint_dir=str(tmp_path / "cp"))
    assert upload_tree(opts, str(root), oss_emulator.bucket, "", **kw).ok
    make_file(root / "changed.txt", 100, seed=1234)    # same size, other bytes
    make_file(root / "grown.txt", 101)
    t0 = time.time()
    summary = upload_tree(opts, str(root), oss_emulator.bucket, "", **kw)
    assert sorted(summary.skipped) == ["big.bin", "same.txt"]
    assert sorted(summary.uploaded) == ["changed.txt", "grown.txt"]
    assert summary.bytes_skipped == 100 + 300 * KiB
    entries = settled_log(oss_emulator, t0, lambda es: sum(x["op"] == "PutObject" for x in es) >= 2)
    written = {e["key"] for e in entries if e["op"] in ("PutObject", "UploadPart")}
    assert written == {"changed.txt", "grown.txt"}
    assert head(oss_emulator, "changed.txt")[1].crc64 == file_crc(root / "changed.txt")


def test_one_global_limit_on_requests_in_flight(oss_emulator, tmp_path):
    files = {f"small/{i:02d}.txt": 1000 + i for i in range(8)}
    files["big.bin"] = 600 * KiB                       # 6 parts
    root = build(tmp_path / "t", files)
    oss_emulator.add_fault(op=["PutObject", "UploadPart"], action="delay", seconds=0.12)
    summary = upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "",
                          part_size=100 * KiB, threads=3, checkpoint_dir=str(tmp_path / "cp"))
    assert summary.ok
    log = settled_log(oss_emulator, until=lambda es: sum(
        x["op"] in ("PutObject", "UploadPart") for x in es) >= 14)
    writes = [e for e in log if e["op"] in ("PutObject", "UploadPart")]
    assert len(writes) == 8 + 6
    assert max_overlap(writes, trim=0.05) == 3                  # parallel, never above the limit
    assert max_overlap(log, trim=0.05) <= 3


def test_cancel_keeps_checkpoints_and_the_rerun_finishes(oss_emulator, tmp_path):
    files = {"a.bin": 800 * KiB, "b.bin": 800 * KiB, "c.txt": 10}
    root = build(tmp_path / "t", files)
    opts = options_for(oss_emulator)
    cp_dir = tmp_path / "cp"
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.1)
    cancel = threading.Event()

    def progress(consumed, total):
        cancel.set()          # at the first progress: a.bin still has most of its 8 parts to go

    summary = upload_tree(opts, str(root), oss_emulator.bucket, "", part_size=100 * KiB, threads=2,
                          checkpoint_dir=str(cp_dir), progress=progress, cancel=cancel)
    assert summary.cancelled and not summary.failed and not summary.ok
    assert [p for p in os.listdir(cp_dir) if p.endswith(".ucp")]        # resumable
    first = {(e["key"], e["part_number"]) for e in upload_part_requests(oss_emulator)}
    assert first

    oss_emulator.clear_faults()
    t0 = time.time()
    summary = upload_tree(opts, str(root), oss_emulator.bucket, "", part_size=100 * KiB, threads=2,
                          checkpoint_dir=str(cp_dir))
    assert summary.ok
    second = {(e["key"], e["part_number"]) for e in settled_log(oss_emulator, t0)
              if e["op"] == "UploadPart"}
    assert not first & second                                             # no part sent twice
    for rel in files:
        assert head(oss_emulator, rel)[1].crc64 == file_crc(root / rel)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_keyboard_interrupt_becomes_tree_interrupted_with_the_summary(oss_emulator, tmp_path):
    files = {f"f{i}.bin": 300 * KiB for i in range(4)}
    root = build(tmp_path / "t", files)
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.05)
    fired = []

    def progress(consumed, total):
        if consumed and not fired:
            fired.append(consumed)
            os.kill(os.getpid(), signal.SIGINT)       # Ctrl-C, delivered to the main thread

    with pytest.raises(TreeInterrupted) as exc:
        upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "", part_size=100 * KiB,
                    threads=2, checkpoint_dir=str(tmp_path / "cp"), progress=progress)
    assert isinstance(exc.value, KeyboardInterrupt)
    summary = exc.value.summary
    assert fired and len(summary.uploaded) < 4        # nothing new started after the Ctrl-C
    assert set(summary.uploaded) | set(summary.cancelled) <= set(files)
    assert not [t for t in threading.enumerate() if t.name.startswith("ossresume-tree")]


def test_bad_endpoint_fails_every_file_quickly(oss_emulator, tmp_path):
    root = build(tmp_path / "t", {f"f{i}": 10 for i in range(20)})
    opts = oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="a",
                                      access_key_secret="b", max_retries=0)
    summary = upload_tree(opts, str(root), "some-bucket", "", threads=4,
                          checkpoint_dir=str(tmp_path / "cp"))
    assert len(summary.failed) == 20 and not summary.uploaded
    assert {s.code for s in summary.failed.values()} == {-998}
    assert summary.seconds < 10


def test_missing_bucket_stops_after_the_first_answer(oss_emulator, tmp_path):
    root = build(tmp_path / "t", {f"f{i}": 10 for i in range(12)})
    summary = upload_tree(options_for(oss_emulator), str(root), "no-such-bucket-xyz", "", threads=2,
                          checkpoint_dir=str(tmp_path / "cp"))
    assert len(summary.failed) == 12
    assert {s.code for s in summary.failed.values()} == {404}
    assert len(oss_emulator.request_log()) <= 2 + 2     # at most the first answers per worker


def test_checkpoint_dir_inside_the_tree_is_not_uploaded(oss_emulator, tmp_path):
    root = build(tmp_path / "t", {"a.txt": 5, "b/c.txt": 6})
    cp_dir = root / ".ossresume"
    cp_dir.mkdir()
    (cp_dir / "stale.ucp").write_text("x")
    summary = upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "p",
                          checkpoint_dir=str(cp_dir))
    assert sorted(summary.uploaded) == ["p/a.txt", "p/b/c.txt"]


def test_arguments_are_checked(oss_emulator, tmp_path):
    opts = options_for(oss_emulator)
    with pytest.raises(NotADirectoryError):
        upload_tree(opts, str(tmp_path / "missing"), oss_emulator.bucket)
    with pytest.raises(ValueError):
        upload_tree(opts, str(tmp_path), oss_emulator.bucket, threads=0)
    with pytest.raises(ValueError):
        upload_tree(opts, str(tmp_path), oss_emulator.bucket, part_size=-1)
    with pytest.raises(TypeError):
        upload_tree(None, str(tmp_path), oss_emulator.bucket)


def test_exported_lazily_from_the_package():
    assert oss.upload_tree is upload_tree


def test_verify_reaches_the_big_files_and_a_bad_one_is_refused_before_any_request(
        oss_emulator, tmp_path, monkeypatch):
    import ossresume_c.upload as upload_module
    root = build(tmp_path / "t", {"small.txt": 10, "big.bin": 250 * KiB})
    oss_emulator.clear_request_log()
    with pytest.raises(ValueError, match="verify"):
        upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "v", verify="most")
    assert oss_emulator.request_log() == []
    seen = []
    real = upload_module.resumable_upload_file

    def recording(*args, **kwargs):
        seen.append(kwargs.get("verify"))
        return real(*args, **kwargs)

    monkeypatch.setattr(upload_module, "resumable_upload_file", recording)
    summary = upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "v",
                          part_size=100 * KiB, threads=2, checkpoint_dir=str(tmp_path / "cp"),
                          verify="all")
    assert summary.ok, summary.failed
    assert seen == ["all"]                      # the one multipart file, with the caller's mode
    assert head(oss_emulator, "v/big.bin")[1].crc64 == file_crc(root / "big.bin")
