"""resumable_download_file against the emulator: the C SDK's download scenarios,
ported, plus what the C SDK gets wrong (an object replaced mid-download)."""
from __future__ import annotations

import os
import random

import pytest

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import ops
from ossresume_c.transport import Transport

from helpers import make_file, options_for, ops_in_log

KB = 1024


def put(emu, key, data: bytes):
    with Transport(options_for(emu)) as t:
        status, _ = ops.put_object(t, emu.bucket, key, data)
    assert status.is_ok(), status


def download(emu, key, target, part_size=100 * KB, threads=3, checkpoint=True, cp_path=None,
             callback=None, resp_headers=None, **opts):
    params = oss.create_resumable_clt_params(part_size, threads, checkpoint, cp_path)
    return oss.resumable_download_file(options_for(emu, **opts), emu.bucket, key, str(target), None, None,
                                       params, callback, resp_headers)


def gets(emu):
    return [e for e in emu.server.request_log() if e.get("op") == "GetObject"]


@pytest.fixture
def obj(oss_emulator, tmp_path):
    data = random.Random(5).randbytes(1_000_000)
    put(oss_emulator, "dir/obj.bin", data)
    oss_emulator.server.clear_request_log()
    return data


@pytest.mark.parametrize("checkpoint", [True, False])
def test_download_with_and_without_checkpoint(oss_emulator, tmp_path, obj, checkpoint):
    target = tmp_path / "out.bin"
    resp_headers, calls = {}, []
    status = download(oss_emulator, "dir/obj.bin", target, checkpoint=checkpoint,
                      resp_headers=resp_headers, callback=lambda c, t: calls.append((c, t)))
    assert status.is_ok(), status
    assert target.read_bytes() == obj
    assert resp_headers.get("Content-Length") == str(len(obj))     # HEAD's headers
    assert not os.path.exists(str(target) + ".dcp") and not os.path.exists(str(target) + ".tmp")
    assert calls[-1] == (len(obj), len(obj))
    assert len(gets(oss_emulator)) == 10


@pytest.mark.parametrize("part_size,threads,expect_parts", [(10 * 1024 * KB, 16, 1), (64, 16, 10000)])
def test_part_sizes_with_10000_part_cap(oss_emulator, tmp_path, obj, part_size, threads, expect_parts):
    target = tmp_path / "out.bin"
    status = download(oss_emulator, "dir/obj.bin", target, part_size=part_size, threads=threads)
    assert status.is_ok(), status
    assert target.read_bytes() == obj
    assert len(gets(oss_emulator)) == expect_parts


def test_empty_object(oss_emulator, tmp_path):
    put(oss_emulator, "empty", b"")
    target = tmp_path / "e.bin"
    assert download(oss_emulator, "empty", target).is_ok()
    assert target.read_bytes() == b""


