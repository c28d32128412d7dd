"""put_file: the one small-file PutObject of resumable_upload_file and upload_tree."""
from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as hs

from ossresume_c import status as st
from ossresume_c.put_file import (SentFile, change_since, guess_content_type, put_file,
                                  with_content_type)
from ossresume_c.transport import Transport

from helpers import file_crc, get_bytes, head, make_file, options_for


def test_sends_the_whole_file_with_its_crc(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.json", 70_000, seed=3)
    with Transport(options_for(oss_emulator)) as t:
        status, sent = put_file(t, oss_emulator.bucket, "d/f.json", path)
    assert status.is_ok(), status
    assert sent == SentFile(70_000, file_crc(path))
    assert get_bytes(oss_emulator, "d/f.json") == open(path, "rb").read()
    status, meta = head(oss_emulator, "d/f.json")
    assert meta.crc64 == sent.crc64
    assert status.resp_headers.get("Content-Type") == "application/json"


def test_an_empty_file_is_an_empty_object(oss_emulator, tmp_path):
    path = make_file(tmp_path / "empty", 0)
    with Transport(options_for(oss_emulator)) as t:
        status, sent = put_file(t, oss_emulator.bucket, "empty", path, {"Content-Type": "text/x-mine"})
    assert status.is_ok() and sent == SentFile(0, 0)
    assert head(oss_emulator, "empty")[0].resp_headers.get("Content-Type") == "text/x-mine"


def test_a_missing_file_is_a_status(oss_emulator, tmp_path):
    with Transport(options_for(oss_emulator)) as t:
        status, sent = put_file(t, oss_emulator.bucket, "k", str(tmp_path / "nope"))
    assert sent is None and status.error_code == "OpenFileFail" and not status.is_ok()
    assert oss_emulator.server.request_log() == []


def test_a_file_that_is_not_the_planned_one_is_not_sent(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1000, seed=1)
    planned = os.stat(path)
    os.replace(make_file(tmp_path / "other.bin", 1000, seed=2), path)   # same size, another file
    with Transport(options_for(oss_emulator)) as t:
        status, sent = put_file(t, oss_emulator.bucket, "k", path, expect=planned)
    assert sent is None and status.code == st.INCONSISTENT_ERROR and status.error_code == "FileChanged"
    assert "replaced" in status.error_msg
    assert oss_emulator.server.request_log() == []


def test_change_since(tmp_path):
    path = make_file(tmp_path / "f.bin", 100)
    before = os.stat(path)
    assert change_since(before, path) is None
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert "modification time" in change_since(before, path)
    os.unlink(path)
    assert change_since(before, path)


@settings(deadline=None)   # a loaded machine must not fail a property
@given(ext=hs.sampled_from(["", ".ts", ".m3u8", ".txt", ".JSON", ".no-such-ext"]),
       stem=hs.text(alphabet="abc/._-", max_size=20))
def test_content_type_is_guessed_unless_given(ext, stem):
    key = stem + ext
    guessed = with_content_type(None, key)
    assert guessed == {"Content-Type": guess_content_type(key)} and guessed["Content-Type"]
    given_type = {"content-TYPE": "x/y", "x-oss-meta-a": "1"}
    assert with_content_type(given_type, key) == given_type
