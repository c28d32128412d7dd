"""The C++ facade and the OSS C++ SDK resume each other's transfers
(ossresume_c.cpp_checkpoint_file through ossresume_c.cpp).

The first tests use the records a real C++ SDK program left when it was killed
mid-transfer (tests/data/cpp/, see its README), on a private emulator put back
in the state that run left.  The ``live`` tests run the C++ program itself in
both directions; they skip unless ``OSSRESUME_CPP_RESUMABLE`` names it (build
it with ``ci/cpp_interop.sh SDK_SRC_DIR``).
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from ossresume_c import cpp_checkpoint as cc
from ossresume_c.cpp import DownloadObjectRequest, OssClient, UploadObjectRequest
from ossresume_c.emulator import start_emulator

from cpp_interop import (PART_SIZE, PARTS, PROGRAM_ENV, kill_mid_transfer, open_uploads,
                         pattern_bytes, recorded_parts, replay_upload, run_cpp, uploaded_parts)
from helpers import file_crc, head

DATA = Path(__file__).parent / "data" / "cpp"


def manifest(kind: str) -> dict:
    return json.loads((DATA / kind / "manifest.json").read_text())


def client_for(emu) -> OssClient:
    client = OssClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
    client.SetRegion(emu.region)
    return client


def request_ops(emu, key):
    return [e for e in emu.request_log() if e.get("key") == key]


# -- the real records ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["upload", "download"])
def test_real_records_load_and_dump_byte_exact(kind):
    m = manifest(kind)
    data = (DATA / kind / m["record"]).read_bytes()
    rec = cc.load(data)
    if kind == "upload":
        assert isinstance(rec, cc.UploadRecord) and rec.part_size == m["part_size"]
        assert cc.dump_upload(rec) == data
        assert cc.upload_record_name(m["bucket"], m["key"], m["file_path"]) == m["record"]
    else:
        assert isinstance(rec, cc.DownloadRecord)
        assert sorted(p.part_number for p in rec.parts) == m["parts_recorded"]
        # The SDK lists parts in the order they finished; we write them ascending,
        # which it reads the same (md5Sum is computed over what is written).
        assert cc.load(cc.dump_download(rec)).parts == sorted(rec.parts, key=lambda p: p.part_number)
        assert cc.download_record_name(m["bucket"], m["key"], m["file_path"]) == m["record"]
    assert (rec.bucket, rec.key, rec.file_path, rec.size) == (m["bucket"], m["key"], m["file_path"],
                                                              m["size"])


@contextlib.contextmanager
def state_after_the_killed_cpp_upload(tmp_path, mtime_shift=0):
    """The recorded upload record in a checkpointDir, the file, and a private
    emulator holding the parts the C++ run had sent; yields what the test needs."""
    m = manifest("upload")
    record = (DATA / "upload" / m["record"]).read_bytes()
    rec = cc.load(record)
    assert isinstance(rec, cc.UploadRecord)
    src = tmp_path / "src.bin"
    data = pattern_bytes(m["size"])
    src.write_bytes(data)
    mtime = m["mtime"] + mtime_shift                 # unshifted: the record's whole-second mtime
    os.utime(src, (mtime, mtime))
    cpdir = tmp_path / "cps"
    cpdir.mkdir()
    (cpdir / cc.upload_record_name(m["bucket"], m["key"], str(src))).write_bytes(record)
    root = str(tmp_path / "emu")
    with start_emulator(root=root, buckets=[m["bucket"]]) as emu:
        replay_upload(emu, root, m["bucket"], m["key"], rec.upload_id, data, rec.part_size,
                      m["parts_on_server"])
        emu.clear_request_log()
        req = UploadObjectRequest(m["bucket"], m["key"], str(src), str(cpdir))
        req.setPartSize(m["part_size"])       # what the C++ program asked for
        yield SimpleNamespace(m=m, rec=rec, src=src, cpdir=cpdir, emu=emu, request=req)


def test_python_resumes_a_killed_cpp_upload_from_its_record(tmp_path):
    with state_after_the_killed_cpp_upload(tmp_path) as t:
        m, emu = t.m, t.emu
        outcome = client_for(emu).ResumableUploadObject(t.request)
        assert outcome.isSuccess(), outcome.error().Message()
        ops = [e["op"] for e in request_ops(emu, m["key"])]
        assert "InitiateMultipartUpload" not in ops and "AbortMultipartUpload" not in ops
        missing = sorted(set(range(1, m["parts"] + 1)) - set(m["parts_on_server"]))
        assert uploaded_parts(emu, m["key"]) == missing
        assert outcome.result().CRC64() == file_crc(t.src)
        assert head(emu, m["key"], m["bucket"])[1].crc64 == file_crc(t.src)
        assert open_uploads(emu, m["bucket"]) == []
    assert list(t.cpdir.iterdir()) == []


@contextlib.contextmanager
def state_after_the_killed_cpp_download(tmp_path, data: bytes):
    """The recorded download record and ``.temp``, and a private emulator holding
    ``data`` (the recorded object, or another of the same size)."""
    m = manifest("download")
    record = (DATA / "download" / m["record"]).read_bytes()
    target = tmp_path / "dst.bin"
    temp = Path(str(target) + ".temp")
    temp.write_bytes(gzip.decompress((DATA / "download" / "temp.gz").read_bytes()))
    assert temp.stat().st_size == m["temp_size"] < m["size"]  # it grows as parts land
    cpdir = tmp_path / "cps"
    cpdir.mkdir()
    (cpdir / cc.download_record_name(m["bucket"], m["key"], str(target))).write_bytes(record)
    with start_emulator(root=str(tmp_path / "emu"), buckets=[m["bucket"]]) as emu:
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        req = UploadObjectRequest(m["bucket"], m["key"], str(src))
        assert client_for(emu).ResumableUploadObject(req).isSuccess()
        emu.clear_request_log()
        dreq = DownloadObjectRequest(m["bucket"], m["key"], str(target), str(cpdir))
        dreq.setPartSize(m["part_size"])
        yield SimpleNamespace(m=m, emu=emu, target=target, temp=temp, cpdir=cpdir, request=dreq)


def test_python_resumes_a_killed_cpp_download_from_its_record(tmp_path):
    data = pattern_bytes(manifest("download")["size"])
    with state_after_the_killed_cpp_download(tmp_path, data) as t:
        outcome = client_for(t.emu).ResumableDownloadObject(t.request)
        assert outcome.isSuccess(), outcome.error().Message()
        gets = [e for e in request_ops(t.emu, t.m["key"]) if e["op"] == "GetObject"]
        assert len(gets) == t.m["parts"] - len(t.m["parts_recorded"])
    assert t.target.read_bytes() == data
    assert not t.temp.exists() and list(t.cpdir.iterdir()) == []


def test_an_object_replaced_by_one_of_the_same_size_fails_once_then_starts_over(tmp_path):
    """The C++ SDK answers CrcCheckError on every later call (its record stays)."""
    other = bytes(reversed(pattern_bytes(manifest("download")["size"])))
    with state_after_the_killed_cpp_download(tmp_path, other) as t:
        client = client_for(t.emu)
        first = client.ResumableDownloadObject(t.request)
        assert first.error().Status() == -978 and first.error().Code() == "InconsistentError"
        assert not t.temp.exists() and not t.target.exists()
        second = client.ResumableDownloadObject(t.request)
        assert second.isSuccess(), second.error().Message()
    assert t.target.read_bytes() == other and list(t.cpdir.iterdir()) == []


def test_a_changed_file_discards_the_cpp_record_and_aborts_its_upload(tmp_path):
    """What the C++ SDK leaks (it starts over without aborting), we abort."""
    with state_after_the_killed_cpp_upload(tmp_path, mtime_shift=1) as t:
        m, emu = t.m, t.emu
        outcome = client_for(emu).ResumableUploadObject(t.request)
        assert outcome.isSuccess(), outcome.error().Message()
        aborted = [e for e in request_ops(emu, m["key"]) if e["op"] == "AbortMultipartUpload"]
        assert [e["upload_id"] for e in aborted] == [t.rec.upload_id]
        assert uploaded_parts(emu, m["key"]) == list(range(1, m["parts"] + 1))
        assert open_uploads(emu, m["bucket"]) == []


def test_a_file_that_now_fits_one_request_aborts_the_cpp_records_upload(tmp_path):
    """The C++ SDK sends one PutObject and leaves the record and its upload."""
    with state_after_the_killed_cpp_upload(tmp_path) as t:
        m, emu = t.m, t.emu
        t.request.setPartSize(m["size"])
        outcome = client_for(emu).ResumableUploadObject(t.request)
        assert outcome.isSuccess(), outcome.error().Message()
        ops = [(e["op"], e["upload_id"]) for e in request_ops(emu, m["key"])]
        assert ops == [("AbortMultipartUpload", t.rec.upload_id), ("PutObject", None)]
        assert open_uploads(emu, m["bucket"]) == []
    assert list(t.cpdir.iterdir()) == []


# -- live: the C++ program itself --------------------------------------------------------

PROGRAM = os.environ.get(PROGRAM_ENV, "")
live = pytest.mark.skipif(not (PROGRAM and os.access(PROGRAM, os.X_OK)),
                          reason=f"{PROGRAM_ENV} does not name the built C++ program "
                                 "(ci/cpp_interop.sh SDK_SRC_DIR)")
BUCKET = "cpp-interop"


@pytest.fixture
def emu(tmp_path):
    with start_emulator(root=str(tmp_path / "emu"), buckets=[BUCKET]) as handle:
        yield handle


@contextlib.contextmanager
def throttled(emu, op):
    """A few parts a second, so that a cancelled transfer stops mid-way."""
    rule = emu.add_fault(op=op, action="throttle", bytes_per_sec=4 * PART_SIZE)
    try:
        yield
    finally:
        emu.remove_fault(rule)


def stop_after_four_parts(increment, transferred, total, user_data):
    """A TransferProgress handler: raising cancels the transfer, checkpoint kept."""
    if transferred >= 4 * PART_SIZE:
        raise RuntimeError("stop")


def _source(tmp_path) -> Path:
    src = tmp_path / "src.bin"
    src.write_bytes(pattern_bytes(PARTS * PART_SIZE))
    return src


@live
def test_live_cpp_killed_mid_upload_resumed_by_python(emu, tmp_path):
    src, cpdir = _source(tmp_path), tmp_path / "cps"
    cpdir.mkdir()
    before = kill_mid_transfer(PROGRAM, "up", emu, BUCKET, "u.bin", str(src), str(cpdir), 4,
                               lambda: uploaded_parts(emu, "u.bin"))
    assert 4 <= len(before) < PARTS and len(list(cpdir.iterdir())) == 1
    emu.clear_request_log()
    req = UploadObjectRequest(BUCKET, "u.bin", str(src), str(cpdir))
    req.setPartSize(PART_SIZE)
    outcome = client_for(emu).ResumableUploadObject(req)
    assert outcome.isSuccess(), outcome.error().Message()
    assert uploaded_parts(emu, "u.bin") == sorted(set(range(1, PARTS + 1)) - set(before))
    assert head(emu, "u.bin", BUCKET)[1].crc64 == file_crc(src)
    assert open_uploads(emu, BUCKET) == [] and list(cpdir.iterdir()) == []
    print(f"C++ sent {len(before)} parts before SIGKILL; Python sent {PARTS - len(before)}")


@live
def test_live_python_interrupted_upload_resumed_by_cpp(emu, tmp_path):
    src, cpdir = _source(tmp_path), tmp_path / "cps"

    req = UploadObjectRequest(BUCKET, "p.bin", str(src), str(cpdir))
    req.setPartSize(PART_SIZE)
    req.setThreadNum(1)
    req.setTransferProgress(stop_after_four_parts)
    with throttled(emu, "UploadPart"):
        assert client_for(emu).ResumableUploadObject(req).error().Code() == "CallbackCancelled"
    before = uploaded_parts(emu, "p.bin")
    assert 4 <= len(before) < PARTS
    emu.clear_request_log()
    res = run_cpp(PROGRAM, "up", emu, BUCKET, "p.bin", str(src), str(cpdir))
    assert res.returncode == 0 and res.stdout.startswith("OK"), res.stdout + res.stderr
    ops = [e["op"] for e in request_ops(emu, "p.bin")]
    assert "InitiateMultipartUpload" not in ops
    assert uploaded_parts(emu, "p.bin") == sorted(set(range(1, PARTS + 1)) - set(before))
    assert head(emu, "p.bin", BUCKET)[1].crc64 == file_crc(src)
    assert open_uploads(emu, BUCKET) == []
    assert not (cpdir / cc.upload_record_name(BUCKET, "p.bin", str(src))).exists()  # the SDK removed it
    print(f"Python sent {len(before)} parts before stopping; C++ sent {PARTS - len(before)}")


@live
def test_live_cpp_killed_mid_download_resumed_by_python(emu, tmp_path):
    src, cpdir, target = _source(tmp_path), tmp_path / "cps", tmp_path / "dst.bin"
    cpdir.mkdir()
    assert client_for(emu).ResumableUploadObject(UploadObjectRequest(BUCKET, "d.bin", str(src))).isSuccess()
    record = cpdir / cc.download_record_name(BUCKET, "d.bin", str(target))
    before = kill_mid_transfer(PROGRAM, "down", emu, BUCKET, "d.bin", str(target), str(cpdir), 4,
                               lambda: recorded_parts(str(record)))
    assert 4 <= len(before) < PARTS
    emu.clear_request_log()
    dreq = DownloadObjectRequest(BUCKET, "d.bin", str(target), str(cpdir))
    dreq.setPartSize(PART_SIZE)
    outcome = client_for(emu).ResumableDownloadObject(dreq)
    assert outcome.isSuccess(), outcome.error().Message()
    gets = [e for e in request_ops(emu, "d.bin") if e["op"] == "GetObject"]
    assert len(gets) == PARTS - len(before)
    assert target.read_bytes() == src.read_bytes() and list(cpdir.iterdir()) == []
    print(f"C++ fetched {len(before)} parts before SIGKILL; Python fetched {len(gets)}")


@live
def test_live_python_interrupted_download_resumed_by_cpp(emu, tmp_path):
    src, cpdir, target = _source(tmp_path), tmp_path / "cps", tmp_path / "dst.bin"
    assert client_for(emu).ResumableUploadObject(UploadObjectRequest(BUCKET, "q.bin", str(src))).isSuccess()

    dreq = DownloadObjectRequest(BUCKET, "q.bin", str(target), str(cpdir))
    dreq.setPartSize(PART_SIZE)
    dreq.setThreadNum(1)
    dreq.setTransferProgress(stop_after_four_parts)
    with throttled(emu, "GetObject"):
        assert client_for(emu).ResumableDownloadObject(dreq).error().Code() == "CallbackCancelled"
    record = cpdir / cc.download_record_name(BUCKET, "q.bin", str(target))
    before = recorded_parts(str(record))
    assert 4 <= len(before) < PARTS
    emu.clear_request_log()
    res = run_cpp(PROGRAM, "down", emu, BUCKET, "q.bin", str(target), str(cpdir))
    assert res.returncode == 0 and res.stdout.startswith("OK"), res.stdout + res.stderr
    gets = [e for e in request_ops(emu, "q.bin") if e["op"] == "GetObject"]
    assert len(gets) == PARTS - len(before)
    assert target.read_bytes() == src.read_bytes()
    assert not record.exists()
    print(f"Python fetched {len(before)} parts before stopping; C++ fetched {len(gets)}")


def test_data_readme_says_how_the_records_were_made():
    text = (DATA / "README.md").read_text()
    assert "ci/cpp_interop/record_checkpoints.py" in text and "SIGKILL" in text
