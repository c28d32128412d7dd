"""The C++-SDK-style facade (``OssClient.ResumableUploadObject`` ...)."""
from __future__ import annotations

import os

import ossresume_c as oss
from ossresume_c import cpp_checkpoint
from ossresume_c.cpp import (ClientConfiguration, ObjectMetaData, OssClient, SignatureVersionType,
                             UploadObjectRequest)
from ossresume_c.cpp_checkpoint import upload_record_name

from helpers import file_crc, head, make_file, upload_part_requests


def client_for(emu, conf=None):
    client = OssClient(emu.endpoint, emu.access_key_id, emu.access_key_secret, conf)
    client.SetRegion(emu.region)
    return client


def test_request_defaults_and_setters():
    req = oss.UploadObjectRequest("bkt", "k", "/tmp/f", "/tmp/cp")
    assert (req.PartSize(), req.ThreadNum()) == (8 * 1024 * 1024, 3)
    assert (req.Bucket(), req.Key(), req.FilePath(), req.CheckpointDir()) == ("bkt", "k", "/tmp/f", "/tmp/cp")
    req.setPartSize(100 * 1024)
    req.setThreadNum(5)
    req.setCheckpointDir("")
    assert (req.PartSize(), req.ThreadNum(), req.CheckpointDir()) == (100 * 1024, 5, "")
    down = oss.DownloadObjectRequest("bkt", "k", "/tmp/f")
    assert (down.PartSize(), down.ThreadNum(), down.CheckpointDir()) == (8 * 1024 * 1024, 3, "")


def test_resumable_upload_with_checkpoint_dir(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 500 * 1024, seed=7)
    cp_dir = tmp_path / "missing" / "cps"           # created on demand
    req = UploadObjectRequest(oss_emulator.bucket, "cpp/f.bin", src, str(cp_dir))
    req.setPartSize(100 * 1024)
    req.setThreadNum(3)
    calls = []
    req.setTransferProgress(lambda inc, done, total, ud: calls.append((inc, done, total, ud)), "ctx")
    outcome = client_for(oss_emulator).ResumableUploadObject(req)
    assert outcome.isSuccess(), outcome.error().Message()
    assert outcome.result().CRC64() == file_crc(src)
    assert outcome.result().ETag().endswith("-5") and outcome.result().RequestId()
    assert len(upload_part_requests(oss_emulator, "cpp/f.bin")) == 5
    assert sum(c[0] for c in calls) == 500 * 1024 and calls[-1][1:] == (500 * 1024, 500 * 1024, "ctx")
    assert cp_dir.is_dir() and not list(cp_dir.iterdir())      # record and lock removed


def test_interrupted_upload_resumes_from_the_checkpoint_dir(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 1000 * 1024, seed=8)
    cp_dir = tmp_path / "cps"
    client = client_for(oss_emulator)

    def stop(inc, done, total, ud):
        raise RuntimeError("stop here")

    req = UploadObjectRequest(oss_emulator.bucket, "r.bin", src, str(cp_dir))
    req.setPartSize(100 * 1024)
    req.setThreadNum(2)
    req.setTransferProgress(stop)
    outcome = client.ResumableUploadObject(req)
    assert not outcome.isSuccess()
    assert outcome.error().Code() == "CallbackCancelled" and "stop here" in outcome.error().Message()
    record = cp_dir / upload_record_name(oss_emulator.bucket, "r.bin", src)   # the C++ SDK's name
    assert cpp_checkpoint.load(record.read_bytes()).upload_id
    first = {e["part_number"] for e in upload_part_requests(oss_emulator, "r.bin")}

    req2 = UploadObjectRequest(oss_emulator.bucket, "r.bin", src, str(cp_dir))
    req2.setPartSize(100 * 1024)
    outcome = client.ResumableUploadObject(req2)
    assert outcome.isSuccess()
    all_parts = [e["part_number"] for e in upload_part_requests(oss_emulator, "r.bin")]
    assert sorted(all_parts) == list(range(1, 11))     # each part sent once over both calls
    assert first and len(first) < 10
    assert head(oss_emulator, "r.bin")[1].crc64 == file_crc(src)


def test_error_outcome_fields(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 100)
    outcome = client_for(oss_emulator).ResumableUploadObject(
        UploadObjectRequest("no-such-bucket-cpp", "k", src))
    assert not outcome.isSuccess() and not outcome
    err = outcome.error()
    assert err.Code() == "NoSuchBucket" and err.Status() == 404
    assert err.Message() and err.RequestId()
    assert err.Host() == oss_emulator.endpoint

    req = UploadObjectRequest(oss_emulator.bucket, "k", src)
    req.setPartSize(-5)
    outcome = client_for(oss_emulator).ResumableUploadObject(req)
    assert outcome.error().Code() == "ValidateError"


def test_metadata_goes_to_the_object(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 300 * 1024)
    meta = ObjectMetaData()
    meta.setContentType("text/x-test")
    meta.addUserHeader("owner", "me")
    req = UploadObjectRequest(oss_emulator.bucket, "m.bin", src, metaData=meta)
    req.setPartSize(100 * 1024)
    assert client_for(oss_emulator).ResumableUploadObject(req).isSuccess()
    headers = {k.lower(): v for k, v in head(oss_emulator, "m.bin")[1].headers.items()}
    assert headers["content-type"] == "text/x-test"
    assert headers["x-oss-meta-owner"] == "me"


def test_download_and_configuration(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 400 * 1024, seed=9)
    conf = ClientConfiguration()
    conf.signatureVersion = SignatureVersionType.V1
    conf.maxErrorRetry = 1
    client = client_for(oss_emulator, conf)
    assert client.options.config.signature_version == 1 and client.options.ctl.max_retries == 1
    req = UploadObjectRequest(oss_emulator.bucket, "d.bin", src)
    req.setPartSize(100 * 1024)
    assert client.ResumableUploadObject(req).isSuccess()

    target = tmp_path / "out.bin"
    dreq = oss.DownloadObjectRequest(oss_emulator.bucket, "d.bin", str(target), str(tmp_path / "dcp"))
    dreq.setPartSize(64 * 1024)
    dreq.setThreadNum(4)
    outcome = client.ResumableDownloadObject(dreq)
    assert outcome.isSuccess(), outcome.error().Message()
    assert target.read_bytes() == open(src, "rb").read()
    assert outcome.result().CRC64() == file_crc(src)
    assert not os.listdir(tmp_path / "dcp")

    missing = client.ResumableDownloadObject(
        oss.DownloadObjectRequest(oss_emulator.bucket, "nope", str(tmp_path / "x")))
    assert not missing.isSuccess() and missing.error().Status() == 404


def test_proxy_password_not_in_repr():
    conf = ClientConfiguration()
    conf.proxyHost, conf.proxyPort, conf.proxyUserName, conf.proxyPassword = "proxy", 3128, "u", "pw-secret"
    assert "pw-secret" not in repr(conf)
    client = OssClient("http://127.0.0.1:1", "ak", "sk", conf)
    assert client.options.ctl.proxy == "http://u:pw-secret@proxy:3128"
    assert "pw-secret" not in repr(client.options.ctl)
