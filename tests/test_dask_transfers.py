"""Transfers on a Dask cluster (``executor=client``): one file's parts across two worker
processes, no secret on the workers, a worker killed mid-part or mid-batch of a tree's files,
a closed client."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import ossresume_c as oss
from ossresume_c import ops
from ossresume_c.status import INVALID_ARGUMENT

from helpers import bucket_log, file_crc, get_bytes, make_file, options_for, upload_part_requests

pytest.importorskip("distributed")

KB = 1024


def upload(emu, path, executor, key="k", threads=2, **opts):
    params = oss.create_resumable_clt_params(100 * KB, threads, True, None)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, key, path, None, None,
                                     params, checkpoint_interval=0, executor=executor)


def assert_object_is(emu, key, path):
    with open(path, "rb") as fh:
        assert get_bytes(emu, key) == fh.read()


def _log_to(path: str) -> None:
    """On a worker: the library's log, DEBUG and up, into ``path``."""
    logger = logging.getLogger("ossresume_c")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _stop_logging() -> None:
    logger = logging.getLogger("ossresume_c")
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()


def test_import_does_not_import_dask():
    code = "import sys, ossresume_c; print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_parts_across_the_cluster_with_no_secret_in_the_workers_logs(oss_emulator, tmp_path,
                                                                     dask_client):
    log_path = str(tmp_path / "workers.log")
    dask_client.run(_log_to, log_path)
    oss_emulator.server.add_fault(op="UploadPart", action="status", status=503, nth=3)
    path = make_file(tmp_path / "f.bin", 1_250_000, seed=7)       # 13 parts
    status = upload(oss_emulator, path, dask_client, sts_token="sts-token-xyz")
    dask_client.run(_stop_logging)
    assert status.is_ok(), status
    assert_object_is(oss_emulator, "k", path)
    assert ops.response_crc(status.resp_headers) == file_crc(path)
    assert not os.path.exists(path + ".ucp")
    with open(log_path) as fh:
        workers_log = fh.read() + repr(dask_client.get_worker_logs())
    assert "UploadPart" in workers_log and "retry 1/" in workers_log     # a worker's retry log
    assert oss_emulator.access_key_secret not in workers_log
    # every part was sent once more than the 503'd one: on both workers' connections
    assert len(upload_part_requests(oss_emulator)) == 14


def test_a_closed_client_is_invalid_before_any_request(oss_emulator, tmp_path, dask_client):
    import distributed
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=8)
    other = distributed.Client(dask_client.cluster)
    other.close()
    oss_emulator.server.clear_request_log()
    status = upload(oss_emulator, path, other)
    assert status.code == INVALID_ARGUMENT and status.error_code == "InvalidArgument", status
    assert "closed" in status.error_msg
    assert bucket_log(oss_emulator) == []
    assert not os.path.exists(path + ".ucp")


def with_a_worker_killed(client, task_name, call):
    """Run ``call()`` in a thread, SIGKILL the worker that runs a task of ``task_name``
    once the scheduler shows one, and return what ``call`` returned."""
    pids = client.run(os.getpid)
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(value=call()))
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        busy = [w for w, keys in client.processing().items()
                if any(task_name in str(k) for k in keys)]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.02)      # polling the scheduler, not waiting for an outcome
    assert victim is not None
    os.kill(pids[victim], signal.SIGKILL)
    runner.join(300)
    assert not runner.is_alive()
    client.wait_for_workers(2, timeout=120)       # the nanny restarts the worker
    return result["value"]


def test_a_worker_killed_mid_part_has_its_task_run_elsewhere(oss_emulator, tmp_path, dask_client):
    path = make_file(tmp_path / "f.bin", 1_250_000, seed=9)
    # part 1 is held by the server, so its task is surely running when the worker dies
    oss_emulator.server.add_fault(op="UploadPart", action="delay", seconds=5, part_number=1,
                                  count=1)
    status = with_a_worker_killed(dask_client, "send_batch",
                                  lambda: upload(oss_emulator, path, dask_client))
    assert status.is_ok(), status
    assert_object_is(oss_emulator, "k", path)


