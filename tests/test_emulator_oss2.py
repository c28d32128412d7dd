"""Conformance with the official oss2 SDK (2.19.1), signature V1 and V4, unchanged.

oss2 runs in this process (its crcmod is the main environment's). The
alibabacloud-oss-v2 scenarios run in a subprocess: see test_emulator_ossv2.py.
"""
from __future__ import annotations

import datetime
import os
import re
from unittest import mock

import pytest

oss2 = pytest.importorskip("oss2")

from ossresume_c.native import crc64

SPECIAL_KEYS = ["中文/文件 1.bin", "a+b=c&d?e#f~g%h.txt", "sp  ace/ /x", "q'\"<>|*.bin"]
REQUEST_ID = re.compile(r"^[0-9A-F]{24}$")
KIB = 1024


@pytest.fixture(params=[1, 4], ids=["v1", "v4"])
def version(request):
    return request.param


def _auth(version, ak, sk):
    return oss2.Auth(ak, sk) if version == 1 else oss2.AuthV4(ak, sk)


@pytest.fixture
def bucket(oss_emulator, version):
    return oss2.Bucket(_auth(version, oss_emulator.access_key_id, oss_emulator.access_key_secret), oss_emulator.endpoint, oss_emulator.bucket, region=oss_emulator.region)


def _other_bucket(oss_emulator, version, name=None, ak=None, sk=None, auth=None):
    return oss2.Bucket(
        auth or _auth(version, ak or oss_emulator.access_key_id, sk or oss_emulator.access_key_secret),
        oss_emulator.endpoint,
        name or oss_emulator.bucket,
        region=oss_emulator.region,
    )


@pytest.fixture
def local_file(tmp_path):
    data = os.urandom(650 * KIB + 123)
    path = tmp_path / "local.bin"
    path.write_bytes(data)
    return str(path), data


def test_resumable_upload_special_keys(bucket, local_file, tmp_path):
    path, data = local_file
    for key in SPECIAL_KEYS:
        result = oss2.resumable_upload(
            bucket, key, path, store=oss2.ResumableStore(root=str(tmp_path / "cp")),
            multipart_threshold=100 * KIB, part_size=100 * KIB, num_threads=4,
        )
        assert result.status == 200 and result.etag.endswith("-7")
        obj = bucket.get_object(key)
        assert obj.read() == data
        assert obj.server_crc == crc64(data)
        assert bucket.head_object(key).object_type == "Multipart"
    listed = sorted(o.key for o in oss2.ObjectIterator(bucket))
    assert listed == sorted(SPECIAL_KEYS)


def test_resume_after_injected_part_failure(bucket, oss_emulator, local_file, tmp_path):
    path, data = local_file
    store = oss2.ResumableStore(root=str(tmp_path / "cp"))
    key = SPECIAL_KEYS[0]
    oss_emulator.add_fault(op="UploadPart", action="status", status=503, nth=3)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        oss2.resumable_upload(bucket, key, path, store=store, multipart_threshold=100 * KIB, part_size=100 * KIB, num_threads=1)
    assert info.value.status == 503 and info.value.code == "ServiceUnavailable"
    assert REQUEST_ID.match(info.value.request_id)
    uploads = list(oss2.MultipartUploadIterator(bucket))
    assert [u.key for u in uploads] == [key]
    present = {p.part_number for p in oss2.PartIterator(bucket, key, uploads[0].upload_id)}
    assert 3 not in present and {1, 2} <= present
    oss_emulator.clear_request_log()
    result = oss2.resumable_upload(bucket, key, path, store=store, multipart_threshold=100 * KIB, part_size=100 * KIB, num_threads=2)
    assert result.status == 200
    log = oss_emulator.request_log()
    resent = {e["part_number"] for e in log if e["op"] == "UploadPart"}
    assert resent == set(range(1, 8)) - present  # only the missing parts went again
    assert any(e["op"] == "ListParts" and "max-parts=1" in e["query"] for e in log)
    assert "InitiateMultipartUpload" not in [e["op"] for e in log]
    assert bucket.get_object(key).read() == data


def test_put_get_head_range_delete(bucket):
    data = os.urandom(1000)
    put = bucket.put_object("obj/x", data, headers={"Content-Type": "text/x-k", "x-oss-meta-who": "oss2"})
    assert put.status == 200 and put.crc == crc64(data)
    head = bucket.head_object("obj/x")
    assert head.content_length == 1000 and head.content_type == "text/x-k" and head.object_type == "Normal"
    assert head.headers["x-oss-meta-who"] == "oss2"
    assert bucket.get_object("obj/x", byte_range=(10, 19)).read() == data[10:20]
    assert bucket.get_object("obj/x", byte_range=(990, 2000)).read() == data  # OSS rule: whole object
    assert bucket.get_object("obj/x", byte_range=(990, 2000), headers={"x-oss-range-behavior": "standard"}).read() == data[990:]
    assert bucket.get_object("obj/x", byte_range=(None, 5)).read() == data[-5:]
    assert bucket.object_exists("obj/x") and not bucket.object_exists("obj/none")
    meta = bucket.get_object_meta("obj/x")
    assert meta.content_length == 1000
    assert bucket.delete_object("obj/x").status == 204
    assert bucket.delete_object("obj/x").status == 204
    assert not bucket.object_exists("obj/x")


