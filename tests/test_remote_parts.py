"""remote_parts: one upload's parts sent from worker processes on presigned URLs, the
caller's process coordinating (ProcessPoolExecutor here; Dask in test_dask_transfers)."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import ossresume_c as oss
from ossresume_c import ops, presigned, remote_parts, remote_tasks
from ossresume_c.config import request_options_create
from ossresume_c.transport import Transport

from helpers import file_crc, get_bytes, make_file, options_for, upload_part_requests

KB = 1024
SECRET_TOKEN = "sts-token-that-must-stay-home"


def upload(emu, path, executor, key="k", checkpoint=True, threads=2, callback=None, **opts):
    params = oss.create_resumable_clt_params(100 * KB, threads, checkpoint, None)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, key, path, None, None,
                                     params, callback, checkpoint_interval=0, executor=executor)


def assert_object_is(emu, key, path):
    with open(path, "rb") as fh:
        assert get_bytes(emu, key) == fh.read()


def server_uploads(emu):
    with Transport(options_for(emu)) as t:
        status, uploads = ops.list_multipart_uploads(t, emu.bucket)
    assert status.is_ok(), status
    return uploads


def test_a_part_whose_url_is_about_to_expire_comes_back_unsent(tmp_path):
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=1)
    info = os.stat(path)
    soon = time.time() + remote_tasks.EXPIRY_MARGIN / 2
    options = presigned.without_secrets(request_options_create(endpoint="http://127.0.0.1:9"))
    batch = remote_parts.PartBatch(options, "b", "k", path, info.st_size, info.st_mtime_ns, (),
                                   (remote_parts.PartURL(1, 0, 100 * KB, (), soon),
                                    remote_parts.PartURL(2, 100 * KB, 100 * KB, (), soon)))
    result = remote_parts.send_batch(batch)      # port 9 would refuse: nothing is sent
    assert result.failure is None and result.done == [] and result.expired == [1, 2]


class RecordingPool(ProcessPoolExecutor):
    """A process pool that keeps the bytes of every task it ships to a worker."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shipped: list = []

    def submit(self, fn, /, *args, **kwargs):
        self.shipped.append(pickle.dumps((fn, args, kwargs)))
        return super().submit(fn, *args, **kwargs)


def test_process_pool_upload_ships_no_secret(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1_250_000, seed=2)     # 13 parts
    with RecordingPool(2) as pool:
        status = upload(oss_emulator, path, pool, sts_token=SECRET_TOKEN)
    assert status.is_ok(), status
    assert_object_is(oss_emulator, "k", path)
    assert ops.response_crc(status.resp_headers) == file_crc(path)
    assert sorted(int(e["part_number"]) for e in upload_part_requests(oss_emulator)) == \
        list(range(1, 14))
    assert pool.shipped
    secret = oss_emulator.access_key_secret.encode()
    assert not any(secret in blob for blob in pool.shipped)
    # OSS puts an STS token in every V4 presigned URL (x-oss-security-token): it travels
    # there and only there, never as a credential of the options a worker gets.
    tasks = [pickle.loads(blob) for blob in pool.shipped]
    batches = [args[0] for fn, args, _kw in tasks if fn is remote_parts.send_batch]
    assert len(batches) >= 2
    for batch in batches:
        assert batch.options.config.sts_token is None
        assert batch.options.config.access_key_secret is None
        assert all(dict(p.query).get("x-oss-signature") for p in batch.parts)


def _elsewhere(directory: str) -> None:
    os.chdir(directory)


def test_a_worker_that_cannot_see_the_file_fails_clearly_and_leaks_no_upload(
        oss_emulator, tmp_path, monkeypatch):
    """The file's path is relative; the workers run in another directory (another host)."""
    make_file(tmp_path / "big.bin", 500 * KB, seed=3)
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(tmp_path)
    with ProcessPoolExecutor(1, initializer=_elsewhere, initargs=(str(other),)) as pool:
        status = upload(oss_emulator, "big.bin", pool, checkpoint=False)
    assert status.error_code == "OpenFileFail", status
    assert "'big.bin'" in status.error_msg and "cannot open" in status.error_msg
    assert "pid " in status.error_msg                # names the worker process
    assert server_uploads(oss_emulator) == []          # enable_checkpoint off: aborted


def test_wrong_executor_type_is_a_programming_error(oss_emulator, tmp_path):
    import pytest
    path = make_file(tmp_path / "f.bin", 200 * KB, seed=4)
    with pytest.raises(TypeError):
        upload(oss_emulator, path, object())


