"""``ossresume rm``: one object, a prefix with -r, and --dry-run that deletes nothing."""
from __future__ import annotations

import pytest
from cli_objects import put, run, run_json


def keys(emu, monkeypatch, capsys):
    code, doc, _ = run_json(emu, monkeypatch, capsys, "ls", "-r", f"oss://{emu.bucket}")
    assert code == 0
    return [o["key"] for o in doc["objects"]]


def test_rm_one_object(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, {"a": b"1", "b": b"2"})
    code, out, _ = run(oss_emulator, monkeypatch, capsys, "rm", f"oss://{oss_emulator.bucket}/a")
    assert code == 0 and out.strip() == f"deleted oss://{oss_emulator.bucket}/a"
    assert keys(oss_emulator, monkeypatch, capsys) == ["b"]


def test_dry_run_then_recursive(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, {"p/1": b"1", "p/q/2": b"2", "keep": b"3"})
    url = f"oss://{oss_emulator.bucket}/p/"
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "rm", "-r", "--dry-run", url)
    assert code == 0 and doc["would_delete"] == ["p/1", "p/q/2"] and doc["dry_run"]
    assert keys(oss_emulator, monkeypatch, capsys) == ["keep", "p/1", "p/q/2"]
    assert not [e for e in oss_emulator.request_log() if e["op"] == "DeleteObject"]
    code, out, _ = run(oss_emulator, monkeypatch, capsys, "rm", "-r", url)
    assert code == 0 and len(out.splitlines()) == 2
    assert keys(oss_emulator, monkeypatch, capsys) == ["keep"]


def test_failed_deletes_give_exit_1(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, {"f/1": b"1", "f/2": b"2"})
    oss_emulator.add_fault(op="DeleteObject", action="status", status=403, nth=2)
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "rm", "-r", "--max-retries", "0",
                            f"oss://{oss_emulator.bucket}/f/")
    assert code == 1 and doc["deleted"] == ["f/1"] and [f["key"] for f in doc["failed"]] == ["f/2"]


def test_rm_without_r_needs_a_key(oss_emulator, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        run(oss_emulator, monkeypatch, capsys, "rm", f"oss://{oss_emulator.bucket}/dir/")
    assert info.value.code == 2
