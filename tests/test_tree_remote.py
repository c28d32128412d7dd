"""tree_remote: the tree engine on an executor: small files travel in batches formed as
the walk streams, a batch started too late for its URLs is presigned again, and a process
pool worker killed mid-batch never leaves a wrong manifest row (ProcessPoolExecutor here;
the Dask cluster in test_dask_transfers)."""
from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import ossresume_c as oss
from ossresume_c import ops, remote_files
from ossresume_c.manifest import Manifest
from ossresume_c.remote_tasks import EXPIRY_MARGIN
from ossresume_c.tree_batches import MAX_FILES, batch_slots
from ossresume_c.transport import Transport

from helpers import build_tree, file_crc, get_bytes, head, options_for


def run(emu, root, executor, manifest, prefix="k/", **kw):
    return oss.upload_tree(options_for(emu), str(root), emu.bucket, prefix, threads=4,
                           manifest=str(manifest), checkpoint_dir=str(root.parent / "cp"),
                           executor=executor, **kw)


def puts_by_key(emu):
    found: dict = {}
    for e in emu.server.request_log():
        if e.get("op") == "PutObject" and e.get("bucket") == emu.bucket:
            found[e["key"]] = found.get(e["key"], 0) + 1
    return found


def assert_manifest_tells_the_truth(emu, manifest, root, keys, prefix="k/"):
    """Every row names an object that is on the server with the file's bytes; returns
    the keys that have a row."""
    rows = set()
    with Manifest(str(manifest)) as m:
        for rel in keys:
            row = m.get(prefix + rel)
            if row is None:
                continue
            rows.add(rel)
            status, meta = head(emu, prefix + rel)
            assert status.is_ok(), (rel, status)
            assert (meta.size, meta.crc64, meta.etag) == (row.size, row.crc64, row.etag)
            assert row.crc64 == file_crc(root / rel)
    return rows


class ScriptedPool(ThreadPoolExecutor):
    """An executor that keeps every batch it is given.  The first ``held`` batches wait
    until a later one is submitted (every worker stays busy while the walk goes on);
    the batch numbered ``late`` starts as if it had sat in a queue until its URLs were
    about to expire."""

    def __init__(self, workers, held=0, late=None):
        super().__init__(workers)
        self.held, self.late = held, late
        self.gate = threading.Event()
        self.batches: list = []
        self.lock = threading.Lock()
        self.out = self.most_out = 0

    def submit(self, fn, /, *args, **kwargs):
        assert fn is remote_files.send_files
        batch = args[0]
        self.batches.append(batch)
        number = len(self.batches)
        if number > self.held:
            self.gate.set()
        if number == self.late:
            batch = dataclasses.replace(batch, expires_at=time.time() + EXPIRY_MARGIN / 2)
        with self.lock:
            self.out += 1
            self.most_out = max(self.most_out, self.out)

        def job():
            if number <= self.held:
                self.gate.wait(120)
            try:
                return fn(batch)
            finally:
                with self.lock:
                    self.out -= 1
        return super().submit(job)



def test_files_travel_in_batches_formed_as_the_walk_streams(oss_emulator, tmp_path):
    files = {f"d{i % 7}/f{i:04d}": 10 + i % 5 for i in range(600)}
    root = build_tree(tmp_path / "t", files)
    pool = ScriptedPool(2, held=2)
    with pool:
        summary = run(oss_emulator, root, pool, tmp_path / "m.sqlite")
    assert summary.ok, list(summary.failed.items())[:3]
    sizes = [len(b.tasks) for b in pool.batches]
    # both workers idle: the first two files go at once; then both are busy and the next
    # batch fills up to the limit before it is sent
    assert sizes[:3] == [1, 1, MAX_FILES]
    assert all(1 <= n <= MAX_FILES for n in sizes) and sum(sizes) == 600
    sent = [t.key for b in pool.batches for t in b.tasks]
    assert sent == sorted("k/" + rel for rel in files)          # walk order, each once
    assert pool.most_out <= batch_slots(2)                       # bounded by what is in flight
    assert puts_by_key(oss_emulator) == {"k/" + rel: 1 for rel in files}
    assert assert_manifest_tells_the_truth(oss_emulator, tmp_path / "m.sqlite", root,
                                           files) == set(files)


def test_a_batch_started_after_its_urls_near_expiry_is_presigned_again(oss_emulator, tmp_path):
    files = {f"f{i:03d}": 100 + i for i in range(300)}
    root = build_tree(tmp_path / "t", files)
    pool = ScriptedPool(1, held=1, late=2)
    with pool:
        summary = run(oss_emulator, root, pool, tmp_path / "m.sqlite")
    assert summary.ok, list(summary.failed.items())[:3]
    late = pool.batches[1]
    assert len(late.tasks) == MAX_FILES
    again = [b for b in pool.batches[2:] if {t.key for t in b.tasks} == {t.key for t in late.tasks}]
    assert len(again) == 1 and again[0].expires_at >= late.expires_at
    # the late batch sent nothing; every file went exactly once
    assert puts_by_key(oss_emulator) == {"k/" + rel: 1 for rel in files}
    for rel in ("f000", "f150", "f299"):
        assert get_bytes(oss_emulator, "k/" + rel) == (root / rel).read_bytes()
    assert assert_manifest_tells_the_truth(oss_emulator, tmp_path / "m.sqlite", root,
                                           files) == set(files)