def test_a_tree_across_the_cluster(oss_emulator, tmp_path, dask_client):
    from helpers import build_tree
    files = {f"d{i % 3}/f{i}.txt": 3000 + i for i in range(12)}
    files["big/three-parts.bin"] = 250 * KB
    root = build_tree(tmp_path / "tree", files, seed=3)
    summary = oss.upload_tree(options_for(oss_emulator), str(root), oss_emulator.bucket, "t/",
                              part_size=100 * KB, threads=4, manifest=False,
                              checkpoint_dir=str(tmp_path / "cp"), executor=dask_client)
    assert summary.ok, summary.failed
    assert sorted(summary.uploaded) == sorted("t/" + k for k in files)
    for rel in files:
        assert_object_is(oss_emulator, "t/" + rel, str(root / rel))
    parts = upload_part_requests(oss_emulator, "t/big/three-parts.bin")
    assert sorted(int(e["part_number"]) for e in parts) == [1, 2, 3]


def test_a_worker_killed_mid_batch_has_the_batch_run_elsewhere(oss_emulator, tmp_path,
                                                               dask_client):
    """The tree's batches on the cluster: a worker killed while it sends a batch, the
    batch runs again on another; the manifest is right and a re-run only lists."""
    from helpers import build_tree
    from ossresume_c.manifest import Manifest
    emu = oss_emulator
    files = {f"f{i:03d}.txt": 2000 + i for i in range(40)}
    root = build_tree(tmp_path / "tree", files, seed=5)
    manifest = str(tmp_path / "m.sqlite")
    # the last file's PutObject is held by the server: its batch is surely running
    rule = emu.server.add_fault(op="PutObject", action="delay", seconds=5, bucket=emu.bucket,
                                key="t/f039.txt", count=1)

    def tree():
        return oss.upload_tree(options_for(emu), str(root), emu.bucket, "t/", threads=4,
                               manifest=manifest, checkpoint_dir=str(tmp_path / "cp"),
                               executor=dask_client)

    pids = dask_client.run(os.getpid)
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(summary=tree()))
    runner.start()
    deadline = time.monotonic() + 120
    while runner.is_alive() and time.monotonic() < deadline and \
            not any(f["id"] == rule and f["fired"] for f in emu.server.faults()):
        time.sleep(0.02)      # polling the server's state, not waiting for an outcome
    busy = [w for w, keys in dask_client.processing().items()
            if any("send_files" in str(k) for k in keys)]
    assert busy
    for worker in busy:
        os.kill(pids[worker], signal.SIGKILL)
    runner.join(300)
    assert not runner.is_alive()
    summary = result["summary"]
    assert summary.ok, list(summary.failed.items())[:3]
    for rel in files:
        assert_object_is(emu, "t/" + rel, str(root / rel))
    with Manifest(manifest) as m:
        for rel in files:
            row = m.get("t/" + rel)
            assert row is not None and row.crc64 == file_crc(str(root / rel))
    emu.server.clear_request_log()
    again = tree()
    assert again.ok and len(again.skipped) == 40
    assert [e["op"] for e in emu.server.request_log() if e.get("bucket") == emu.bucket] == \
        ["ListObjects"]
    dask_client.wait_for_workers(2, timeout=120)       # the nanny restarts the worker

# -- downloads: ranges fetched by the cluster's workers into the .tmp -----------------------

def uploaded_object(emu, tmp_path, key="obj", size=1_250_000, seed=21):
    """An object of 13 parts of 100 KiB, and its bytes."""
    path = make_file(tmp_path / f"{key}.src", size, seed=seed)
    assert upload(emu, path, None, key=key).is_ok()
    emu.server.clear_request_log()
    with open(path, "rb") as fh:
        return fh.read()


def download(emu, target, executor, key="obj", threads=2, **opts):
    params = oss.create_resumable_clt_params(100 * KB, threads, True, None)
    return oss.resumable_download_file(options_for(emu, **opts), emu.bucket, key, str(target),
                                       None, None, params, checkpoint_interval=0,
                                       executor=executor)


def get_requests(emu):
    return [e for e in bucket_log(emu) if e.get("op") == "GetObject"]


