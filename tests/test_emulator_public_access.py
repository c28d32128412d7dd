"""Block Public Access: the account-wide and per-bucket switches, stored as OSS stores them, and
what they forbid (setting public ACLs; unsigned access through public ACLs)."""
from __future__ import annotations

import http.client
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from ossresume_c import auth
from ossresume_c.emulator.cli import build_parser, config_from_args
from ossresume_c.emulator.config import EmulatorConfig
from ossresume_c.emulator.exchange import Request
from ossresume_c.emulator.ops_bucket import BucketOps
from ossresume_c.emulator.requesthead import Headers
from ossresume_c.emulator.routing import Target
from ossresume_c.emulator.store import Store

oss2 = pytest.importorskip("oss2")

ON = b"<PublicAccessBlockConfiguration><BlockPublicAccess>true</BlockPublicAccess></PublicAccessBlockConfiguration>"
OFF = ON.replace(b"true", b"false")


def _raw(emu, method, bucket, key, query, body=b"", signed=True):
    """A request straight over http.client (V1-signed unless ``signed`` is false): (status, body)."""
    headers: dict = {}
    if signed:
        auth.sign_v1(method, bucket or None, key or None, query, headers,
                     auth.Credentials(emu.access_key_id, emu.access_key_secret))
    path = (f"/{bucket}/{quote(key)}" if bucket else "/") + ("?" + auth.encode_query(query) if query else "")
    conn = http.client.HTTPConnection(emu.endpoint.removeprefix("http://"), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _block_value(body):
    return ET.fromstring(body).findtext("BlockPublicAccess")


def test_bucket_switch_round_trip_and_what_it_forbids(oss_emulator):
    emu, sub = oss_emulator, [("publicAccessBlock", None)]
    bucket = oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.endpoint, emu.bucket)
    status, body = _raw(emu, "GET", emu.bucket, "", sub)
    assert (status, _block_value(body)) == (200, "false")
    bucket.put_object("k", b"x")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert _raw(emu, "GET", emu.bucket, "k", [], signed=False)[0] == 200
    assert _raw(emu, "PUT", emu.bucket, "", sub, body=ON)[0] == 200
    assert _block_value(_raw(emu, "GET", emu.bucket, "", sub)[1]) == "true"
    status, body = _raw(emu, "GET", emu.bucket, "", [("bucketInfo", None)])
    assert ET.fromstring(body).findtext("Bucket/BlockPublicAccess") == "true"
    assert _raw(emu, "GET", emu.bucket, "k", [], signed=False)[0] == 403  # the public ACL is ignored
    public = {"x-oss-object-acl": oss2.OBJECT_ACL_PUBLIC_READ}
    for set_public in (lambda: bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE),
                       lambda: bucket.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ),
                       lambda: bucket.put_object("k2", b"x", headers=public),
                       lambda: bucket.copy_object(bucket.bucket_name, "k", "k2", headers=public),
                       lambda: bucket.init_multipart_upload("k2", headers=public)):
        with pytest.raises(oss2.exceptions.AccessDenied):
            set_public()
    assert not bucket.object_exists("k2")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)  # non-public ACLs stay allowed
    assert _raw(emu, "PUT", emu.bucket, "", sub, body=b"<PublicAccessBlockConfiguration><BlockPublicAccess>"
                b"maybe</BlockPublicAccess></PublicAccessBlockConfiguration>")[0] == 400
    assert _raw(emu, "DELETE", emu.bucket, "", sub)[0] == 204
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)


def test_account_switch_covers_every_bucket(oss_emulator):
    emu, sub = oss_emulator, [("publicAccessBlock", None)]
    bucket = oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.endpoint, emu.bucket)
    assert _block_value(_raw(emu, "GET", "", "", sub)[1]) == "false"
    assert _raw(emu, "PUT", "", "", sub, body=ON)[0] == 200
    try:
        assert _block_value(_raw(emu, "GET", "", "", sub)[1]) == "true"
        with pytest.raises(oss2.exceptions.AccessDenied):
            bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    finally:
        assert _raw(emu, "PUT", "", "", sub, body=OFF)[0] == 200
        assert _raw(emu, "DELETE", "", "", sub)[0] == 204
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)


def test_block_public_access_option_turns_it_on_for_new_buckets(tmp_path):
    assert config_from_args(build_parser().parse_args(["--block-public-access"])).block_public_access
    assert not config_from_args(build_parser().parse_args([])).block_public_access
    store = Store(str(tmp_path))
    try:
        for flag in (True, False):
            name = f"b-{uuid.uuid4().hex[:8]}"
            ops = BucketOps(store, EmulatorConfig(root=str(tmp_path), block_public_access=flag)).handlers()
            for op, query in (("PutBucket", []), ("GetBucketInfo", [("bucketInfo", None)])):
                request = Request(method="PUT" if op == "PutBucket" else "GET", raw_path=f"/{name}/", query=query,
                                  headers=Headers([("Host", "127.0.0.1")]), target=Target(name, "", False), op=op,
                                  body=None, request_id="0" * 24, host="127.0.0.1")
                response = ops[op](request)
            assert ET.fromstring(response.body).findtext("Bucket/BlockPublicAccess") == str(flag).lower()
    finally:
        store.close()
