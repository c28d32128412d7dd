"""The REST operations and the transport against the emulator: success and the
errors each can meet, V1 and V4, STS, retries, awkward keys, secrets."""
from __future__ import annotations

import logging
import os

import pytest

import ossresume_c as oss
from ossresume_c import native, ops
from ossresume_c.transport import Transport

from helpers import ops_in_log, options_for

AWKWARD_KEYS = ["中文/文件 1.bin", "a+b=c&d?e#f~g%h.txt", "sp  ace/ /x", "q'\"<>|*.bin", "..", "a/../b",
                "./x", "trailing/", "%2F%25", "tab\there"]


@pytest.fixture(params=[1, 4], ids=["v1", "v4"])
def t(request, oss_emulator):
    with Transport(options_for(oss_emulator, signature_version=request.param)) as transport:
        yield transport


def test_put_head_get_range_delete(oss_emulator, t):
    b = oss_emulator.bucket
    data = os.urandom(300_000)
    status, crc = ops.put_object(t, b, "obj", data, {"Content-Type": "text/plain", "x-oss-meta-who": "me"},
                                 expect_crc=native.crc64(data))
    assert status.is_ok() and crc == native.crc64(data) and len(status.req_id) == 24
    status, meta = ops.head_object(t, b, "obj")
    assert status.is_ok() and meta.size == len(data) and meta.crc64 == crc
    assert meta.content_type == "text/plain" and meta.headers["x-oss-meta-who"] == "me"
    assert meta.etag.startswith('"') and meta.last_modified.endswith("GMT")
    status, body = ops.get_object(t, b, "obj")
    assert status.is_ok() and body == data
    status, body = ops.get_object(t, b, "obj", (100, 199))
    assert status.code == 206 and body == data[100:200]
    assert ops.delete_object(t, b, "obj").code == 204
    status, meta = ops.head_object(t, b, "obj")
    assert (status.code, status.error_code, meta) == (404, "NoSuchKey", None)   # decoded from x-oss-err
    status, _ = ops.get_object(t, b, "obj")
    assert (status.code, status.error_code) == (404, "NoSuchKey") and status.req_id
    assert ops.delete_object(t, b, "obj").code == 204                        # also when absent


def test_multipart_cycle(oss_emulator, t):
    b = oss_emulator.bucket
    status, upload_id = ops.initiate_multipart_upload(t, b, "mp", {"Content-Type": "video/MP2T"})
    assert status.is_ok() and len(upload_id) == 32
    parts = [os.urandom(102400), os.urandom(102400), os.urandom(5000)]
    etags = []
    for n, data in enumerate(parts, 1):
        status, res = ops.upload_part(t, b, "mp", upload_id, n, data, expect_crc=native.crc64(data),
                                      content_md5=native.md5(data).digest())
        assert status.is_ok() and res.crc64 == native.crc64(data)
        etags.append(res.etag)
    status, listed = ops.list_parts(t, b, "mp", upload_id, max_parts=1)     # follows pagination
    assert status.is_ok() and [p.number for p in listed] == [1, 2, 3]
    assert [p.size for p in listed] == [102400, 102400, 5000]
    assert [p.crc64 for p in listed] == [native.crc64(d) for d in parts]
    status, uploads = ops.list_multipart_uploads(t, b, max_uploads=1)
    assert status.is_ok() and [u.upload_id for u in uploads] == [upload_id]
    status, res = ops.complete_multipart_upload(t, b, "mp", upload_id, list(zip([1, 2, 3], etags)))
    assert status.is_ok() and res.etag.endswith('-3"') and res.crc64 == native.crc64(b"".join(parts))
    assert status.resp_body and b"CompleteMultipartUploadResult" in status.resp_body[0]
    status, _ = ops.list_parts(t, b, "mp", upload_id)
    assert (status.code, status.error_code) == (404, "NoSuchUpload")


