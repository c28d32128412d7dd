"""What an upload resume reads back (issue 21): parts recorded with their CRC-64
are trusted on an unchanged file when the server's CRC-64 agrees, a sample is
still read, and everything is read when the record cannot be trusted."""
from __future__ import annotations

import logging
import os
import shutil

import pytest

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import journal as jnl
from ossresume_c import native

from helpers import file_crc, get_bytes, head, make_file, options_for, upload_part_requests

KB = 1024
PART = 100 * KB


def upload(emu, path, verify="sample", threads=1, **opts):
    params = oss.create_resumable_clt_params(PART, threads, True, None)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, "k", path, None, None,
                                     params, verify=verify)


def interrupted(emu, path, done):
    """An upload stopped for good after ``done`` parts: leaves a checkpoint and journal."""
    emu.server.add_fault(op="UploadPart", action="status", status=403, nth=done + 1)
    status = upload(emu, path, max_retries=0)
    emu.server.clear_faults()
    assert status.code == 403, status
    emu.server.clear_request_log()


@pytest.fixture
def reads(monkeypatch):
    """The local ranges read back for a CRC-64 during the resume."""
    seen = []
    real = native.crc64_file_range

    def spy(fd, offset, length):
        seen.append(offset // PART)
        return real(fd, offset, length)

    monkeypatch.setattr(native, "crc64_file_range", spy)
    return seen


def changed_in_place(path):
    """Rewrite bytes of part 2 and restore the mtime: size and mtime say "unchanged"."""
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.seek(PART + 10)
        fh.write(b"changed in place")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def sent(emu):
    return sorted(int(e["part_number"]) for e in upload_part_requests(emu))


def assert_object_is_file(emu, path):
    status, meta = head(emu, "k")
    assert status.is_ok() and meta.crc64 == file_crc(path)
    assert get_bytes(emu, "k") == open(path, "rb").read()


def test_the_checkpoint_records_each_finished_parts_crc64(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 10 * PART + 5, seed=1)
    interrupted(oss_emulator, path, done=4)
    data = open(path, "rb").read()
    cp = codec.load(open(path + ".ucp", "rb").read())
    done = [p for p in cp.parts if p.completed]
    assert len(done) == 4
    assert all(p.crc64 == native.crc64(data[p.offset:p.offset + p.size]) for p in done)


@pytest.mark.parametrize("verify, read_back", [("sample", 3), ("all", 20), ("none", 0)])
def test_what_each_mode_reads_back(oss_emulator, tmp_path, reads, verify, read_back):
    path = make_file(tmp_path / "f.bin", 30 * PART, seed=2)
    interrupted(oss_emulator, path, done=20)
    reads.clear()
    assert upload(oss_emulator, path, verify=verify).is_ok()
    assert len(reads) == read_back and set(reads) <= set(range(20))
    assert sent(oss_emulator) == list(range(21, 31))
    assert_object_is_file(oss_emulator, path)


def test_parts_the_checkpoint_missed_are_read(oss_emulator, tmp_path, reads):
    """A crash between the server's answer and the records: those parts are read."""
    path = make_file(tmp_path / "f.bin", 12 * PART, seed=3)
    interrupted(oss_emulator, path, done=10)
    cp = codec.load(open(path + ".ucp", "rb").read())
    for p in cp.parts[6:]:
        p.completed, p.etag, p.crc64 = False, "", 0
    open(path + ".ucp", "wb").write(codec.dump(cp))
    with open(path + ".ucp.jnl", "r+b") as fh:
        fh.truncate(jnl.HEADER_SIZE)
    reads.clear()
    assert upload(oss_emulator, path).is_ok()
    assert set(range(6, 10)) <= set(reads) and len(reads) == 4 + 3
    assert sent(oss_emulator) == [11, 12]
    assert_object_is_file(oss_emulator, path)


def test_a_replaced_file_with_the_same_size_and_mtime_is_read(oss_emulator, tmp_path, reads):
    path = make_file(tmp_path / "f.bin", 8 * PART, seed=4)
    interrupted(oss_emulator, path, done=5)
    shutil.copy2(path, path + ".new")            # same bytes, size and mtime; another inode
    os.replace(path + ".new", path)
    reads.clear()
    assert upload(oss_emulator, path).is_ok()
    assert sorted(reads) == list(range(5))
    assert_object_is_file(oss_emulator, path)


def test_a_part_rewritten_in_place_is_caught_by_the_sample(oss_emulator, tmp_path, reads, caplog):
    """Three trusted parts are all sampled: the one rewritten (mtime restored)
    fails, every part is then read, and the rewritten part is sent again."""
    path = make_file(tmp_path / "f.bin", 5 * PART, seed=5)
    interrupted(oss_emulator, path, done=3)
    changed_in_place(path)
    reads.clear()
    with caplog.at_level(logging.WARNING, logger="ossresume_c"):
        assert upload(oss_emulator, path).is_ok()
    assert "sampled part differs" in caplog.text
    assert sent(oss_emulator) == [2, 4, 5]
    assert_object_is_file(oss_emulator, path)


def test_none_trusts_the_record_like_the_c_sdk(oss_emulator, tmp_path, reads):
    """"none" reads nothing: a part rewritten in place with its mtime restored is
    not noticed (the documented price of the C SDK's trust)."""
    path = make_file(tmp_path / "f.bin", 5 * PART, seed=6)
    interrupted(oss_emulator, path, done=3)
    changed_in_place(path)
    reads.clear()
    assert upload(oss_emulator, path, verify="none").is_ok()
    assert reads == [] and sent(oss_emulator) == [4, 5]


def test_an_unknown_verify_mode_is_a_programming_error(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 10, seed=7)
    with pytest.raises(ValueError):
        upload(oss_emulator, path, verify="some")