def test_garbage_dcp_and_random_tmp_rebuild(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    (tmp_path / "out.bin.dcp").write_bytes(os.urandom(300))
    (tmp_path / "out.bin.tmp").write_bytes(os.urandom(len(obj)))
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert target.read_bytes() == obj


def _interrupted(emu, target, fail_nth=4, **kw):
    emu.server.add_fault(op="GetObject", action="status", status=403, nth=fail_nth)
    status = download(emu, "dir/obj.bin", target, threads=1, max_retries=0, **kw)
    emu.server.clear_faults()
    assert status.code == 403
    emu.server.clear_request_log()


def test_resume_fetches_only_missing_parts(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target)
    cp = codec.load((tmp_path / "out.bin.dcp").read_bytes())
    assert cp.type == 2 and sum(p.completed for p in cp.parts) == 3
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert len(gets(oss_emulator)) == 7
    assert target.read_bytes() == obj


def test_dcp_with_99k_parts_is_resumed_with_its_own_layout(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target, part_size=99 * KB)
    assert download(oss_emulator, "dir/obj.bin", target, part_size=500 * KB).is_ok()
    assert len(gets(oss_emulator)) == -(-len(obj) // (99 * KB)) - 3
    assert target.read_bytes() == obj


def test_parts_marked_done_but_corrupt_in_tmp_are_fetched_again(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target)
    with open(str(target) + ".tmp", "r+b") as fh:      # damage part 2 (marked done)
        fh.seek(150 * KB)
        fh.write(b"\xff" * 100)
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert len(gets(oss_emulator)) == 8
    assert target.read_bytes() == obj


def test_all_incomplete_dcp_with_right_size_random_tmp(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target)
    cp = codec.load((tmp_path / "out.bin.dcp").read_bytes())
    for p in cp.parts:
        p.completed = False
    (tmp_path / "out.bin.dcp").write_bytes(codec.dump(cp))
    (tmp_path / "out.bin.tmp").write_bytes(os.urandom(len(obj)))
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert target.read_bytes() == obj


@pytest.mark.parametrize("tmp_state", ["missing", "wrong-size"])
def test_tmp_missing_or_wrong_size_restarts(oss_emulator, tmp_path, obj, tmp_state):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target)
    tmp = tmp_path / "out.bin.tmp"
    if tmp_state == "missing":
        tmp.unlink()
    else:
        tmp.write_bytes(b"short")
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert len(gets(oss_emulator)) == 10
    assert target.read_bytes() == obj


def test_object_replaced_between_runs_restarts_with_new_content(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    _interrupted(oss_emulator, target)
    new = os.urandom(len(obj))
    put(oss_emulator, "dir/obj.bin", new)
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert target.read_bytes() == new


def test_object_replaced_mid_download_fails_cleanly(oss_emulator, tmp_path, obj, monkeypatch):
    from ossresume_c.download import DownloadJob
    target = tmp_path / "out.bin"
    real, calls = DownloadJob._fetch_part, []

    def replace_before_the_second_part(self, index):
        # (not from the progress callback: the engine's caller thread runs it when one
        # is due, no longer after every part)
        calls.append(index)
        if len(calls) == 2:
            put(oss_emulator, "dir/obj.bin", os.urandom(len(obj)))
        return real(self, index)

    monkeypatch.setattr(DownloadJob, "_fetch_part", replace_before_the_second_part)
    status = download(oss_emulator, "dir/obj.bin", target, threads=1)
    assert status.code == 412 and status.error_code == "PreconditionFailed"
    assert not target.exists()
    assert os.path.exists(str(target) + ".dcp")


def test_object_not_found(oss_emulator, tmp_path):
    status = download(oss_emulator, "nope", tmp_path / "x")
    assert status.code == 404 and status.req_id
    assert not (tmp_path / "x.tmp").exists()


def test_impossible_target(oss_emulator, tmp_path, obj):
    status = download(oss_emulator, "dir/obj.bin", tmp_path / "no" / "dir" / "x")
    assert status.error_code == "OpenFileFail" and "does not exist" in status.error_msg
    assert ops_in_log(oss_emulator) == []
    status = download(oss_emulator, "dir/obj.bin", tmp_path)
    assert status.error_code == "OpenFileFail"


def test_crc_mismatch_is_reported_and_cleaned_up(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    oss_emulator.server.add_fault(op="HeadObject", action="bad_crc")
    status = download(oss_emulator, "dir/obj.bin", target)
    assert (status.code, status.error_code) == (-978, "InconsistentError")
    assert not target.exists() and not os.path.exists(str(target) + ".tmp")
    assert not os.path.exists(str(target) + ".dcp")


def test_broken_streams_and_5xx_are_retried(oss_emulator, tmp_path, obj):
    target = tmp_path / "out.bin"
    oss_emulator.server.add_fault(op="GetObject", action="reset", after_bytes=30_000, nth=2)
    oss_emulator.server.add_fault(op="GetObject", action="status", status=503, nth=4)
    assert download(oss_emulator, "dir/obj.bin", target).is_ok()
    assert target.read_bytes() == obj


def test_c_sdk_dcp_sample_loads():
    data = open(os.path.join(os.path.dirname(__file__), "data", "checkpoints", "csdk_download.dcp"),
                "rb").read()
    cp = codec.load(data)
    assert cp.type == 2 and cp.object_etag and any(p.completed and p.crc64 for p in cp.parts)


def test_upload_then_download_round_trip(oss_emulator, tmp_path):
    src = make_file(tmp_path / "src.bin", 2_500_000, seed=9)
    params = oss.create_resumable_clt_params(256 * KB, 4, True, None)
    assert oss.resumable_upload_file(options_for(oss_emulator), oss_emulator.bucket, "rt", src,
                                     clt_params=params).is_ok()
    out = tmp_path / "out.bin"
    assert download(oss_emulator, "rt", out, part_size=300 * KB, threads=4).is_ok()
    assert out.read_bytes() == open(src, "rb").read()
