"""Smoke test of the emulator fixture: the core multipart flow over raw signed HTTP."""
from __future__ import annotations

import hashlib
import os
import re

from conformance.rawclient import RawClient

from ossresume_c.native import crc64


def test_fixture_multipart_round_trip(oss_emulator):
    client = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    key = "dir/obj.bin"
    init = client.request("POST", oss_emulator.bucket, key, [("uploads", "")])
    assert init.status == 200, init
    upload_id = re.search(rb"<UploadId>([0-9A-F]{32})</UploadId>", init.body).group(1).decode()
    parts = [os.urandom(200 * 1024), os.urandom(1000)]
    etags = []
    for number, data in enumerate(parts, 1):
        reply = client.request("PUT", oss_emulator.bucket, key, [("partNumber", str(number)), ("uploadId", upload_id)], body=data)
        assert reply.status == 200, reply
        assert reply.header("etag") == f'"{hashlib.md5(data).hexdigest().upper()}"'
        assert reply.header("x-oss-hash-crc64ecma") == str(crc64(data))
        etags.append(reply.header("etag"))
    body = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)
    ) + "</CompleteMultipartUpload>"
    done = client.request("POST", oss_emulator.bucket, key, [("uploadId", upload_id)], body=body.encode())
    assert done.status == 200, done
    whole = b"".join(parts)
    expected_etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest().upper() + "-2"
    assert done.header("etag") == f'"{expected_etag}"'
    assert done.header("x-oss-hash-crc64ecma") == str(crc64(whole))
    got = client.request("GET", oss_emulator.bucket, key)
    assert got.status == 200 and got.body == whole
    assert got.header("x-oss-object-type") == "Multipart"
    ops = [entry["op"] for entry in oss_emulator.request_log()]
    assert ops == ["InitiateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload", "GetObject"]
