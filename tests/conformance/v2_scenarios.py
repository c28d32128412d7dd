"""alibabacloud-oss-v2 scenarios against a running emulator, in their own process.

v2 depends on crcmod-plus, whose ``crcmod`` package clashes with the one oss2
needs, so it lives in its own directory (``ci/install_oss_v2.sh``) and this
script runs with PYTHONPATH pointing there. It prints one JSON line per scenario:
``{"scenario": name, "ok": bool, "detail": ...}``; test_emulator_ossv2.py asserts them.

    python tests/conformance/v2_scenarios.py --endpoint URL --ak AK --sk SK \\
        --bucket B --signature v4 --workdir DIR [--only NAME]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import traceback
import urllib.request
from typing import Any, Callable, Dict, List

import alibabacloud_oss_v2 as oss

SPECIAL_KEYS = ["中文/文件 1.bin", "a+b=c&d?e#f~g%h.txt", "sp  ace/ /x", "q'\"<>|*.bin"]
REQUEST_ID = re.compile(r"^[0-9A-F]{24}$")
KIB = 1024
SCENARIOS: Dict[str, Callable[[Env], Any]] = {}


def scenario(fn: Callable[[Env], Any]) -> Callable[[Env], Any]:
    SCENARIOS[fn.__name__] = fn
    return fn


class Env:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.endpoint = args.endpoint
        self.bucket = args.bucket
        self.workdir = args.workdir
        self.client = self.make_client()

    def make_client(self, ak: str = "", sk: str = "", retries: int = 1, anonymous: bool = False) -> oss.Client:
        cfg = oss.config.load_default()
        if anonymous:
            cfg.credentials_provider = oss.credentials.AnonymousCredentialsProvider()
        else:
            cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak or self.args.ak, sk or self.args.sk)
        cfg.region = "cn-hangzhou"
        cfg.endpoint = self.endpoint
        cfg.use_path_style = True
        cfg.signature_version = self.args.signature
        cfg.retry_max_attempts = retries
        return oss.Client(cfg)

    # -- emulator control API (loopback, unsigned)
    def control(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def file(self, name: str, size: int) -> tuple:
        data = os.urandom(size)
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path, data

    def get(self, key: str) -> bytes:
        return self.client.get_object(oss.GetObjectRequest(bucket=self.bucket, key=key)).body.read()


def service_error(exc: BaseException) -> Any:
    """The ServiceError inside v2's OperationError wrapping."""
    seen = exc
    for _ in range(5):
        if isinstance(seen, oss.exceptions.ServiceError):
            return seen
        inner = seen.unwrap() if hasattr(seen, "unwrap") else seen.__cause__
        if inner is None:
            break
        seen = inner
    raise AssertionError(f"not a ServiceError: {exc!r}")


def expect_error(call: Callable[[], Any], status: int, code: str) -> Any:
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        error = service_error(exc)
        assert error.status_code == status and error.code == code, (error.status_code, error.code, error.message)
        assert REQUEST_ID.match(error.request_id or ""), error.request_id
        return error
    raise AssertionError(f"no error, expected {status} {code}")


@scenario
def resumable_upload_special_keys(env: Env) -> None:
    path, data = env.file("up.bin", 650 * KIB + 123)
    uploader = env.client.uploader(part_size=100 * KIB, parallel_num=4)
    for key in SPECIAL_KEYS:
        result = uploader.upload_file(oss.PutObjectRequest(bucket=env.bucket, key=key), filepath=path)
        assert result.status_code == 200, result.status_code
        assert result.etag.endswith('-7"'), result.etag
        assert env.get(key) == data, key
        head = env.client.head_object(oss.HeadObjectRequest(bucket=env.bucket, key=key))
        assert head.object_type == "Multipart" and head.content_length == len(data)
        assert int(head.hash_crc64) == int(result.hash_crc64)


@scenario
def resume_after_injected_part_failure(env: Env) -> None:
    path, data = env.file("resume.bin", 650 * KIB + 7)
    key = "resume/" + SPECIAL_KEYS[0]
    checkpoint_dir = os.path.join(env.workdir, "cp")
    os.makedirs(checkpoint_dir, exist_ok=True)
    env.control("POST", "faults", {"op": "UploadPart", "action": "status", "status": 503, "part_number": 3, "count": 100})
    uploader = env.client.uploader(part_size=100 * KIB, parallel_num=1, enable_checkpoint=True, checkpoint_dir=checkpoint_dir, leave_parts_on_error=True)
    try:
        uploader.upload_file(oss.PutObjectRequest(bucket=env.bucket, key=key), filepath=path)
    except Exception as exc:  # noqa: BLE001
        error = service_error(exc)
        assert error.status_code == 503 and error.code == "ServiceUnavailable", (error.status_code, error.code)
    else:
        raise AssertionError("the upload should have failed on part 3")
    env.control("DELETE", "faults")
    uploads = env.client.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=env.bucket, prefix="resume/"))
    assert [u.key for u in uploads.uploads] == [key], [u.key for u in uploads.uploads]
    upload_id = uploads.uploads[0].upload_id
    listed = env.client.list_parts(oss.ListPartsRequest(bucket=env.bucket, key=key, upload_id=upload_id))
    present = {p.part_number for p in listed.parts}
    assert 3 not in present and {1, 2} <= present, present
    env.control("DELETE", "log")
    result = uploader.upload_file(oss.PutObjectRequest(bucket=env.bucket, key=key), filepath=path)
    assert result.status_code == 200 and result.upload_id == upload_id
    log = env.control("GET", "log")
    resent = {e["part_number"] for e in log if e["op"] == "UploadPart"}
    assert resent == set(range(1, 8)) - present, (resent, present)
    assert env.get(key) == data


