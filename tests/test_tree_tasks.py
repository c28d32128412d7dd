"""The send step's tasks: put, verify (HEAD + CRC-64), delete, dry-run; picklable."""
from __future__ import annotations

import os
import pickle

from ossresume_c.tree_tasks import DELETE, PUT, VERIFY, SENDERS, SendContext, Task, file_crc, run_task

from helpers import file_crc as reference_crc, get_bytes, head, make_file, options_for


def test_put_verify_delete(oss_emulator, tmp_path):
    ctx = SendContext(options_for(oss_emulator), oss_emulator.bucket)
    path = make_file(tmp_path / "f.bin", 3000, seed=1)
    try:
        put = run_task(ctx, Task(PUT, "t/f.bin", path, 3000))
        assert put.action == "uploaded" and put.etag and put.crc64 == reference_crc(path)
        assert put.mtime_ns == os.stat(path).st_mtime_ns and put.requests == 1
        same = run_task(ctx, Task(VERIFY, "t/f.bin", path, 3000))
        assert same.action == "skipped" and same.etag == put.etag and same.requests == 1
        make_file(tmp_path / "f.bin", 3000, seed=2)                  # same size, other bytes
        changed = run_task(ctx, Task(VERIFY, "t/f.bin", path, 3000))
        assert changed.action == "uploaded" and changed.requests == 2
        assert get_bytes(oss_emulator, "t/f.bin") == open(path, "rb").read()
        gone = run_task(ctx, Task(DELETE, "t/f.bin"))
        assert gone.action == "deleted" and head(oss_emulator, "t/f.bin")[0].code == 404
    finally:
        SENDERS.release(ctx)


def test_dry_run_and_missing_files(oss_emulator, tmp_path):
    ctx = SendContext(options_for(oss_emulator), oss_emulator.bucket, dry_run=True)
    path = make_file(tmp_path / "g", 10)
    try:
        assert run_task(ctx, Task(PUT, "t/g", path, 10)).action == "would-upload"
        assert head(oss_emulator, "t/g")[0].code == 404
        missing = run_task(ctx, Task(PUT, "t/h", str(tmp_path / "h"), 1))
        assert missing.action == "failed" and missing.status.error_code == "FileChanged"
    finally:
        SENDERS.release(ctx)


def test_tasks_and_their_context_pickle(oss_emulator, tmp_path):
    ctx = SendContext(options_for(oss_emulator), oss_emulator.bucket, (("x-oss-meta-a", "1"),))
    task = Task(PUT, "k", "/p", 3)
    assert pickle.loads(pickle.dumps(task)) == task
    assert pickle.loads(pickle.dumps(ctx)).bucket == ctx.bucket


def test_file_crc(tmp_path):
    path = make_file(tmp_path / "c", 5000, seed=3)
    assert file_crc(path, 5000) == reference_crc(path)
    assert file_crc(path, 6000) is None and file_crc(str(tmp_path / "none"), 1) is None
