"""The ported C and C++ samples in examples/, and the README's first-screen
commands and example, run against the emulator."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import file_crc, head, make_file, upload_part_requests

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def example_env(emu):
    env = dict(os.environ)
    env.update(OSS_ENDPOINT=emu.endpoint, OSS_REGION=emu.region, OSS_BUCKET=emu.bucket,
               OSS_ACCESS_KEY_ID=emu.access_key_id, OSS_ACCESS_KEY_SECRET=emu.access_key_secret)
    env.pop("OSS_SESSION_TOKEN", None)
    return env


def run(cmd, env, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def first_screen():
    """The README up to the first horizontal rule: what a visitor sees first."""
    return README.split("\n---\n", 1)[0]


def test_c_style_example(oss_emulator, tmp_path):
    src = make_file(tmp_path / "local.bin", 350 * 1024, seed=11)
    res = run([sys.executable, str(ROOT / "examples" / "upload_c_style.py"), src, "c/obj.bin"],
              example_env(oss_emulator))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resumable upload succeeded" in res.stdout
    assert len(upload_part_requests(oss_emulator, "c/obj.bin")) == 4    # 1024*100-byte parts
    assert head(oss_emulator, "c/obj.bin")[1].crc64 == file_crc(src)
    assert not os.path.exists(src + ".ucp")                               # AOS_TRUE, NULL path


def test_c_style_example_reports_failure(oss_emulator, tmp_path):
    src = make_file(tmp_path / "local.bin", 10)
    env = example_env(oss_emulator)
    env["OSS_BUCKET"] = "no-such-bucket-example"
    res = run([sys.executable, str(ROOT / "examples" / "upload_c_style.py"), src], env)
    assert res.returncode == 1
    assert "resumable upload failed: code 404, error_code NoSuchBucket" in res.stdout


def test_cpp_style_example(oss_emulator, tmp_path):
    src = make_file(tmp_path / "local.bin", 250 * 1024, seed=12)
    cps = tmp_path / "checkpoints"
    res = run([sys.executable, str(ROOT / "examples" / "upload_cpp_style.py"), src, "cpp/obj.bin",
               str(cps)], example_env(oss_emulator))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ResumableUploadObject success, ETag:" in res.stdout
    assert cps.is_dir()
    assert head(oss_emulator, "cpp/obj.bin")[1].crc64 == file_crc(src)

    env = example_env(oss_emulator)
    env["OSS_BUCKET"] = "no-such-bucket-example"
    res = run([sys.executable, str(ROOT / "examples" / "upload_cpp_style.py"), src], env, cwd=tmp_path)
    assert res.returncode == 1
    assert "ResumableUploadObject fail,code:NoSuchBucket" in res.stdout


def test_readme_first_screen_has_install_demo_tests_and_example():
    screen = first_screen()
    assert "pip install ." in screen
    assert re.search(r"^ossresume demo\b", screen, re.M)
    assert "```python" in screen and "oss.resumable_upload_file(" in screen


def test_readme_test_command_is_the_one_ci_runs():
    """.ci/run takes the text after the marker on the first marked line."""
    marked = [line for line in README.splitlines() if "<!-- test-command -->" in line]
    assert len(marked) == 1
    command = marked[0].split("<!-- test-command -->", 1)[1].strip()
    assert command == "python -m pytest -q"
    shown = re.search(r"```sh test\n(.+?)\n```", README, re.S).group(1)
    assert shown.strip().endswith(command)


def test_readme_c_style_example_runs(oss_emulator, tmp_path):
    code = re.search(r"```python\n(.+?)```", first_screen(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    make_file(tmp_path / "local.bin", 300 * 1024, seed=13)
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    res = run([sys.executable, "example.py"], example_env(oss_emulator), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("OK 200")
    assert len(upload_part_requests(oss_emulator, "dir/object.bin")) == 3
    assert head(oss_emulator, "dir/object.bin")[1].crc64 == file_crc(tmp_path / "local.bin")


def test_readme_pytest_fixture_example(oss_emulator, tmp_path):
    block = next(b for b in re.findall(r"```python\n(.+?)```", README, re.S) if "def test_" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_")]
    assert len(tests) == 1
    tests[0](oss_emulator, tmp_path)
    assert [e for e in oss_emulator.request_log() if e["status"] == 503]


@pytest.mark.parametrize("name", ["upload_c_style.py", "upload_cpp_style.py"])
def test_examples_print_usage_without_arguments(name):
    res = run([sys.executable, str(ROOT / "examples" / name)], dict(os.environ))
    assert res.returncode == 2 and "python examples/" + name in res.stderr