COORDINATOR = textwrap.dedent("""
    import multiprocessing, os, signal, sys
    from concurrent.futures import ProcessPoolExecutor
    import ossresume_c as oss
    endpoint, ak, sk, region, bucket, path = sys.argv[1:]
    options = oss.request_options_create(endpoint=endpoint, access_key_id=ak,
                                         access_key_secret=sk, region=region)
    def die(consumed, total):
        if consumed >= 3 * 102400:
            os.kill(os.getpid(), signal.SIGKILL)
    params = oss.create_resumable_clt_params(102400, 1, True, None)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(int).result()
        print("workers", *pool._processes, flush=True)
        oss.resumable_upload_file(options, bucket, "k", path, None, None, params, die,
                                  checkpoint_interval=0, executor=pool)
""")


def test_coordinator_killed_then_the_same_call_sends_only_what_the_server_lacks(
        oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1_250_000, seed=5)     # 13 parts, 4 a task
    emu = oss_emulator
    proc = subprocess.Popen([sys.executable, "-c", COORDINATOR, emu.endpoint, emu.access_key_id,
                             emu.access_key_secret, emu.region, emu.bucket, path],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = proc.stdout.readline().split()[1:]    # the worker keeps the pipe open: one line
    assert proc.wait(timeout=300) == -signal.SIGKILL
    proc.stdout.close()
    # a pool worker whose coordinator died idles forever (it holds its own end of the
    # task queue): the test ends it, as the coordinator's host going down would
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    assert os.path.exists(path + ".ucp")
    [pending] = server_uploads(emu)
    with Transport(options_for(emu)) as t:
        status, listed = ops.list_parts(t, emu.bucket, "k", pending.upload_id)
    on_server = {p.number for p in listed}
    assert on_server and len(on_server) < 13
    emu.server.clear_request_log()
    with ProcessPoolExecutor(2) as pool:
        status = upload(emu, path, pool)
    assert status.is_ok(), status
    sent = sorted(int(e["part_number"]) for e in upload_part_requests(emu))
    assert sent == sorted(set(range(1, 14)) - on_server)
    assert_object_is(emu, "k", path)
    assert not os.path.exists(path + ".ucp")


def test_tree_tasks_on_a_process_pool_are_presigned_too(oss_emulator, tmp_path):
    from helpers import build_tree
    files = {"a.txt": 10, "b/c.json": 3000, "big.bin": 250 * KB}
    root = build_tree(tmp_path / "tree", files, seed=6)
    with RecordingPool(2) as pool:
        summary = oss.upload_tree(options_for(oss_emulator, sts_token=SECRET_TOKEN), str(root),
                                  oss_emulator.bucket, "t/", part_size=100 * KB, threads=4,
                                  manifest=False, checkpoint_dir=str(tmp_path / "cp"),
                                  executor=pool)
    assert summary.ok, summary.failed
    for rel in files:
        assert_object_is(oss_emulator, "t/" + rel, str(root / rel))
    secret = oss_emulator.access_key_secret.encode()
    shipped = [pickle.loads(blob) for blob in pool.shipped]
    assert not any(secret in blob for blob in pool.shipped)
    small = [t for fn, args, _kw in shipped if fn.__name__ == "send_files" for t in args[0].tasks]
    assert sorted(t.key for t in small) == ["t/a.txt", "t/b/c.json"]
    assert all(dict(t.signed)["PUT"] for t in small)
    assert sum(fn is remote_parts.send_batch for fn, _a, _kw in shipped) >= 1   # big.bin's parts


def test_workers_send_their_parts_the_lean_way_on_the_presigned_urls(oss_emulator, tmp_path,
                                                                     monkeypatch):
    """A worker sends each part as a thread's upload does (part_put, from the file),
    with the presigned query; nothing goes the regular way when all is well.  An
    in-process pool lets the test count the lean sends."""
    from concurrent.futures import ThreadPoolExecutor
    from ossresume_c.part_put import PartPutter
    lean = []
    real_put = PartPutter.put

    def counting_put(self, *args, **kwargs):
        got = real_put(self, *args, **kwargs)
        lean.append((kwargs.get("query") is not None, got is not None and got.final
                     and got.status.is_ok()))
        return got

    monkeypatch.setattr(PartPutter, "put", counting_put)
    path = make_file(tmp_path / "f.bin", 1_250_000, seed=7)     # 13 parts
    with ThreadPoolExecutor(2) as pool:
        status = upload(oss_emulator, path, pool)
    assert status.is_ok(), status
    assert_object_is(oss_emulator, "k", path)
    assert lean == [(True, True)] * 13
    assert sorted(int(e["part_number"]) for e in upload_part_requests(oss_emulator)) == \
        list(range(1, 14))                                      # each part sent once
