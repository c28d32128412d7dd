"""remote_ranges: one download's ranges fetched by worker processes on presigned URLs and
written into the .tmp at the same path, the caller's process coordinating
(ProcessPoolExecutor here; Dask in test_dask_transfers)."""
from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import ops, presigned, remote_ranges, remote_tasks
from ossresume_c.config import request_options_create
from ossresume_c.download import DownloadJob
from ossresume_c.layout import Part
from ossresume_c.transport import Transport

from helpers import bucket_log, options_for
from test_remote_parts import SECRET_TOKEN, RecordingPool

KB = 1024
SIZE = 1_250_000          # 13 parts of 100 KiB


@pytest.fixture
def obj(oss_emulator):
    data = random.Random(13).randbytes(SIZE)
    with Transport(options_for(oss_emulator)) as t:
        status, _ = ops.put_object(t, oss_emulator.bucket, "obj", data)
    assert status.is_ok(), status
    oss_emulator.server.clear_request_log()
    return data


def download(emu, target, executor, checkpoint=True, threads=2, callback=None, **opts):
    params = oss.create_resumable_clt_params(100 * KB, threads, checkpoint, None)
    return oss.resumable_download_file(options_for(emu, **opts), emu.bucket, "obj", str(target),
                                       None, None, params, callback, checkpoint_interval=0,
                                       executor=executor)


def gets(emu):
    return [e for e in bucket_log(emu) if e.get("op") == "GetObject"]


def completed_parts(dcp) -> int:
    with open(dcp, "rb") as fh:
        return sum(p.completed for p in codec.load(fh.read()).parts)