def test_multipart_errors(oss_emulator, t):
    b = oss_emulator.bucket
    status, upload_id = ops.initiate_multipart_upload(t, b, "mp")
    small = os.urandom(1000)
    _, r1 = ops.upload_part(t, b, "mp", upload_id, 1, small)
    _, r2 = ops.upload_part(t, b, "mp", upload_id, 2, small)
    status, _ = ops.complete_multipart_upload(t, b, "mp", upload_id, [(2, r2.etag), (1, r1.etag)])
    assert (status.code, status.error_code) == (400, "InvalidPartOrder")
    status, _ = ops.complete_multipart_upload(t, b, "mp", upload_id, [(1, '"00"'), (2, r2.etag)])
    assert (status.code, status.error_code) == (400, "InvalidPart")
    status, _ = ops.complete_multipart_upload(t, b, "mp", upload_id, [(1, r1.etag), (2, r2.etag)])
    assert (status.code, status.error_code) == (400, "EntityTooSmall")
    status, _ = ops.upload_part(t, b, "mp", upload_id, 10001, small)
    assert (status.code, status.error_code) == (400, "InvalidArgument")
    status, _ = ops.upload_part(t, b, "mp", upload_id, 3, small, content_md5=b"\0" * 16)
    assert (status.code, status.error_code) == (400, "InvalidDigest")
    assert ops.abort_multipart_upload(t, b, "mp", upload_id).code == 204
    assert ops.abort_multipart_upload(t, b, "mp", upload_id).error_code == "NoSuchUpload"
    status, _ = ops.upload_part(t, b, "mp", upload_id, 1, small)
    assert (status.code, status.error_code) == (404, "NoSuchUpload")


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_awkward_keys_round_trip(oss_emulator, t, key):
    data = key.encode("utf-8") * 3
    assert ops.put_object(t, oss_emulator.bucket, key, data)[0].is_ok()
    status, body = ops.get_object(t, oss_emulator.bucket, key)
    assert status.is_ok() and body == data
    status, uploads = ops.initiate_multipart_upload(t, oss_emulator.bucket, key)
    assert status.is_ok()
    status, listed = ops.list_multipart_uploads(t, oss_emulator.bucket)
    assert key in [u.key for u in listed]


def test_sts_token_is_signed_and_sent(oss_emulator):
    opts = options_for(oss_emulator, sts_token="STS-TOKEN-VALUE")
    with Transport(opts) as t:
        status, _ = ops.put_object(t, oss_emulator.bucket, "sts", b"x")
    assert status.is_ok()


def test_wrong_secret_gives_signature_error_with_string_to_sign(oss_emulator):
    opts = options_for(oss_emulator)
    opts.config.access_key_secret = "wrong-secret-value"
    with Transport(opts) as t:
        status, _ = ops.put_object(t, oss_emulator.bucket, "k", b"x")
    assert (status.code, status.error_code) == (403, "SignatureDoesNotMatch")
    assert status.string_to_sign and "wrong-secret-value" not in str(status) + repr(status)
    opts.config.access_key_id = "unknown-id"
    with Transport(opts) as t:
        assert ops.put_object(t, oss_emulator.bucket, "k", b"x")[0].error_code == "InvalidAccessKeyId"


def test_bucket_and_key_checked_before_any_request(oss_emulator, t):
    status, _ = ops.put_object(t, "Bad_Bucket", "k", b"")
    assert (status.code, status.error_code) == (-994, "BucketNameInvalidError")
    status, _ = ops.put_object(t, oss_emulator.bucket, "", b"")
    assert status.code == -994
    status, _ = ops.head_object(t, oss_emulator.bucket, "x" * 1024)
    assert status.code == -994
    assert ops_in_log(oss_emulator) == []


def test_nonexistent_bucket(t):
    status, _ = ops.put_object(t, "no-such-bucket-here", "k", b"x")
    assert (status.code, status.error_code) == (404, "NoSuchBucket")


