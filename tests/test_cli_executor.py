"""``cp --processes N`` (both ways) and ``sync``/``cp`` with ``--dask-scheduler URL``: the
CLI's executor options."""
from __future__ import annotations

import pytest

from helpers import bucket_log, build_tree, file_crc, get_bytes, head, make_file, upload_part_requests
from test_cli import cli_env, run_cli


def test_cp_with_worker_processes(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 450_000, seed=11)       # 5 parts of 100 KB
    proc = run_cli(["cp", path, f"oss://{oss_emulator.bucket}/p.bin", "--part-size", "100KB",
                    "--processes", "2", "-q"], env=cli_env(oss_emulator), timeout=180)
    assert proc.returncode == 0, proc.stderr
    status, meta = head(oss_emulator, "p.bin")
    assert status.is_ok() and meta.crc64 == file_crc(path)
    assert len(upload_part_requests(oss_emulator, "p.bin")) == 5


def _remote_download_log(emu):
    """This test's GetObjects, each sent on a presigned URL (a worker's, not a signed
    header's); the shared emulator may still log a late request of an earlier test."""
    gets = [e for e in bucket_log(emu) if e.get("op") == "GetObject"]
    assert gets and all("x-oss-signature=" in e["query"] for e in gets)
    return gets


@pytest.mark.parametrize("where", ["processes", "dask"])
def test_cp_download_on_workers(oss_emulator, tmp_path, request, where):
    if where == "processes":
        options = ["--processes", "2"]
    else:
        options = ["--dask-scheduler", request.getfixturevalue("dask_client").scheduler.address]
    path = make_file(tmp_path / "f.bin", 450_000, seed=12)
    assert run_cli(["cp", path, f"oss://{oss_emulator.bucket}/d.bin", "-q"],
                   env=cli_env(oss_emulator), timeout=180).returncode == 0
    oss_emulator.server.clear_request_log()
    target = tmp_path / "back.bin"
    proc = run_cli(["cp", f"oss://{oss_emulator.bucket}/d.bin", str(target), "--part-size",
                    "100KB", "--json", *options], env=cli_env(oss_emulator), timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert '"crc64_verified": true' in proc.stdout
    assert target.read_bytes() == open(path, "rb").read()
    assert len(_remote_download_log(oss_emulator)) == 5          # 5 ranges of 100 KB


def test_sync_on_a_dask_scheduler(oss_emulator, tmp_path, dask_client):
    files = {"a.txt": 100, "sub/b.txt": 2000, "big.bin": 250_000}
    root = build_tree(tmp_path / "tree", files, seed=4)
    proc = run_cli(["sync", str(root), f"oss://{oss_emulator.bucket}/s/", "--part-size", "100KB",
                    "--dask-scheduler", dask_client.scheduler.address, "-q",
                    "--manifest", str(tmp_path / "m.sqlite")], env=cli_env(oss_emulator), timeout=180)
    assert proc.returncode == 0, proc.stderr
    for rel in files:
        assert get_bytes(oss_emulator, "s/" + rel) == (root / rel).read_bytes()
    assert len(upload_part_requests(oss_emulator, "s/big.bin")) == 3


def test_processes_and_dask_scheduler_exclude_each_other(tmp_path):
    proc = run_cli(["cp", str(tmp_path), "oss://b/k", "--processes", "2", "--dask-scheduler",
                    "tcp://127.0.0.1:1"])
    assert proc.returncode == 2 and "not allowed with" in proc.stderr
