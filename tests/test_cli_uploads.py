"""``ossresume uploads ls|abort``: the table, the refusal to abort without a selection,
and --dry-run sending no write request (the emulator's request log)."""
from __future__ import annotations

import pytest

from ossresume_c import ops
from ossresume_c.cli import main
from ossresume_c.cli_uploads import parse_duration
from ossresume_c.transport import Transport
from helpers import options_for

WRITES = {"PUT", "POST", "DELETE"}


@pytest.fixture
def env(oss_emulator, monkeypatch):
    monkeypatch.setenv("OSS_ENDPOINT", oss_emulator.endpoint)
    monkeypatch.setenv("OSS_REGION", oss_emulator.region)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", oss_emulator.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", oss_emulator.access_key_secret)
    monkeypatch.delenv("OSS_SESSION_TOKEN", raising=False)
    return oss_emulator


def _initiate(emu, key, part=b""):
    with Transport(options_for(emu)) as t:
        _status, upload_id = ops.initiate_multipart_upload(t, emu.bucket, key)
        if part:
            ops.upload_part(t, emu.bucket, key, upload_id, 1, part)
    return upload_id


@pytest.mark.parametrize("text,seconds", [("7d", 7 * 86400), ("12h", 43200), ("30m", 1800),
                                          ("45s", 45), ("2w", 14 * 86400), ("90", 90), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7x", "-1d", "d", "7 days"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_ls_prints_key_id_initiated_parts_bytes(env, capsys):
    upload_id = _initiate(env, "logs/app.log", b"y" * 1234)
    assert main(["uploads", "ls", f"oss://{env.bucket}/logs/"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("logs/app.log"))
    assert row.split()[1:2] == [upload_id] and row.split()[-2:] == ["1", "1234"]
    assert "1 unfinished upload(s)" in out


def test_abort_without_a_selection_is_a_usage_error(env, capsys):
    _initiate(env, "k")
    env.clear_request_log()
    with pytest.raises(SystemExit) as exc:
        main(["uploads", "abort", f"oss://{env.bucket}"])
    assert exc.value.code == 2
    assert env.request_log() == []


def test_dry_run_sends_no_write_request(env, capsys):
    a, b = _initiate(env, "x/a"), _initiate(env, "x/b")
    env.clear_request_log()
    assert main(["uploads", "abort", f"oss://{env.bucket}/x/", "--all", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would abort\tx/a\t{a}" in out and f"would abort\tx/b\t{b}" in out
    log = env.request_log()
    assert log and not [e for e in log if e["method"] in WRITES]
    assert {e["op"] for e in log} == {"ListMultipartUploads"}


def test_abort_older_than_and_all(env, capsys):
    a = _initiate(env, "y/a")
    assert main(["uploads", "abort", f"oss://{env.bucket}/y/", "--older-than", "7d"]) == 0
    assert "0 upload(s) aborted" in capsys.readouterr().out
    assert main(["uploads", "abort", f"oss://{env.bucket}/y/", "--all"]) == 0
    assert f"aborted\ty/a\t{a}" in capsys.readouterr().out
    assert [e["op"] for e in env.request_log()].count("AbortMultipartUpload") == 1
    assert main(["uploads", "ls", f"oss://{env.bucket}/y/"]) == 0
    assert "0 unfinished upload(s)" in capsys.readouterr().out


def test_bad_url_and_failures(env, capsys):
    assert main(["uploads", "ls", "s3://nope"]) == 2
    env.add_fault(op="ListMultipartUploads", action="status", status=403, code="AccessDenied")
    assert main(["uploads", "ls", f"oss://{env.bucket}", "--max-retries", "0"]) == 1
    assert "AccessDenied" in capsys.readouterr().err