@scenario
def put_get_head_range_delete(env: Env) -> None:
    data = os.urandom(1000)
    c = env.client
    put = c.put_object(oss.PutObjectRequest(bucket=env.bucket, key="obj/x", body=data, content_type="text/x-k", metadata={"who": "v2"}))
    assert put.status_code == 200 and put.etag == f'"{hashlib.md5(data).hexdigest().upper()}"'
    head = c.head_object(oss.HeadObjectRequest(bucket=env.bucket, key="obj/x"))
    assert head.content_length == 1000 and head.content_type == "text/x-k" and head.object_type == "Normal"
    assert head.metadata.get("who") == "v2", head.metadata
    assert int(head.hash_crc64) == int(put.hash_crc64)
    ranged = c.get_object(oss.GetObjectRequest(bucket=env.bucket, key="obj/x", range_header="bytes=10-19"))
    assert ranged.status_code == 206 and ranged.body.read() == data[10:20]
    assert ranged.content_range == "bytes 10-19/1000"
    whole = c.get_object(oss.GetObjectRequest(bucket=env.bucket, key="obj/x", range_header="bytes=990-2000"))
    assert whole.status_code == 200 and whole.body.read() == data
    clamped = c.get_object(oss.GetObjectRequest(bucket=env.bucket, key="obj/x", range_header="bytes=990-2000", range_behavior="standard"))
    assert clamped.status_code == 206 and clamped.body.read() == data[990:]
    assert c.is_object_exist(env.bucket, "obj/x") and not c.is_object_exist(env.bucket, "obj/none")
    assert c.is_bucket_exist(env.bucket) and not c.is_bucket_exist("no-such-bucket-here")
    assert c.delete_object(oss.DeleteObjectRequest(bucket=env.bucket, key="obj/x")).status_code == 204
    assert c.delete_object(oss.DeleteObjectRequest(bucket=env.bucket, key="obj/x")).status_code == 204
    assert not c.is_object_exist(env.bucket, "obj/x")


@scenario
def list_parts_and_uploads(env: Env) -> None:
    c = env.client
    ids: Dict[str, List[str]] = {}
    for key in ["lp/a", "lp/b", "lp/b", "other/c", "top"]:
        result = c.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=env.bucket, key=key))
        ids.setdefault(key, []).append(result.upload_id)
    upload_id = ids["lp/a"][0]
    etags = [
        c.upload_part(oss.UploadPartRequest(bucket=env.bucket, key="lp/a", upload_id=upload_id, part_number=n, body=os.urandom(10 * n))).etag
        for n in (1, 2, 3)
    ]
    parts = []
    for page in c.list_parts_paginator(limit=1).iter_page(oss.ListPartsRequest(bucket=env.bucket, key="lp/a", upload_id=upload_id)):
        assert len(page.parts) <= 1
        parts += page.parts
    assert [p.part_number for p in parts] == [1, 2, 3] and [p.size for p in parts] == [10, 20, 30]
    assert [p.etag for p in parts] == etags
    assert all(p.hash_crc64 is not None for p in parts)
    everything = []
    for page in c.list_multipart_uploads_paginator(limit=2).iter_page(oss.ListMultipartUploadsRequest(bucket=env.bucket)):
        everything += [(u.key, u.upload_id) for u in page.uploads]
    assert everything == [("lp/a", ids["lp/a"][0]), ("lp/b", ids["lp/b"][0]), ("lp/b", ids["lp/b"][1]), ("other/c", ids["other/c"][0]), ("top", ids["top"][0])], everything
    grouped = c.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=env.bucket, delimiter="/"))
    # v2's result model has no CommonPrefixes; the rolled-up keys must be absent from Upload
    assert [u.key for u in grouped.uploads] == ["top"] and grouped.delimiter == "/"
    for key, id_list in ids.items():
        for upload in id_list:
            c.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=env.bucket, key=key, upload_id=upload))
    assert c.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=env.bucket)).uploads in (None, [])


