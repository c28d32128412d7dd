"""The ``ossresume`` command line, run as ``python -m ossresume_c`` subprocesses
against the emulator."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ossresume_c.cli import main, parse_oss_url, parse_size

from helpers import file_crc, head, make_file, upload_part_requests


def cli_env(emu, **extra):
    env = dict(os.environ)
    env.update(OSS_ENDPOINT=emu.endpoint, OSS_REGION=emu.region,
               OSS_ACCESS_KEY_ID=emu.access_key_id, OSS_ACCESS_KEY_SECRET=emu.access_key_secret,
               PYTHONIOENCODING="utf-8")
    env.pop("OSS_SESSION_TOKEN", None)
    env.update(extra)
    return env


def log_since(emu, since):
    """Requests to this test's bucket that started at or after ``since``: one
    run's requests, without clearing the log between runs."""
    return [e for e in emu.request_log() if e["time"] >= since and e.get("bucket") == emu.bucket]


def run_cli(args, env=None, cwd=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "ossresume_c", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


# -- argument parsing (pure) ----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("8MiB", 8 << 20), ("100KB", 102400), ("100kb", 102400), ("100K", 102400), ("65536", 65536),
    ("1G", 1 << 30), ("1.5MiB", 3 << 19), ("7B", 7), (" 2 MB ", 2 << 20),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "12XB", "-1", "1iB", "8 MiBs", "1e6"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_parse_oss_url():
    assert parse_oss_url("oss://bucket/dir/key.bin") == ("bucket", "dir/key.bin")
    assert parse_oss_url("OSS://bucket") == ("bucket", "")
    assert parse_oss_url("oss://bucket/pre/") == ("bucket", "pre/")
    assert parse_oss_url("/tmp/file") is None


# -- cp both ways ---------------------------------------------------------------------

def test_cp_upload_then_download(oss_emulator, tmp_path):
    src = make_file(tmp_path / "data.bin", 1_000_000, seed=1)
    env = cli_env(oss_emulator)
    up = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/dir/", "--part-size", "100KB",
                  "--threads", "3"], env)
    assert up.returncode == 0, up.stderr
    assert "CRC-64 verified" in up.stdout
    assert "100%" in up.stderr            # the tqdm bar reached the end
    assert "B/s" in up.stderr             # ... and shows a rate
    status, meta = head(oss_emulator, "dir/data.bin")
    assert status.is_ok() and meta.crc64 == file_crc(src)
    assert len(upload_part_requests(oss_emulator, "dir/data.bin")) == 10
    assert not os.path.exists(src + ".ucp")

    out_dir = tmp_path / "out"
    down = run_cli(["cp", f"oss://{oss_emulator.bucket}/dir/data.bin", str(out_dir) + os.sep,
                    "--part-size", "256KiB"], env)
    assert down.returncode == 0, down.stderr
    assert "downloaded" in down.stdout and "CRC-64 verified" in down.stdout
    assert (out_dir / "data.bin").read_bytes() == open(src, "rb").read()
    assert not os.path.exists(out_dir / "data.bin.dcp")


def test_cp_checkpoint_directory_and_v1_signature(oss_emulator, tmp_path):
    src = make_file(tmp_path / "v1.bin", 300_000, seed=2)
    cps = tmp_path / "cps"
    res = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/v1.bin", "--part-size", "100KB",
                   "--signature-version", "1", "--checkpoint", str(cps) + os.sep, "-q"],
                  cli_env(oss_emulator))
    assert res.returncode == 0, res.stderr
    assert cps.is_dir() and not [p for p in cps.iterdir() if p.suffix == ".ucp"]
    assert "%|" not in res.stderr          # -q: no bar
    assert head(oss_emulator, "v1.bin")[1].crc64 == file_crc(src)


# -- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["cp", "only-one"], "the following arguments are required"),
    (["cp", "a.bin", "b.bin"], "one side must be an oss://bucket/key URL"),
    (["cp", "oss://b1b/k", "oss://b2b/k"], "not supported"),
    (["cp", "a.bin", "oss://bkt/k", "--part-size", "12XB"], "not a size: '12XB'"),
    (["cp", "a.bin", "oss://bkt/k", "--threads", "0"], "must be 1..1024"),
    (["cp", "a.bin", "oss://bkt/k", "--signature-version", "3"], "invalid choice"),
    (["cp", "a.bin", "oss://bkt/k", "--checkpoint", "x", "--no-checkpoint"], "not allowed with"),
    (["cp", "-r", "oss://bkt/pre/", "dir"], "downloading a prefix is not supported"),
    (["cp", "oss:///key", "x.bin"], "no bucket"),
    (["frobnicate"], "invalid choice"),
    (["demo", "--size", "10KB"], "at least 1MiB"),
])
def test_bad_arguments_exit_2_with_a_clear_message(oss_emulator, args, message):
    res = run_cli(args, cli_env(oss_emulator))
    assert res.returncode == 2
    assert "usage:" in res.stderr
    assert message in res.stderr