def test_list_parts_and_uploads(bucket):
    ids = {}
    for key in ["lp/a", "lp/b", "lp/b", "other/c", "top"]:
        ids.setdefault(key, []).append(bucket.init_multipart_upload(key).upload_id)
    etags = [bucket.upload_part("lp/a", ids["lp/a"][0], n, os.urandom(10 * n)).etag for n in (1, 2, 3)]
    parts = list(oss2.PartIterator(bucket, "lp/a", ids["lp/a"][0], max_parts=1))
    assert [p.part_number for p in parts] == [1, 2, 3] and [p.size for p in parts] == [10, 20, 30]
    assert [p.etag for p in parts] == etags
    everything = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=2)]
    assert everything == [("lp/a", ids["lp/a"][0]), ("lp/b", ids["lp/b"][0]), ("lp/b", ids["lp/b"][1]), ("other/c", ids["other/c"][0]), ("top", ids["top"][0])]
    grouped = list(oss2.MultipartUploadIterator(bucket, delimiter="/", max_uploads=1))
    assert [(u.key, u.is_prefix()) for u in grouped] == [("lp/", True), ("other/", True), ("top", False)]
    assert [u.key for u in oss2.MultipartUploadIterator(bucket, prefix="lp/")] == ["lp/a", "lp/b", "lp/b"]
    for key, id_list in ids.items():
        for upload_id in id_list:
            bucket.abort_multipart_upload(key, upload_id)
    assert list(oss2.MultipartUploadIterator(bucket)) == []


def _expect(call, exc_type, status, code):
    with pytest.raises(exc_type) as info:
        call()
    error = info.value
    assert error.status == status and error.code == code, (error.status, error.code, error.details)
    assert REQUEST_ID.match(error.request_id), error.request_id
    return error


def test_error_matrix(bucket, oss_emulator, version):
    ex = oss2.exceptions
    bucket.put_object("exists", b"0123456789")
    # 403s
    anon = _other_bucket(oss_emulator, version, auth=oss2.AnonymousAuth())
    _expect(lambda: anon.get_object("exists"), ex.AccessDenied, 403, "AccessDenied")
    _expect(lambda: _other_bucket(oss_emulator, version, ak="nobody").get_object("exists"), ex.ServerError, 403, "InvalidAccessKeyId")
    err = _expect(lambda: _other_bucket(oss_emulator, version, sk="bad").get_object("exists"), ex.SignatureDoesNotMatch, 403, "SignatureDoesNotMatch")
    assert err.details.get("StringToSign")
    if version == 1:
        with mock.patch("oss2.utils.http_date", return_value="Mon, 01 Jan 2001 00:00:00 GMT"):
            _expect(lambda: bucket.get_object("exists"), ex.ServerError, 403, "RequestTimeTooSkewed")
    else:
        class OldDatetime(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return datetime.datetime(2001, 1, 1)

        with mock.patch("oss2.auth.datetime", OldDatetime):
            _expect(lambda: bucket.get_object("exists"), ex.ServerError, 403, "RequestTimeTooSkewed")
    # 404s
    _expect(lambda: _other_bucket(oss_emulator, version, name="no-such-bucket-here").get_object("k"), ex.NoSuchBucket, 404, "NoSuchBucket")
    _expect(lambda: bucket.get_object("missing"), ex.NoSuchKey, 404, "NoSuchKey")
    _expect(lambda: bucket.head_object("missing"), ex.NotFound, 404, "NoSuchKey")  # from x-oss-err
    _expect(lambda: bucket.upload_part("k", "0" * 32, 1, b"1"), ex.NoSuchUpload, 404, "NoSuchUpload")
    # Complete checks
    upload_id = bucket.init_multipart_upload("mp").upload_id
    e1 = bucket.upload_part("mp", upload_id, 1, b"a" * 1000).etag
    e2 = bucket.upload_part("mp", upload_id, 2, b"b" * 1000).etag
    PartInfo = oss2.models.PartInfo
    _expect(lambda: bucket.complete_multipart_upload("mp", upload_id, []), ex.MalformedXml, 400, "MalformedXML")
    _expect(lambda: bucket.complete_multipart_upload("mp", upload_id, [PartInfo(1, e1), PartInfo(1, e1)]), ex.ServerError, 400, "InvalidPartOrder")  # oss2 sorts; a duplicate stays
    _expect(lambda: bucket.complete_multipart_upload("mp", upload_id, [PartInfo(1, e1), PartInfo(2, "BAD")]), ex.ServerError, 400, "InvalidPart")
    _expect(lambda: bucket.complete_multipart_upload("mp", upload_id, [PartInfo(1, e1), PartInfo(2, e2)]), ex.ServerError, 400, "EntityTooSmall")
    _expect(lambda: bucket.upload_part("mp", upload_id, 10001, b"1"), ex.InvalidArgument, 400, "InvalidArgument")
    _expect(lambda: bucket.put_object("k", b"data", headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}), ex.InvalidDigest, 400, "InvalidDigest")
    _expect(lambda: bucket.put_object("big", b"", headers={"Content-Length": str(5 * 1024**3 + 1)}), ex.ServerError, 400, "EntityTooLarge")
    _expect(
        lambda: bucket.get_object("exists", byte_range=(20, 30), headers={"x-oss-range-behavior": "standard"}),
        ex.ServerError, 416, "InvalidRange",
    )
    oss_emulator.add_fault(op="GetObject", action="status", status=500, count=1)
    _expect(lambda: bucket.get_object("exists"), ex.ServerError, 500, "InternalError")
    channel = oss2.models.LiveChannelInfo(target=oss2.models.LiveChannelInfoTarget())
    _expect(lambda: bucket.create_live_channel("ch", channel), ex.ServerError, 501, "NotImplemented")
    assert not bucket.object_exists("ch")  # an unsupported sub-resource writes nothing
    # MissingContentLength cannot be provoked through oss2 (requests always frames a PUT
    # body); test_emulator_protocol.py checks it on the wire.