@scenario
def error_matrix(env: Env) -> None:
    c = env.client
    b = env.bucket
    c.put_object(oss.PutObjectRequest(bucket=b, key="exists", body=b"0123456789"))
    get = lambda client, key="exists", bucket=b, **kw: client.get_object(oss.GetObjectRequest(bucket=bucket, key=key, **kw))
    expect_error(lambda: get(env.make_client(anonymous=True)), 403, "AccessDenied")
    expect_error(lambda: get(env.make_client(ak="nobody")), 403, "InvalidAccessKeyId")
    expect_error(lambda: get(env.make_client(sk="bad")), 403, "SignatureDoesNotMatch")
    expect_error(lambda: _skewed_get(env), 403, "RequestTimeTooSkewed")
    expect_error(lambda: get(c, bucket="no-such-bucket-here", key="k"), 404, "NoSuchBucket")
    expect_error(lambda: get(c, key="missing"), 404, "NoSuchKey")
    expect_error(lambda: c.head_object(oss.HeadObjectRequest(bucket=b, key="missing")), 404, "NoSuchKey")  # x-oss-err
    expect_error(lambda: c.upload_part(oss.UploadPartRequest(bucket=b, key="k", upload_id="0" * 32, part_number=1, body=b"1")), 404, "NoSuchUpload")
    upload_id = c.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=b, key="mp")).upload_id
    e1 = c.upload_part(oss.UploadPartRequest(bucket=b, key="mp", upload_id=upload_id, part_number=1, body=b"a" * 1000)).etag
    e2 = c.upload_part(oss.UploadPartRequest(bucket=b, key="mp", upload_id=upload_id, part_number=2, body=b"b" * 1000)).etag

    def complete(parts: List[tuple]) -> Any:
        upload = oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts])
        return c.complete_multipart_upload(oss.CompleteMultipartUploadRequest(bucket=b, key="mp", upload_id=upload_id, complete_multipart_upload=upload))

    expect_error(lambda: complete([]), 400, "MalformedXML")
    expect_error(lambda: complete([(2, e2), (1, e1)]), 400, "InvalidPartOrder")
    expect_error(lambda: complete([(1, e1), (2, '"BAD"')]), 400, "InvalidPart")
    expect_error(lambda: complete([(1, e1), (2, e2)]), 400, "EntityTooSmall")
    expect_error(lambda: c.upload_part(oss.UploadPartRequest(bucket=b, key="mp", upload_id=upload_id, part_number=10001, body=b"1")), 400, "InvalidArgument")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    expect_error(lambda: c.put_object(oss.PutObjectRequest(bucket=b, key="k", body=b"data", content_md5=wrong_md5)), 400, "InvalidDigest")
    expect_error(lambda: c.put_object(oss.PutObjectRequest(bucket=b, key="big", body=b"", content_length=5 * 1024**3 + 1)), 400, "EntityTooLarge")
    expect_error(lambda: get(c, range_header="bytes=20-30", range_behavior="standard"), 416, "InvalidRange")
    env.control("POST", "faults", {"op": "GetObject", "action": "status", "status": 500, "count": 1})
    expect_error(lambda: get(c), 500, "InternalError")
    worm = oss.InitiateWormConfiguration(retention_period_in_days=1)
    expect_error(lambda: c.initiate_bucket_worm(oss.InitiateBucketWormRequest(bucket=b, initiate_worm_configuration=worm)),
                 501, "NotImplemented")
    # complete-all through v2's own request field
    c.upload_part(oss.UploadPartRequest(bucket=b, key="mp", upload_id=upload_id, part_number=1, body=b"a" * 102400))
    all_done = c.complete_multipart_upload(oss.CompleteMultipartUploadRequest(bucket=b, key="mp", upload_id=upload_id, complete_all="yes"))
    assert all_done.status_code == 200 and all_done.etag.endswith('-2"'), all_done.etag
    assert env.get("mp") == b"a" * 102400 + b"b" * 1000


def _skewed_get(env: Env) -> Any:
    """A GetObject signed one hour in the past: v2 signs at the time of an x-oss-date header."""
    import time
    from email.utils import formatdate

    request = oss.GetObjectRequest(bucket=env.bucket, key="exists", headers={"x-oss-date": formatdate(time.time() - 3600, usegmt=True)})
    return env.client.get_object(request)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ak", required=True)
    parser.add_argument("--sk", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--signature", choices=["v1", "v4"], default="v4")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    env = Env(args)
    for name, fn in SCENARIOS.items():
        if args.only and name != args.only:
            continue
        try:
            fn(env)
            outcome = {"scenario": name, "ok": True, "detail": ""}
        except Exception:  # noqa: BLE001 - reported to the test
            outcome = {"scenario": name, "ok": False, "detail": traceback.format_exc()}
        finally:
            try:
                env.control("DELETE", "faults")
            except Exception as exc:  # noqa: BLE001 - the next scenario reports it
                print(f"could not clear faults: {exc}", file=sys.stderr)
        print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