def test_directory_without_r_and_r_on_a_file(oss_emulator, tmp_path):
    make_file(tmp_path / "f.bin", 10)
    env = cli_env(oss_emulator)
    res = run_cli(["cp", str(tmp_path), f"oss://{oss_emulator.bucket}/x"], env)
    assert res.returncode == 2 and "is a directory (use -r" in res.stderr
    res = run_cli(["cp", "-r", str(tmp_path / "f.bin"), f"oss://{oss_emulator.bucket}/x/"], env)
    assert res.returncode == 2 and "-r needs a directory" in res.stderr


def test_no_endpoint_is_a_usage_error(oss_emulator, tmp_path):
    env = cli_env(oss_emulator)
    env.pop("OSS_ENDPOINT")
    res = run_cli(["cp", str(tmp_path / "f"), "oss://bkt/k"], env)
    assert res.returncode == 2 and "no endpoint: pass --endpoint or set OSS_ENDPOINT" in res.stderr


def test_main_returns_2_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cp", "--part-size", "huge", "a", "oss://bkt/k"])
    assert exc.value.code == 2
    assert "not a size" in capsys.readouterr().err


def test_missing_file_prints_the_status(oss_emulator, tmp_path):
    res = run_cli(["cp", str(tmp_path / "nope.bin"), f"oss://{oss_emulator.bucket}/k"],
                  cli_env(oss_emulator))
    assert res.returncode == 1
    assert "upload failed: error 2 OpenFileFail" in res.stderr
    assert "No such file or directory" in res.stderr


def test_missing_object_prints_the_status_with_request_id(oss_emulator, tmp_path):
    res = run_cli(["cp", f"oss://{oss_emulator.bucket}/none.bin", str(tmp_path / "x.bin")],
                  cli_env(oss_emulator))
    assert res.returncode == 1
    assert "download failed: error 404" in res.stderr and "request id" in res.stderr
    assert not (tmp_path / "x.bin").exists()


def test_bad_endpoint_gives_a_clear_status(oss_emulator, tmp_path):
    with socket.socket() as s:           # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = make_file(tmp_path / "f.bin", 1000)
    started = time.monotonic()
    res = run_cli(["cp", src, "oss://bkt/k", "--endpoint", f"http://127.0.0.1:{port}",
                   "--max-retries", "0"], cli_env(oss_emulator))
    assert res.returncode == 1
    assert "upload failed: error -998 HttpIoError" in res.stderr
    assert time.monotonic() - started < 30


def test_wrong_credentials_hint(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 1000)
    res = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/k"],
                  cli_env(oss_emulator, OSS_ACCESS_KEY_SECRET="not-the-secret"))
    assert res.returncode == 1
    assert "error 403" in res.stderr and "SignatureDoesNotMatch" in res.stderr
    assert "hint: check the credentials" in res.stderr
    assert "not-the-secret" not in res.stderr + res.stdout


def test_no_credentials_is_a_usage_error_listing_the_places_looked(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 1000)
    env = cli_env(oss_emulator, HOME=str(tmp_path))
    env.pop("OSS_ACCESS_KEY_ID")
    env.pop("OSS_ACCESS_KEY_SECRET")
    res = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/k"], env)
    assert res.returncode == 2, res.stderr
    assert "no credentials found. Looked, in order:" in res.stderr
    lines = [line.strip() for line in res.stderr.splitlines() if line.strip()[:2] in {f"{i}." for i in range(1, 9)}]
    assert [line.split(" ")[1] for line in lines] == ["explicit", "environment:", "OIDC", "aliyun",
                                                      "credentials", "ossutil", "ECS", "credentials"]
    assert oss_emulator.request_log() == []     # nothing was sent


def test_profile_from_the_credentials_file(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 1000)
    ini = tmp_path / "credentials.ini"
    ini.write_text(f"[work]\ntype = access_key\naccess_key_id = {oss_emulator.access_key_id}\n"
                   f"access_key_secret = {oss_emulator.access_key_secret}\n")
    env = cli_env(oss_emulator, ALIBABA_CLOUD_CREDENTIALS_FILE=str(ini))
    env["OSS_ACCESS_KEY_SECRET"] = "wrong"      # --profile reads the profile files only
    res = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/k", "--profile", "work", "-q", "--json"], env)
    assert res.returncode == 0, res.stderr
    import json
    report = json.loads(res.stdout)
    assert report["ok"] and report["size"] == 1000 and report["destination"] == f"oss://{oss_emulator.bucket}/k"