def test_process_pool_download_is_byte_exact_and_ships_no_secret(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    with RecordingPool(2) as pool:
        status = download(oss_emulator, target, pool, sts_token=SECRET_TOKEN)
    assert status.is_ok(), status
    assert target.read_bytes() == obj
    assert not os.path.exists(f"{target}.dcp") and not os.path.exists(f"{target}.tmp")
    assert len(gets(oss_emulator)) == 13 and all(e["status"] == 206 for e in gets(oss_emulator))
    secret = oss_emulator.access_key_secret.encode()
    assert pool.shipped and not any(secret in blob for blob in pool.shipped)
    tasks = [pickle.loads(blob) for blob in pool.shipped]
    batches = [args[0] for fn, args, _kw in tasks if fn is remote_ranges.fetch_batch]
    assert len(batches) >= 2
    assert sorted(p.number for b in batches for p in b.parts) == list(range(1, 14))
    for batch in batches:
        assert batch.options.config.access_key_secret is None
        assert batch.options.config.sts_token is None     # only in the presigned URL, as OSS needs
        assert dict(batch.query).get("x-oss-signature") and batch.etag


def test_a_batch_whose_url_is_about_to_expire_comes_back_unfetched(tmp_path):
    tmp = tmp_path / "out.bin.tmp"
    tmp.write_bytes(bytes(200 * KB))
    options = presigned.without_secrets(request_options_create(endpoint="http://127.0.0.1:9"))
    soon = time.time() + remote_tasks.EXPIRY_MARGIN / 2
    batch = remote_ranges.RangeBatch(options, "bkt", "k", str(tmp), 200 * KB, '"e"', (), soon,
                                     (Part(0, 0, 100 * KB), Part(1, 100 * KB, 100 * KB)),
                                     DownloadJob)
    result = remote_ranges.fetch_batch(batch)        # port 9 would refuse: nothing is sent
    assert result.failure is None and result.done == [] and result.expired == [1, 2]


def _elsewhere(directory: str) -> None:
    os.chdir(directory)


def test_a_worker_that_cannot_open_the_path_fails_clearly_and_keeps_the_checkpoint(
        oss_emulator, tmp_path, obj, monkeypatch):
    """The target is relative; the workers run in another directory (another host)."""
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(tmp_path)
    with ProcessPoolExecutor(1, initializer=_elsewhere, initargs=(str(other),)) as pool:
        status = download(oss_emulator, "out.bin", pool)
    assert status.error_code == "OpenFileFail", status
    assert "cannot open 'out.bin.tmp'" in status.error_msg
    assert " pid " in status.error_msg                       # names the worker process
    assert os.path.exists(tmp_path / "out.bin.dcp") and os.path.exists(tmp_path / "out.bin.tmp")
    assert gets(oss_emulator) == []
    with ProcessPoolExecutor(2) as pool:                     # the same call, workers that see it
        assert download(oss_emulator, "out.bin", pool).is_ok()
    assert (tmp_path / "out.bin").read_bytes() == obj


def test_a_worker_that_sees_another_file_at_the_path_fails_naming_it(
        oss_emulator, tmp_path, obj, monkeypatch):
    """The workers' directory holds its own out.bin.tmp of the right size (a host without
    the shared storage): what they write never reaches this process's file."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "out.bin.tmp").write_bytes(bytes(SIZE))
    monkeypatch.chdir(tmp_path)
    with ProcessPoolExecutor(2, initializer=_elsewhere, initargs=(str(other),)) as pool:
        status = download(oss_emulator, "out.bin", pool)
    assert status.error_code == "InconsistentError", status
    assert "'out.bin.tmp'" in status.error_msg and " pid " in status.error_msg
    assert "storage every worker shares" in status.error_msg
    assert not os.path.exists(tmp_path / "out.bin")
    assert completed_parts(tmp_path / "out.bin.dcp") == 0    # nothing it wrote stays recorded
    oss_emulator.server.clear_request_log()
    with ProcessPoolExecutor(2) as pool:
        assert download(oss_emulator, "out.bin", pool).is_ok()
    assert (tmp_path / "out.bin").read_bytes() == obj
    assert len(gets(oss_emulator)) == 13


def test_a_killed_pool_worker_fails_with_the_checkpoint_kept_then_resumes(
        oss_emulator, tmp_path, obj):
    """A process pool cannot run a lost task elsewhere (the pool breaks): the call returns
    WorkerLost with what finished checkpointed, and the same call completes it."""
    target = tmp_path / "out.bin"
    oss_emulator.server.add_fault(op="GetObject", action="throttle", bytes_per_sec=1 << 20)
    pool = ProcessPoolExecutor(2)
    killed = []

    def kill_a_worker(consumed, total):
        if not killed and consumed >= 200 * KB:
            victim = next(iter(pool._processes))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    try:
        status = download(oss_emulator, target, pool, callback=kill_a_worker)
    finally:
        pool.shutdown()
    oss_emulator.server.clear_faults()
    assert killed
    assert status.error_code == "WorkerLost", status
    done = completed_parts(f"{target}.dcp")
    assert 2 <= done < 13
    oss_emulator.server.clear_request_log()
    with ProcessPoolExecutor(2) as again:
        assert download(oss_emulator, target, again).is_ok()
    assert target.read_bytes() == obj
    assert len(gets(oss_emulator)) == 13 - done


COORDINATOR = textwrap.dedent("""
    import multiprocessing, os, signal, sys
    from concurrent.futures import ProcessPoolExecutor
    import ossresume_c as oss
    endpoint, ak, sk, region, bucket, target, where = sys.argv[1:]
    options = oss.request_options_create(endpoint=endpoint, access_key_id=ak,
                                         access_key_secret=sk, region=region)
    def die(consumed, total):
        if consumed >= 3 * 102400:
            print("consumed", consumed, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    if where == "pool":
        executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        executor.submit(int).result()
        print("workers", *executor._processes, flush=True)
    else:                                       # a Dask scheduler's address
        import distributed
        executor = distributed.Client(where, timeout=60)
    params = oss.create_resumable_clt_params(102400, 2, True, None)
    oss.resumable_download_file(options, bucket, "obj", target, None, None, params, die,
                                checkpoint_interval=0, executor=executor)
""")


def killed_coordinator(emu, target, where: str) -> dict:
    """Run a download coordinator on ``where`` ("pool" or a Dask scheduler's address) in
    a child that SIGKILLs itself once 300 KiB are recorded; what it said ("consumed",
    "workers")."""
    emu.server.add_fault(op="GetObject", action="throttle", bytes_per_sec=1 << 20)
    proc = subprocess.Popen([sys.executable, "-c", COORDINATOR, emu.endpoint, emu.access_key_id,
                             emu.access_key_secret, emu.region, emu.bucket, str(target), where],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    said = {}
    for line in proc.stdout:       # an orphaned pool worker keeps the pipe open: read to "consumed"
        word, rest = line.split(" ", 1)
        said[word] = rest
        if word == "consumed":
            break
    assert proc.wait(timeout=300) == -signal.SIGKILL
    proc.stdout.close()
    emu.server.clear_faults()
    return said


def resumed_fetches_only_what_was_missing(emu, target, executor, want: bytes, consumed: int):
    emu.server.clear_request_log()
    status = download(emu, target, executor)
    assert status.is_ok(), status
    assert target.read_bytes() == want
    fetched = gets(emu)
    assert sum(int(e["bytes_out"]) for e in fetched) == SIZE - consumed
    recorded = -(-consumed // (100 * KB))      # whole parts; the last one is shorter
    assert len(fetched) == 13 - recorded
    assert not os.path.exists(f"{target}.dcp") and not os.path.exists(f"{target}.dcp.jnl")


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_coordinator_killed_then_the_same_call_fetches_only_what_was_missing(
        oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    said = killed_coordinator(oss_emulator, target, "pool")
    # the coordinator's host went down with it: its worker too (a pool worker whose
    # coordinator died idles forever, holding its own end of the task queue)
    workers = [int(w) for w in said["workers"].split()]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)        # polling for the worker's end, not for an outcome
    assert all(_gone(w) for w in workers)
    assert os.path.exists(f"{target}.dcp") and os.path.exists(f"{target}.tmp")
    with ProcessPoolExecutor(2) as pool:
        resumed_fetches_only_what_was_missing(oss_emulator, target, pool, obj,
                                              int(said["consumed"]))


def test_an_object_changed_mid_download_fails_cleanly_then_starts_over(oss_emulator, tmp_path,
                                                                       obj):
    """The workers' GETs carry If-Match with the ETag the coordinator HEADed."""
    target = tmp_path / "out.bin"
    newer = random.Random(14).randbytes(SIZE)
    oss_emulator.server.add_fault(op="GetObject", action="throttle", bytes_per_sec=1 << 20)

    overwritten = []

    def overwrite(consumed, total):
        if consumed and not overwritten:
            with Transport(options_for(oss_emulator)) as t:
                assert ops.put_object(t, oss_emulator.bucket, "obj", newer)[0].is_ok()
            overwritten.append(consumed)

    with ProcessPoolExecutor(2) as pool:
        status = download(oss_emulator, target, pool, callback=overwrite)
        oss_emulator.server.clear_faults()
        assert status.code == 412 and status.error_code == "PreconditionFailed", status
        assert " pid " in status.error_msg                   # the worker that met the change
        assert os.path.exists(f"{target}.dcp")
        assert download(oss_emulator, target, pool).is_ok()  # a new object: a new download
    assert target.read_bytes() == newer


def test_wrong_executor_type_is_a_programming_error(oss_emulator, tmp_path, obj):
    with pytest.raises(TypeError):
        download(oss_emulator, tmp_path / "out.bin", object())


@pytest.mark.parametrize("size", [0, 1, 100 * KB])
def test_empty_and_one_part_objects_on_a_pool(oss_emulator, tmp_path, size):
    data = random.Random(size).randbytes(size)
    with Transport(options_for(oss_emulator)) as t:
        assert ops.put_object(t, oss_emulator.bucket, "obj", data)[0].is_ok()
    oss_emulator.server.clear_request_log()
    target = tmp_path / "out.bin"
    with ProcessPoolExecutor(1) as pool:
        assert download(oss_emulator, target, pool).is_ok()
    assert target.read_bytes() == data
    assert len(gets(oss_emulator)) == (1 if size else 0)
