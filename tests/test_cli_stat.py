"""``ossresume stat``: size, ETag, CRC-64, Last-Modified, storage class, user metadata."""
from __future__ import annotations

import pytest
from cli_objects import put, run, run_json
from crc64_reference import crc64

BODY = b"hello stat" * 1000


def test_stat_text_and_json(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, {"s/obj": BODY}, {"x-oss-meta-color": "blue", "Content-Type": "text/plain"})
    url = f"oss://{oss_emulator.bucket}/s/obj"
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "stat", url)
    assert code == 0
    assert doc["size"] == len(BODY) and doc["crc64"] == str(crc64(BODY))
    assert doc["metadata"] == {"color": "blue"} and doc["storage_class"] == "Standard"
    assert doc["content_type"] == "text/plain" and doc["etag"] and doc["last_modified"]
    code, out, _ = run(oss_emulator, monkeypatch, capsys, "stat", url)
    assert code == 0
    assert "9.8 KiB (10000 bytes)" in out and f"CRC-64:        {crc64(BODY)}" in out
    assert "color: blue" in out and "Storage class: Standard" in out


def test_missing_object_exit_1(oss_emulator, monkeypatch, capsys):
    code, _, err = run(oss_emulator, monkeypatch, capsys, "stat", f"oss://{oss_emulator.bucket}/nope")
    assert code == 1 and "404" in err


def test_stat_needs_a_key(oss_emulator, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        run(oss_emulator, monkeypatch, capsys, "stat", f"oss://{oss_emulator.bucket}/dir/")
    assert info.value.code == 2
