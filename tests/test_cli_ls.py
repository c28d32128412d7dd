"""``ossresume ls``: one level or recursive, long listing with human sizes, JSON."""
from __future__ import annotations

from cli_objects import put, run, run_json

OBJECTS = {"a.txt": b"x" * 10, "dir/b.bin": b"y" * 3000, "dir/sub/c.bin": b"z" * (3 << 20), "zz": b""}


def test_one_level_shows_directories(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, OBJECTS)
    code, out, _ = run(oss_emulator, monkeypatch, capsys, "ls", f"oss://{oss_emulator.bucket}")
    b = oss_emulator.bucket
    assert code == 0
    assert out.splitlines() == [f"oss://{b}/a.txt", f"oss://{b}/dir/", f"oss://{b}/zz"]


def test_recursive_long_listing_with_human_sizes(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, OBJECTS)
    code, out, _ = run(oss_emulator, monkeypatch, capsys, "ls", "-r", "-l", f"oss://{oss_emulator.bucket}/dir/")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert "2.9 KiB" in lines[0] and lines[0].endswith("/dir/b.bin") and "Standard" in lines[0]
    assert "3.0 MiB" in lines[1] and lines[1].endswith("/dir/sub/c.bin")
    assert lines[2] == "2 object(s), 3.0 MiB"


def test_json_listing(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, OBJECTS)
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "ls", f"oss://{oss_emulator.bucket}/")
    assert code == 0
    assert [o["key"] for o in doc["objects"]] == ["a.txt", "zz"] and doc["prefixes"] == ["dir/"]
    assert doc["objects"][0]["size"] == 10 and doc["objects"][0]["etag"] and doc["objects"][0]["last_modified"]
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "ls", "-r", f"oss://{oss_emulator.bucket}")
    assert [o["key"] for o in doc["objects"]] == sorted(OBJECTS) and doc["total_size"] == 3000 + 10 + (3 << 20)


def test_many_pages(oss_emulator, monkeypatch, capsys):
    put(oss_emulator, {f"k{i:04d}": b"" for i in range(1005)})
    code, doc, _ = run_json(oss_emulator, monkeypatch, capsys, "ls", "-r", f"oss://{oss_emulator.bucket}")
    assert code == 0 and [o["key"] for o in doc["objects"]] == [f"k{i:04d}" for i in range(1005)]


def test_missing_bucket_fails_with_exit_1(oss_emulator, monkeypatch, capsys):
    code, _, err = run(oss_emulator, monkeypatch, capsys, "ls", "oss://no-such-bucket-here")
    assert code == 1 and "NoSuchBucket" in err