def test_a_process_pool_worker_killed_mid_batch(oss_emulator, tmp_path):
    """A killed process breaks a ProcessPoolExecutor: its batches come back failed, the
    manifest holds only confirmed files, the next run redoes the rest and the one after
    sends only list pages."""
    emu = oss_emulator
    files = {f"f{i:03d}.txt": 1000 + i for i in range(40)}
    root = build_tree(tmp_path / "t", files, seed=4)
    manifest = tmp_path / "m.sqlite"
    rule = emu.server.add_fault(op="PutObject", action="delay", seconds=5, bucket=emu.bucket,
                                key="k/f039.txt", count=1)
    result: dict = {}
    with ProcessPoolExecutor(2) as pool:
        runner = threading.Thread(target=lambda: result.update(
            summary=run(emu, root, pool, manifest)))
        runner.start()
        deadline = time.monotonic() + 120
        while runner.is_alive() and time.monotonic() < deadline and \
                not any(f["id"] == rule and f["fired"] for f in emu.server.faults()):
            time.sleep(0.02)      # polling the server's state, not waiting for an outcome
        os.kill(next(iter(pool._processes)), signal.SIGKILL)
        runner.join(300)
    assert not runner.is_alive()
    first = result["summary"]
    assert not first.ok and first.failed["k/f039.txt"].error_code == "WorkerLost"
    assert first.counts["uploaded"] + first.counts["failed"] == 40
    recorded = assert_manifest_tells_the_truth(emu, manifest, root, files)
    assert recorded == {k[2:] for k in first.uploaded}
    emu.server.clear_request_log()
    with ProcessPoolExecutor(2) as pool:
        second = run(emu, root, pool, manifest)
    assert second.ok, list(second.failed.items())[:3]
    # only the failed files are looked at again (HEAD when their object may be there)
    touched = {e["key"] for e in emu.server.request_log()
               if e.get("bucket") == emu.bucket and e.get("op") != "ListObjects"}
    assert set(second.uploaded) <= touched <= set(first.failed)
    for rel in files:
        assert get_bytes(emu, "k/" + rel) == (root / rel).read_bytes()
    assert assert_manifest_tells_the_truth(emu, manifest, root, files) == set(files)
    emu.server.clear_request_log()
    with ProcessPoolExecutor(2) as pool:
        third = run(emu, root, pool, manifest)
    assert third.ok and len(third.skipped) == 40
    assert [e["op"] for e in emu.server.request_log() if e.get("bucket") == emu.bucket] == \
        ["ListObjects"]


def test_verify_and_delete_travel_in_batches_too(oss_emulator, tmp_path):
    emu = oss_emulator
    root = build_tree(tmp_path / "t", {"same.txt": 100, "other.txt": 100, "new.txt": 5})
    with Transport(options_for(emu)) as t:
        for key, data in (("k/same.txt", (root / "same.txt").read_bytes()),
                          ("k/other.txt", b"x" * 100), ("k/gone.txt", b"z")):
            assert ops.put_object(t, emu.bucket, key, data)[0].is_ok()
    pool = ScriptedPool(2)
    with pool:
        summary = run(emu, root, pool, tmp_path / "m.sqlite", delete=True)
    assert summary.ok, summary.failed
    assert summary.skipped == ["k/same.txt"] and summary.deleted == ["k/gone.txt"]
    assert sorted(summary.uploaded) == ["k/new.txt", "k/other.txt"]
    kinds = sorted((t.kind, t.key) for b in pool.batches for t in b.tasks)
    assert kinds == [("delete", "k/gone.txt"), ("put", "k/new.txt"), ("verify", "k/other.txt"),
                     ("verify", "k/same.txt")]
    assert all(t.signed for b in pool.batches for t in b.tasks)
    assert head(emu, "k/gone.txt")[0].code == 404
    assert get_bytes(emu, "k/other.txt") == (root / "other.txt").read_bytes()
    assert assert_manifest_tells_the_truth(emu, tmp_path / "m.sqlite", root,
                                           ["same.txt", "other.txt", "new.txt"]) == \
        {"same.txt", "other.txt", "new.txt"}


def test_cancel_sends_no_more_batches_and_the_rerun_finishes(oss_emulator, tmp_path):
    files = {f"f{i:03d}": 10 for i in range(300)}
    root = build_tree(tmp_path / "t", files)
    cancel = threading.Event()
    pool = ScriptedPool(1, held=1)
    with pool:
        summary = run(oss_emulator, root, pool, tmp_path / "m.sqlite", cancel=cancel,
                      on_file=lambda outcome: cancel.set())
    assert summary.counts["uploaded"] >= 1 and summary.counts["cancelled"] >= 1
    # files the walk had read ahead but the engine never took up are not reported (as
    # with threads, where a cancelled run stops walking): at most 300, never a failure
    assert summary.counts["uploaded"] + summary.counts["cancelled"] <= 300, summary.counts
    assert not summary.failed
    sent = {t.key for b in pool.batches for t in b.tasks}
    assert set(summary.uploaded) <= sent and not set(summary.cancelled) & set(puts_by_key(oss_emulator))
    recorded = assert_manifest_tells_the_truth(oss_emulator, tmp_path / "m.sqlite", root, files)
    assert recorded == {k[2:] for k in summary.uploaded}
    with ScriptedPool(2) as pool:
        again = run(oss_emulator, root, pool, tmp_path / "m.sqlite")
    assert again.ok and len(again.uploaded) == 300 - summary.counts["uploaded"]
    for rel in ("f000", "f299"):
        assert get_bytes(oss_emulator, "k/" + rel) == (root / rel).read_bytes()