def test_a_download_across_the_cluster_with_no_secret_in_the_workers_logs(oss_emulator, tmp_path,
                                                                          dask_client):
    want = uploaded_object(oss_emulator, tmp_path)
    log_path = str(tmp_path / "workers.log")
    dask_client.run(_log_to, log_path)
    oss_emulator.server.add_fault(op="GetObject", action="status", status=503, nth=3)
    target = tmp_path / "out.bin"
    status = download(oss_emulator, target, dask_client, sts_token="sts-token-xyz")
    dask_client.run(_stop_logging)
    assert status.is_ok(), status
    assert target.read_bytes() == want
    assert not os.path.exists(f"{target}.dcp") and not os.path.exists(f"{target}.tmp")
    with open(log_path) as fh:
        workers_log = fh.read() + repr(dask_client.get_worker_logs())
    assert "GetObject" in workers_log and "retry 1/" in workers_log     # a worker's retry log
    assert oss_emulator.access_key_secret not in workers_log
    assert len(get_requests(oss_emulator)) == 14          # 13 parts and the 503'd one again


def test_a_closed_client_is_invalid_before_any_download_request(oss_emulator, tmp_path,
                                                                dask_client):
    import distributed
    uploaded_object(oss_emulator, tmp_path, size=300 * KB)
    other = distributed.Client(dask_client.cluster)
    other.close()
    target = tmp_path / "out.bin"
    status = download(oss_emulator, target, other)
    assert status.code == INVALID_ARGUMENT and status.error_code == "InvalidArgument", status
    assert "closed" in status.error_msg
    assert bucket_log(oss_emulator) == []
    assert sorted(os.listdir(tmp_path)) == ["obj.src"]     # no .dcp, no .tmp


def test_a_worker_killed_mid_download_has_its_task_run_elsewhere(oss_emulator, tmp_path,
                                                                 dask_client):
    want = uploaded_object(oss_emulator, tmp_path)
    # the first range is held by the server, so its task is surely running when the worker dies
    oss_emulator.server.add_fault(op="GetObject", action="delay", seconds=5, nth=1, count=1)
    target = tmp_path / "out.bin"
    status = with_a_worker_killed(dask_client, "fetch_batch",
                                  lambda: download(oss_emulator, target, dask_client))
    assert status.is_ok(), status
    assert target.read_bytes() == want


def test_a_worker_that_cannot_open_the_target_names_itself_and_the_path(oss_emulator, tmp_path,
                                                                        dask_client, monkeypatch):
    """The target is relative and the workers run in another directory (another host)."""
    want = uploaded_object(oss_emulator, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(tmp_path)
    homes = dask_client.run(os.getcwd)
    try:
        dask_client.run(os.chdir, str(other))
        status = download(oss_emulator, "out.bin", dask_client)
        assert status.error_code == "OpenFileFail", status
        assert "dask worker tcp://127.0.0.1:" in status.error_msg
        assert "cannot open 'out.bin.tmp'" in status.error_msg
        assert os.path.exists("out.bin.dcp") and os.path.exists("out.bin.tmp")  # kept to resume
        assert get_requests(oss_emulator) == []
        dask_client.run(os.chdir, str(tmp_path))       # workers that see the path: the same call
        assert download(oss_emulator, "out.bin", dask_client).is_ok()
    finally:
        for worker, home in homes.items():
            dask_client.run(os.chdir, home, workers=[worker])
    assert (tmp_path / "out.bin").read_bytes() == want


def _running(dask_worker) -> list:
    """On a worker: the keys of the tasks occupying its threads, cancelled ones included."""
    return [str(ts.key) for ts in dask_worker.state.all_running_tasks]


def test_a_killed_coordinator_resumes_on_the_cluster_fetching_only_what_was_missing(
        oss_emulator, tmp_path, dask_client):
    from test_remote_ranges import killed_coordinator, resumed_fetches_only_what_was_missing
    want = uploaded_object(oss_emulator, tmp_path)
    target = tmp_path / "out.bin"
    said = killed_coordinator(oss_emulator, target, dask_client.scheduler.address)
    # the dead client's tasks run on (a thread cannot be stopped) after the scheduler forgot
    # them: wait until no worker runs one, so that their GETs are not counted below
    deadline = time.monotonic() + 120
    while any("fetch_batch" in k for keys in dask_client.run(_running).values() for k in keys) \
            and time.monotonic() < deadline:
        time.sleep(0.05)      # polling the workers, not waiting for an outcome
    resumed_fetches_only_what_was_missing(oss_emulator, target, dask_client, want,
                                          int(said["consumed"]))
