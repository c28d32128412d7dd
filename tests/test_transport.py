"""Transport: what goes on the wire is what was signed, on every Python."""
from __future__ import annotations

import random

import pytest

from ossresume_c import native, ops
from ossresume_c.transport import Transport

from helpers import options_for

KB = 1024


def _upload_id(t: Transport, bucket: str, key: str) -> str:
    status, upload_id = ops.initiate_multipart_upload(t, bucket, key)
    assert status.is_ok() and upload_id, status
    return upload_id


@pytest.mark.parametrize("version", [1, 4])
def test_a_memoryview_part_goes_out_with_only_the_signed_headers(oss_emulator, version):
    # Python 3.9's memoryview has no __iter__: requests used to take it for form data
    # and add a Content-Type after signing (403 SignatureDoesNotMatch on every part).
    data = bytearray(random.Random(7).randbytes(300 * KB))
    with Transport(options_for(oss_emulator, signature_version=version)) as t:
        upload_id = _upload_id(t, oss_emulator.bucket, "k")
        reply = t.send("UploadPart", "PUT", oss_emulator.bucket, "k",
                       [("partNumber", "1"), ("uploadId", upload_id)], {}, memoryview(data)[:200 * KB])
        assert reply.status.is_ok(), reply.status
        assert reply.response is not None
        sent = {name.lower() for name in reply.response.request.headers}
        assert "content-type" not in sent
        assert reply.response.request.headers["Content-Length"] == str(200 * KB)
        assert int(reply.response.headers["x-oss-hash-crc64ecma"]) == native.crc64(bytes(data[:200 * KB]))
        ops.abort_multipart_upload(t, oss_emulator.bucket, "k", upload_id)


def test_a_retried_memoryview_part_is_sent_whole_again(oss_emulator):
    data = bytearray(random.Random(8).randbytes(256 * KB))
    oss_emulator.add_fault(op="UploadPart", action="reset", after_bytes=64 * KB, nth=1)
    with Transport(options_for(oss_emulator)) as t:
        upload_id = _upload_id(t, oss_emulator.bucket, "r")
        status, part = ops.upload_part(t, oss_emulator.bucket, "r", upload_id, 1, memoryview(data),
                                       expect_crc=native.crc64(bytes(data)))
        assert status.is_ok(), status
        assert part is not None and part.crc64 == native.crc64(bytes(data))
        ops.abort_multipart_upload(t, oss_emulator.bucket, "r", upload_id)
    parts = [(e["status"], e["bytes_in"]) for e in oss_emulator.request_log() if e.get("op") == "UploadPart"]
    assert parts == [("reset", 64 * KB), (200, 256 * KB)]