# -- Ctrl-C then resume ---------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_prints_how_to_resume_and_the_rerun_resumes(oss_emulator, tmp_path):
    src = make_file(tmp_path / "big.bin", 2_000_000, seed=3)   # 20 parts of 100 KiB
    key = "ctrlc/big.bin"
    args = ["cp", src, f"oss://{oss_emulator.bucket}/{key}", "--part-size", "100KB", "--threads", "2"]
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.15)
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ossresume_c", *args], env=cli_env(oss_emulator),
                                stdout=subprocess.DEVNULL, stderr=err,
                                # a child of a background job would otherwise inherit SIGINT ignored
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 30
            while len([e for e in upload_part_requests(oss_emulator, key) if e["status"] == 200]) < 4:
                assert proc.poll() is None, "the upload ended before it could be interrupted"
                assert time.monotonic() < deadline, "no parts uploaded"
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = stderr_path.read_text()
    assert rc == 130, text
    assert "Run the same command again to resume" in text
    assert src + ".ucp" in text
    assert os.path.exists(src + ".ucp")
    first_run = {e["part_number"] for e in upload_part_requests(oss_emulator, key) if e["status"] == 200}
    assert 4 <= len(first_run) < 20

    oss_emulator.clear_faults()
    t0 = time.time()
    res = run_cli(args, cli_env(oss_emulator))
    assert res.returncode == 0, res.stderr
    assert "restored from the checkpoint" in res.stdout
    second_run = {e["part_number"] for e in log_since(oss_emulator, t0) if e["op"] == "UploadPart"}
    assert second_run == set(range(1, 21)) - first_run      # nothing sent twice
    assert head(oss_emulator, key)[1].crc64 == file_crc(src)
    assert not os.path.exists(src + ".ucp")


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_during_a_download_then_resume(oss_emulator, tmp_path):
    src = make_file(tmp_path / "obj.bin", 1_600_000, seed=4)
    env = cli_env(oss_emulator)
    assert run_cli(["cp", src, f"oss://{oss_emulator.bucket}/d.bin", "-q"], env).returncode == 0
    target = tmp_path / "copy.bin"
    args = ["cp", f"oss://{oss_emulator.bucket}/d.bin", str(target), "--part-size", "100KB",
            "--threads", "2"]
    oss_emulator.add_fault(op="GetObject", action="delay", seconds=0.15)
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "ossresume_c", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while len([e for e in log_since(oss_emulator, t0) if e["op"] == "GetObject"]) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert f"{target}.dcp" in err and "Run the same command again to resume" in err
    assert not target.exists() and os.path.exists(f"{target}.dcp")

    oss_emulator.clear_faults()
    t1 = time.time()
    res = run_cli(args, env)
    assert res.returncode == 0, res.stderr
    assert "restored from the checkpoint" in res.stdout
    assert len([e for e in log_since(oss_emulator, t1) if e["op"] == "GetObject"]) < 16
    assert target.read_bytes() == open(src, "rb").read()