@pytest.mark.parametrize("fault", [dict(action="status", status=500), dict(action="status", status=503),
                                   dict(action="reset", after_bytes=1000)])
def test_transient_failures_are_retried_then_succeed(oss_emulator, fault):
    emu = oss_emulator
    emu.server.add_fault(op="PutObject", nth=1, count=2, **fault)
    with Transport(options_for(emu, max_retries=3)) as t:
        status, _ = ops.put_object(t, emu.bucket, "k", os.urandom(50_000))
    assert status.is_ok(), status
    assert ops_in_log(emu).count("PutObject") == 3 or fault["action"] == "reset"


def test_attempts_are_what_was_configured(oss_emulator):
    emu = oss_emulator
    emu.server.add_fault(op="PutObject", action="status", status=503)
    for retries in (0, 2):
        emu.server.clear_request_log()
        with Transport(options_for(emu, max_retries=retries)) as t:
            status, _ = ops.put_object(t, emu.bucket, "k", b"x")
        assert status.code == 503
        assert ops_in_log(emu).count("PutObject") == retries + 1


def test_client_errors_are_not_retried(oss_emulator):
    emu = oss_emulator
    emu.server.add_fault(op="PutObject", action="status", status=403, code="AccessDenied")
    with Transport(options_for(emu, max_retries=5)) as t:
        status, _ = ops.put_object(t, emu.bucket, "k", b"x")
    assert (status.code, status.error_code) == (403, "AccessDenied")
    assert ops_in_log(emu).count("PutObject") == 1


def test_bad_crc_is_retried_then_reported(oss_emulator):
    emu = oss_emulator
    emu.server.add_fault(op="PutObject", action="bad_crc")
    data = b"hello"
    with Transport(options_for(emu, max_retries=2)) as t:
        status, _ = ops.put_object(t, emu.bucket, "k", data, expect_crc=native.crc64(data))
    assert (status.code, status.error_code) == (-978, "InconsistentError")
    assert ops_in_log(emu).count("PutObject") == 3


def test_connection_refused_is_a_clear_status():
    opts = oss.request_options_create(endpoint="http://127.0.0.1:1", access_key_id="a",
                                      access_key_secret="b", max_retries=1, backoff_base=0.01)
    with Transport(opts) as t:
        status, _ = ops.put_object(t, "some-bucket", "k", b"x")
    assert (status.code, status.error_code) == (-998, "HttpIoError")
    assert "PutObject" in status.error_msg


def test_user_agent_and_addressing(oss_emulator):
    opts = options_for(oss_emulator)
    with Transport(opts) as t:
        assert t.session.headers["User-Agent"] == f"ossresume_c/{oss.__version__}"
        assert t.url("b", "a/b c", [("uploads", None)]).endswith("/b/a%2Fb%20c?uploads")
    opts.config.endpoint = "https://oss-cn-hangzhou.aliyuncs.com"
    with Transport(opts) as t:
        assert t.url("bkt", "k", []) == "https://bkt.oss-cn-hangzhou.aliyuncs.com/k"
    opts.config.is_cname = True
    opts.config.endpoint = "cdn.example.com"
    with Transport(opts) as t:
        assert t.url("bkt", "k", []) == "http://cdn.example.com/k"


def test_no_secret_in_logs_or_statuses(oss_emulator, caplog):
    caplog.set_level(logging.DEBUG)
    secret = oss_emulator.access_key_secret
    opts = options_for(oss_emulator, sts_token="TOKEN-SECRET-123")
    oss_emulator.server.add_fault(op="PutObject", action="status", status=503, nth=1)
    with Transport(opts) as t:
        statuses = [ops.put_object(t, oss_emulator.bucket, "k", b"x")[0],
                    ops.head_object(t, oss_emulator.bucket, "missing")[0]]
    text = caplog.text + "".join(str(s) + repr(s) + s.error_msg for s in statuses) + repr(opts)
    assert secret not in text and "TOKEN-SECRET-123" not in text
