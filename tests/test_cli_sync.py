"""``ossresume sync`` / ``cp -r`` as subprocesses against the emulator: output, exit codes,
Ctrl-C and SIGKILL at random moments followed by a re-run."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ossresume_c.manifest import Manifest

from helpers import build_tree, get_bytes, make_file

WRITES = {"PutObject", "UploadPart", "InitiateMultipartUpload", "CompleteMultipartUpload",
          "DeleteObject"}


def cli_env(emu, tmp_path):
    env = dict(os.environ)
    env.update(OSS_ENDPOINT=emu.endpoint, OSS_REGION=emu.region, OSS_ACCESS_KEY_ID=emu.access_key_id,
               OSS_ACCESS_KEY_SECRET=emu.access_key_secret, PYTHONIOENCODING="utf-8",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("OSS_SESSION_TOKEN", None)
    return env


def run_cli(args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "ossresume_c", *args], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def log_since(emu, t0):
    return [e for e in emu.request_log() if e["time"] >= t0 and e.get("bucket") == emu.bucket]


def assert_mirrored(emu, root, prefix):
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            key = prefix + os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, "rb") as fh:
                assert get_bytes(emu, key) == fh.read(), key


def test_sync_json_lines_filters_and_an_unchanged_rerun(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a.txt": 10, "b.log": 20, "sub/c.txt": 30})
    env = cli_env(oss_emulator, tmp_path)
    dest = f"oss://{oss_emulator.bucket}/s/"
    res = run_cli(["sync", str(root), dest, "--json", "-q", "--exclude", "*", "--include", "*.txt"], env)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert sorted((o["action"], o["key"]) for o in lines[:-1]) == [("uploaded", "s/a.txt"),
                                                                  ("uploaded", "s/sub/c.txt")]
    assert lines[-1]["summary"]["uploaded"] == 2 and lines[-1]["summary"]["list_pages"] == 1
    t0 = time.time()
    res = run_cli(["sync", str(root), dest, "--json", "-q", "--exclude", "*", "--include", "*.txt"], env)
    assert res.returncode == 0 and json.loads(res.stdout.splitlines()[-1])["summary"]["skipped"] == 2
    assert [e["op"] for e in log_since(oss_emulator, t0)] == ["ListObjects"]


def test_sync_dry_run_and_delete(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"keep.txt": 10})
    env = cli_env(oss_emulator, tmp_path)
    dest = f"oss://{oss_emulator.bucket}/d/"
    assert run_cli(["sync", str(root), dest, "-q"], env).returncode == 0
    os.remove(root / "keep.txt")
    (root / "new.txt").write_bytes(b"new")
    t0 = time.time()
    res = run_cli(["sync", str(root), dest, "--delete", "--dry-run", "-q"], env)
    assert res.returncode == 0, res.stderr
    assert f"would-delete: oss://{oss_emulator.bucket}/d/keep.txt" in res.stderr
    assert "would-upload: " in res.stderr and "d/new.txt" in res.stderr
    assert not {e["op"] for e in log_since(oss_emulator, t0)} & WRITES
    res = run_cli(["sync", str(root), dest, "--delete", "-q"], env)
    assert res.returncode == 0 and "1 deleted" in res.stdout
    assert_mirrored(oss_emulator, root, "d/")


def test_a_manifest_in_use_exits_2_before_any_request(oss_emulator, tmp_path):
    root = build_tree(tmp_path / "t", {"a": 1})
    env = cli_env(oss_emulator, tmp_path)
    t0 = time.time()
    with Manifest(str(tmp_path / "m.sqlite")):
        res = run_cli(["sync", str(root), f"oss://{oss_emulator.bucket}/", "--manifest",
                       str(tmp_path / "m.sqlite"), "-q"], env)
    assert res.returncode == 2 and "in use by another running sync" in res.stderr
    assert log_since(oss_emulator, t0) == []


def _start(args, env, stderr):
    return subprocess.Popen([sys.executable, "-m", "ossresume_c", *args], env=env,
                            stdout=subprocess.PIPE, stderr=stderr, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_writes(emu, proc, t0, count):
    deadline = time.monotonic() + 60
    while len([e for e in log_since(emu, t0) if e["op"] in WRITES and e["status"] == 200]) < count:
        assert proc.poll() is None, "the sync ended before the moment to stop it"
        assert time.monotonic() < deadline, "too few requests"
        time.sleep(0.02)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_exits_130_with_the_summary_and_the_rerun_sends_only_what_is_missing(oss_emulator, tmp_path):
    files = {f"s{i:02d}.txt": 100 + i for i in range(20)}
    files["zbig.bin"] = 1_000_000                        # 10 parts of 100 KiB
    root = build_tree(tmp_path / "t", files)
    env = cli_env(oss_emulator, tmp_path)
    args = ["cp", "-r", str(root), f"oss://{oss_emulator.bucket}/c/", "--part-size", "100KB",
            "--threads", "2"]
    oss_emulator.add_fault(op=["UploadPart", "PutObject"], action="delay", seconds=0.1)
    t0 = time.time()
    with open(tmp_path / "err.txt", "w") as err:
        proc = _start(args, env, err)
        try:
            _wait_for_writes(oss_emulator, proc, t0, 23)       # the small files and a few parts
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 130, text
    assert "uploaded" in out and "Run the same command again" in text
    first = {(e["key"], e.get("part_number")) for e in log_since(oss_emulator, t0)
             if e["op"] in ("PutObject", "UploadPart") and e["status"] == 200}
    oss_emulator.clear_faults()
    t1 = time.time()
    res = run_cli(args, env)
    assert res.returncode == 0, res.stderr
    second = {(e["key"], e.get("part_number")) for e in log_since(oss_emulator, t1)
              if e["op"] in ("PutObject", "UploadPart")}
    assert not first & second                                    # nothing sent twice
    assert_mirrored(oss_emulator, root, "c/")


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sigkill_at_a_random_moment_then_rerun_gives_byte_exact_objects(oss_emulator, tmp_path, seed):
    rng = random.Random(seed)
    files = {f"d{i % 4}/f{i:03d}.bin": rng.randrange(0, 3000) for i in range(60)}
    files["big/a.bin"] = 450 * 1024
    root = build_tree(tmp_path / "t", files)
    env = cli_env(oss_emulator, tmp_path)
    args = ["sync", str(root), f"oss://{oss_emulator.bucket}/k/", "--part-size", "100KB",
            "--threads", "3", "-q"]
    oss_emulator.add_fault(op=["UploadPart", "PutObject"], action="delay", seconds=0.02)
    t0 = time.time()
    proc = _start(args, env, subprocess.DEVNULL)
    try:
        _wait_for_writes(oss_emulator, proc, t0, rng.randrange(1, 55))
    finally:
        proc.kill()
        proc.wait()
    oss_emulator.clear_faults()
    # what a user may do between the runs: change uploaded files, same size, new bytes
    for rel in rng.sample(sorted(files), 5):
        path = root.joinpath(*rel.split("/"))
        make_file(path, files[rel], seed=rng.randrange(1 << 30))
    res = run_cli(args, env)
    assert res.returncode == 0, res.stderr
    assert_mirrored(oss_emulator, root, "k/")