def test_emulator_subcommand_serves(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ossresume_c", "emulator", "--root", str(tmp_path),
                             "--port", "0", "--bucket", "cli-bucket"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ossresume emulator listening on http://127.0.0.1:")
        endpoint = line.rsplit(" ", 1)[1].strip()
        src = make_file(tmp_path / "f.bin", 1000)
        env = dict(os.environ, OSS_ACCESS_KEY_ID="ossresume-emulator-ak",
                   OSS_ACCESS_KEY_SECRET="ossresume-emulator-secret")
        res = run_cli(["cp", src, "oss://cli-bucket/f.bin", "--endpoint", endpoint, "-q"], env)
        assert res.returncode == 0, res.stderr
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "OSS_ACCESS_KEY_ID=ossresume-emulator-ak" in err


def test_top_level_help_lists_the_commands():
    res = run_cli(["--help"])
    assert res.returncode == 0
    for command in ("cp", "emulator", "demo"):
        assert command in res.stdout


# -- cp -r ------------------------------------------------------------------------------

def _tree(root):
    files = {
        "top.txt": 5,
        "empty.dat": 0,
        "a/b/c/deep.bin": 1234,
        "données/été.txt": 40,
        "日本/データ.bin": 350_000,          # 4 parts of 100 KiB
    }
    for rel, size in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        make_file(path, size, seed=size)
    return files


def test_cp_r_nested_unicode_then_rerun_skips(oss_emulator, tmp_path):
    root = tmp_path / "tree"
    files = _tree(root)
    env = cli_env(oss_emulator, XDG_CACHE_HOME=str(tmp_path / "cache"))
    dest = f"oss://{oss_emulator.bucket}/backup"
    res = run_cli(["cp", "-r", str(root), dest, "--part-size", "100KB", "--threads", "4"], env)
    assert res.returncode == 0, res.stderr
    assert "5 uploaded" in res.stdout and "0 failed" in res.stdout
    for rel in files:
        status, meta = head(oss_emulator, "backup/" + rel)
        assert status.is_ok(), rel
        assert meta.crc64 == file_crc(root.joinpath(*rel.split("/"))), rel
    ops = [e["op"] for e in oss_emulator.request_log()]
    assert ops.count("InitiateMultipartUpload") == 1 and ops.count("PutObject") == 4

    make_file(root / "top.txt", 5, seed=99)           # same size, other bytes: CRC differs
    t0 = time.time()
    res = run_cli(["cp", "-r", str(root), dest + "/", "--part-size", "100KB"], env)
    assert res.returncode == 0, res.stderr
    assert "1 uploaded" in res.stdout and "4 skipped" in res.stdout
    written = [e for e in log_since(oss_emulator, t0) if e["op"] in ("PutObject", "UploadPart")]
    assert [e["key"] for e in written] == ["backup/top.txt"]
    assert head(oss_emulator, "backup/top.txt")[1].crc64 == file_crc(root / "top.txt")


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cp_r_ctrl_c_then_rerun_sends_only_the_rest(oss_emulator, tmp_path):
    root = tmp_path / "tree"
    (root / "d0").mkdir(parents=True)
    (root / "d1").mkdir()
    for i in range(6):
        make_file(root / f"d{i % 2}" / f"f{i}.bin", 2000 + i, seed=i)
    make_file(root / "big.bin", 500 * 1024, seed=9)
    cache = tmp_path / "cache"
    env = cli_env(oss_emulator, XDG_CACHE_HOME=str(cache))
    args = ["cp", "-r", str(root), f"oss://{oss_emulator.bucket}/t/", "--part-size", "100KB",
            "--threads", "2"]
    oss_emulator.add_fault(op=["PutObject", "UploadPart"], action="delay", seconds=0.15)
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "ossresume_c", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while not [e for e in log_since(oss_emulator, t0) if e["op"] == "UploadPart" and e["status"] == 200]:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted or not started" in out
    assert "Run the same command again to resume" in err and str(cache) in err
    first = {(e["key"], e["part_number"]) for e in log_since(oss_emulator, t0)
             if e["op"] in ("PutObject", "UploadPart") and e["status"] == 200}

    oss_emulator.clear_faults()
    t1 = time.time()
    res = run_cli(args, env)
    assert res.returncode == 0, res.stderr
    second = {(e["key"], e["part_number"]) for e in log_since(oss_emulator, t1)
              if e["op"] in ("PutObject", "UploadPart")}
    assert second and not first & second            # nothing sent twice
    assert len(first | second) == 6 + 5
    assert head(oss_emulator, "t/big.bin")[1].crc64 == file_crc(root / "big.bin")


def test_cp_r_failure_exits_1_with_the_status(oss_emulator, tmp_path):
    root = tmp_path / "tree"
    _tree(root)
    res = run_cli(["cp", "-r", str(root), "oss://no-such-bucket-here/x/", "-q"],
                  cli_env(oss_emulator, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert res.returncode == 1
    assert "5 failed" in res.stdout
    assert "NoSuchBucket" in res.stderr


def test_emulator_subcommand_help_is_the_emulators():
    res = run_cli(["emulator", "--help"])
    assert res.returncode == 0
    assert "--root" in res.stdout and "--port" in res.stdout and "--fault" in res.stdout


@pytest.mark.parametrize("mode, says", [("none", "trusted on their recorded CRC-64, 0 read back"),
                                        ("all", None)])
def test_cp_verify_option_reaches_the_resume(oss_emulator, tmp_path, mode, says):
    src = make_file(tmp_path / "data.bin", 600_000, seed=21)
    env = cli_env(oss_emulator)
    oss_emulator.server.add_fault(op="UploadPart", action="status", status=403, nth=4)
    first = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/v", "--part-size", "100KB",
                     "--threads", "1", "--max-retries", "0", "-q"], env)
    oss_emulator.server.clear_faults()
    assert first.returncode == 1 and os.path.exists(src + ".ucp"), first.stderr
    again = run_cli(["cp", src, f"oss://{oss_emulator.bucket}/v", "--part-size", "100KB",
                     "--verify", mode, "-q", "-v"], env)
    assert again.returncode == 0, again.stderr
    assert (says in again.stderr) if says else ("trusted on their recorded" not in again.stderr)
    status, meta = head(oss_emulator, "v")
    assert status.is_ok() and meta.crc64 == file_crc(src)
