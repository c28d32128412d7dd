"""The lean first attempt of small requests (lean_request.py), against the emulator: the
control requests of an upload really go that way, so a plain upload never imports
requests; every retry goes through requests; faults end as they end on requests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ossresume_c as oss
from ossresume_c import lean_request, ops
from ossresume_c.transport import Transport

from helpers import bucket_log, file_crc, get_bytes, make_file, options_for

KB = 1024
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def lean_ops(monkeypatch):
    """The op of every lean attempt made (and whether it returned a Reply)."""
    seen = []
    real = lean_request.LeanRequests.attempt

    def spy(self, op, *a, **kw):
        reply = real(self, op, *a, **kw)
        seen.append((op, reply is not None))
        return reply

    monkeypatch.setattr(lean_request.LeanRequests, "attempt", spy)
    return seen


def upload(emu, key, path, **opts):
    params = oss.create_resumable_clt_params(100 * KB, 2, False)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, key, path, clt_params=params)


def test_an_uploads_control_requests_go_the_lean_way(oss_emulator, tmp_path, lean_ops):
    path = make_file(tmp_path / "f.bin", 350_000, seed=3)
    assert upload(oss_emulator, "k", path).is_ok()
    assert ("InitiateMultipartUpload", True) in lean_ops
    assert ("CompleteMultipartUpload", True) in lean_ops
    with Transport(options_for(oss_emulator)) as t:
        status, meta = ops.head_object(t, oss_emulator.bucket, "k")
        assert t._session is None          # nothing went through requests
    assert status.is_ok() and meta is not None and meta.crc64 == file_crc(path)
    assert meta.size == 350_000 and meta.etag
    assert lean_ops[-1] == ("HeadObject", True)


def test_a_plain_upload_and_download_never_import_requests(oss_emulator, tmp_path):
    src = make_file(tmp_path / "f.bin", 600_000, seed=4)
    emu = oss_emulator
    script = f"""
import sys, ossresume_c as oss
o = oss.request_options_create(endpoint={emu.endpoint!r}, access_key_id={emu.access_key_id!r},
        access_key_secret={emu.access_key_secret!r}, region={emu.region!r})
p = oss.create_resumable_clt_params(200 * 1024, 2, True)
s = oss.resumable_upload_file(o, {emu.bucket!r}, 'sub', {str(src)!r}, clt_params=p)
assert s.is_ok(), s
print('requests' in sys.modules)
"""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]
    assert get_bytes(emu, "sub") == Path(src).read_bytes()


def test_a_server_error_is_retried_through_requests(oss_emulator, tmp_path, lean_ops):
    emu = oss_emulator
    emu.server.add_fault(op="InitiateMultipartUpload", action="status", status=503, nth=1,
                         bucket=emu.bucket)
    path = make_file(tmp_path / "f.bin", 250_000, seed=5)
    assert upload(emu, "k", path, max_retries=2).is_ok()
    initiates = [e for e in bucket_log(emu) if e.get("op") == "InitiateMultipartUpload"]
    assert [e.get("status") for e in initiates] == [503, 200]
    assert lean_ops.count(("InitiateMultipartUpload", True)) == 1   # the retry went through requests
    assert get_bytes(emu, "k") == Path(path).read_bytes()


@pytest.mark.parametrize("mode", ["declaration", "html", "truncate"])   # ("flip" may hit the id)
def test_a_garbled_reply_is_retried_and_no_upload_is_left(oss_emulator, tmp_path, mode):
    emu = oss_emulator
    emu.server.add_fault(op="InitiateMultipartUpload", action="garble", mode=mode, nth=1,
                         bucket=emu.bucket)
    path = make_file(tmp_path / "f.bin", 250_000, seed=6)
    assert upload(emu, "k", path, max_retries=2).is_ok()
    assert get_bytes(emu, "k") == Path(path).read_bytes()
    with Transport(options_for(emu)) as t:
        status, uploads = ops.list_multipart_uploads(t, emu.bucket)
    assert status.is_ok() and uploads == []


def test_without_retries_the_lean_attempt_decides(oss_emulator, lean_ops):
    emu = oss_emulator
    emu.server.add_fault(op="HeadObject", action="status", status=503, bucket=emu.bucket)
    with Transport(options_for(emu, max_retries=0)) as t:
        status, meta = ops.head_object(t, emu.bucket, "missing")
        assert t._session is None
    assert status.code == 503 and meta is None
    assert lean_ops == [("HeadObject", True)]


def test_a_missing_object_and_an_error_body(oss_emulator, lean_ops):
    emu = oss_emulator
    with Transport(options_for(emu)) as t:
        status, meta = ops.head_object(t, emu.bucket, "no-such-key")
        assert status.code == 404 and meta is None
        deleted = ops.delete_object(t, emu.bucket, "no-such-key")
        listed, uploads = ops.list_multipart_uploads(t, emu.bucket)
        aborted = ops.abort_multipart_upload(t, emu.bucket, "k", "no-such-upload")
    assert deleted.is_ok() and listed.is_ok() and uploads == []
    assert aborted.code == 404 and aborted.error_code == "NoSuchUpload" and aborted.req_id
    assert [op for op, _ in lean_ops] == ["HeadObject", "DeleteObject", "ListMultipartUploads",
                                          "AbortMultipartUpload"]


def test_a_dead_endpoint_is_a_status(lean_ops):
    opts = oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="a",
                                      access_key_secret="b", max_retries=0)
    with Transport(opts) as t:
        status, meta = ops.head_object(t, "some-bucket", "k")
    assert status.code == oss.status.HTTP_IO_ERROR and meta is None
    assert lean_ops == [("HeadObject", False)]     # no connection: the attempt went to requests


def test_a_proxy_leaves_every_request_to_requests(oss_emulator, tmp_path, lean_ops):
    with Transport(options_for(oss_emulator, proxy="http://127.0.0.1:9")) as t:
        assert t.lean() is None
    assert lean_ops == []
