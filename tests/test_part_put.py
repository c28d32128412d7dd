"""The lean UploadPart (part_put.py) inside resumable_upload_file, against the emulator:
the parts really go the lean way, and retries, CRC-64 mismatches, a file shrinking
under the upload, timeouts and TLS end as the regular path ends them."""
from __future__ import annotations

import os
import socket
import time

import pytest

import ossresume_c as oss
from ossresume_c import part_put
from ossresume_c import send_range as sr
from ossresume_c import status as st

from helpers import file_crc, get_bytes, head, make_file, ops_in_log, options_for, upload_part_requests

pytestmark = pytest.mark.skipif(not sr.AVAILABLE, reason="the lean path needs pread and poll")
KB = 1024


@pytest.fixture
def lean_results(monkeypatch):
    """Every LeanPart (or None) the lean path returned during the test, one per part
    it was asked to send (``put``) or sent in a row (``put_many``)."""
    seen = []
    real, real_many = part_put.PartPutter.put, part_put.PartPutter.put_many

    def spy(self, *a, **kw):
        result = real(self, *a, **kw)
        seen.append(result)
        return result

    def spy_many(self, *a, **kw):
        results = real_many(self, *a, **kw)
        seen.extend(results or ())
        return results

    monkeypatch.setattr(part_put.PartPutter, "put", spy)
    monkeypatch.setattr(part_put.PartPutter, "put_many", spy_many)
    return seen


def upload(emu, key, path, part_size=100 * KB, threads=2, checkpoint=False, callback=None, **opts):
    params = oss.create_resumable_clt_params(part_size, threads, checkpoint)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, key, path, None, None,
                                     params, callback)


def assert_object_is_file(emu, key, path):
    status, meta = head(emu, key)
    assert status.is_ok(), status
    assert meta.crc64 == file_crc(path)
    with open(path, "rb") as fh:
        assert get_bytes(emu, key) == fh.read()


def test_every_part_goes_the_lean_way(oss_emulator, tmp_path, lean_results):
    path = make_file(tmp_path / "f.bin", 1_050_000, seed=1)
    assert upload(oss_emulator, "k", path, threads=3).is_ok()
    assert_object_is_file(oss_emulator, "k", path)
    assert len(lean_results) == 11 == len(upload_part_requests(oss_emulator, "k"))
    assert all(r is not None and r.final and r.status.is_ok() and r.etag for r in lean_results)


def test_the_sendfile_body_path(oss_emulator, tmp_path, lean_results, monkeypatch):
    monkeypatch.setenv("OSSRESUME_PART_SENDER", "sendfile")
    path = make_file(tmp_path / "f.bin", 450_000, seed=2)
    assert upload(oss_emulator, "k", path).is_ok()
    assert_object_is_file(oss_emulator, "k", path)
    assert len(lean_results) == 5 and all(r.status.is_ok() for r in lean_results)


@pytest.mark.parametrize("fault", [
    {"action": "status", "status": 503, "part_number": 3, "nth": 1},
    {"action": "bad_crc", "part_number": 5, "nth": 1},
    {"action": "reset", "after_bytes": 0, "part_number": 4, "nth": 1},
    {"action": "status", "status": 403, "part_number": 2, "nth": 1},
])
def test_parts_in_a_row_settle_each_part_as_one_would(oss_emulator, tmp_path, monkeypatch, fault):
    """Small parts go out several per C call (put_many); a part whose answer is not a
    clean 200 ends the run there and is settled (retried or failed) as a single part
    would be, and the parts after it are sent in the next run."""
    emu = oss_emulator
    calls = []
    real = part_put.PartPutter.put_many

    def spy(self, bucket, key, upload_id, fd, parts, *a):
        calls.append([number for number, _, _ in parts])
        return real(self, bucket, key, upload_id, fd, parts, *a)

    monkeypatch.setattr(part_put.PartPutter, "put_many", spy)
    path = make_file(tmp_path / "f.bin", 12 * 100 * KB + 999, seed=4)
    emu.server.add_fault(op="UploadPart", **fault)
    status = upload(emu, "k", path, part_size=100 * KB, threads=1, max_retries=2)
    assert calls and calls[0][:2] == [1, 2] and part_put.batch_limit(100 * KB) > 1
    sent = [int(e["part_number"]) for e in upload_part_requests(emu, "k")]
    if fault.get("status") == 403:          # a client error is final: nothing after it is sent
        assert status.code == 403 and sent == [1, 2]
        assert head(emu, "k")[0].code == 404
        return
    assert status.is_ok(), status
    assert_object_is_file(emu, "k", path)
    assert sorted(set(sent)) == list(range(1, 14)) and len(sent) >= 14   # the faulty part again
    bad = fault["part_number"]
    if fault["action"] == "bad_crc":    # a clean 200 to C: the CRC-64 is compared after the run
        assert calls[0] == list(range(1, 9))
    else:                               # the run ended at the bad part; the next began after it
        assert calls[0] == list(range(1, 9)) and calls[1][0] == bad + 1


@pytest.mark.parametrize("sender", ["send", "sendfile"])
@pytest.mark.parametrize("mode", ["page", "heap"])
def test_http_parts_go_through_the_chosen_buffer(oss_emulator, tmp_path, lean_results, monkeypatch,
                                                 mode, sender):
    """Plain-HTTP part bodies are read into a page-aligned buffer (the file's bytes
    at a page boundary after the head) unless OSSRESUME_PART_BUFFER=heap; parts
    larger than a chunk and a last short part arrive whole either way."""
    from ossresume_c import aligned
    monkeypatch.setenv("OSSRESUME_PART_BUFFER", mode)
    monkeypatch.setenv("OSSRESUME_PART_SENDER", sender)
    made = []
    real = aligned.scratch

    def spy(size, mode=""):
        made.append(real(size, mode))
        return made[-1]

    monkeypatch.setattr(aligned, "scratch", spy)
    path = make_file(tmp_path / "f.bin", 3 * 700 * KB + 12_345, seed=3)
    assert upload(oss_emulator, "k", path, part_size=700 * KB).is_ok()
    assert_object_is_file(oss_emulator, "k", path)
    assert len(lean_results) == 4 and all(r.final and r.status.is_ok() for r in lean_results)
    size = part_put.CHUNK + (aligned.PAGE if sender == "send" else 0)
    kind = aligned.mmap.mmap if mode == "page" else bytearray
    assert 1 <= len(made) <= 2 and all(isinstance(b, kind) and len(b) == size for b in made)


@pytest.mark.parametrize("why", [{"OSSRESUME_PART_SENDER": "requests"}, {"enable_md5": True},
                                 {"max_bandwidth": 100 << 20}])
def test_what_the_lean_path_leaves_to_requests(oss_emulator, tmp_path, lean_results, monkeypatch, why):
    opts = {k: v for k, v in why.items() if not k.isupper()}
    for name, value in why.items():
        if name.isupper():
            monkeypatch.setenv(name, value)
    path = make_file(tmp_path / "f.bin", 250_000, seed=3)
    assert upload(oss_emulator, "k", path, **opts).is_ok()
    assert_object_is_file(oss_emulator, "k", path)
    assert lean_results == [None, None, None]


def test_retryable_answers_continue_on_the_regular_path(oss_emulator, tmp_path, lean_results):
    emu = oss_emulator
    path = make_file(tmp_path / "f.bin", 500_000, seed=4)
    emu.server.add_fault(op="UploadPart", action="status", status=503, nth=2)
    emu.server.add_fault(op="UploadPart", action="reset", after_bytes=50_000, nth=4)
    assert upload(emu, "k", path, threads=1, max_retries=2).is_ok()
    assert_object_is_file(emu, "k", path)
    retried = [r for r in lean_results if not r.final]
    assert [r.status.code for r in retried] == [503, st.HTTP_IO_ERROR]
    assert len(upload_part_requests(emu, "k")) == 5 + 2


def test_no_retries_means_the_lean_attempt_is_the_only_one(oss_emulator, tmp_path, lean_results):
    emu = oss_emulator
    path = make_file(tmp_path / "f.bin", 500_000, seed=5)
    emu.server.add_fault(op="UploadPart", action="status", status=503, nth=2)
    status = upload(emu, "k", path, threads=1, max_retries=0)
    assert status.code == 503
    assert ops_in_log(emu).count("UploadPart") == 2
    assert ops_in_log(emu)[-1] == "AbortMultipartUpload"


def test_client_errors_are_final(oss_emulator, tmp_path, lean_results):
    emu = oss_emulator
    path = make_file(tmp_path / "f.bin", 500_000, seed=6)
    emu.server.add_fault(op="UploadPart", action="status", status=403, nth=2)
    status = upload(emu, "k", path, threads=1, max_retries=3)
    assert status.code == 403 and status.error_code
    assert ops_in_log(emu).count("UploadPart") == 2


def test_a_crc_mismatch_is_retried_then_reported(oss_emulator, tmp_path, lean_results):
    emu = oss_emulator
    path = make_file(tmp_path / "f.bin", 300_000, seed=7)
    emu.server.add_fault(op="UploadPart", action="bad_crc", nth=1)
    assert upload(emu, "k", path, threads=1, max_retries=1).is_ok()
    assert lean_results[0].status.code == st.INCONSISTENT_ERROR and not lean_results[0].final
    emu.server.add_fault(op="UploadPart", action="bad_crc")     # every answer now
    status = upload(emu, "k2", path, threads=1, max_retries=1)
    assert status.code == st.INCONSISTENT_ERROR and "CRC" in status.error_msg


def test_a_file_shrinking_during_the_upload_is_a_status(oss_emulator, tmp_path, lean_results,
                                                        monkeypatch):
    from ossresume_c.part_head import PartHeads
    path = make_file(tmp_path / "f.bin", 800_000, seed=8)
    real = PartHeads.build

    def shrink_before_part_2(self, bucket, key, upload_id, part_number, *a):
        if part_number == 2:      # before any of its bytes are read (one part or several in a row)
            os.truncate(path, 150_000)
        return real(self, bucket, key, upload_id, part_number, *a)

    monkeypatch.setattr(PartHeads, "build", shrink_before_part_2)
    status = oss.resumable_upload_file(options_for(oss_emulator), oss_emulator.bucket, "k", path,
                                       None, None, oss.create_resumable_clt_params(100 * KB, 1, True))
    assert status.code == st.INCONSISTENT_ERROR and status.error_code == "FileChanged"
    assert any(r is not None and r.status.error_code == "FileChanged" for r in lean_results)
    assert os.path.exists(path + ".ucp")            # the checkpoint survives
    assert head(oss_emulator, "k")[0].code == 404


def test_a_server_that_stops_answering_is_a_timeout(oss_emulator, tmp_path, lean_results):
    emu = oss_emulator
    path = make_file(tmp_path / "f.bin", 300_000, seed=9)
    emu.server.add_fault(op="UploadPart", action="delay", seconds=1.5, nth=1)
    status = upload(emu, "k", path, threads=1, max_retries=0, read_timeout=0.3)
    assert status.code == st.REQUEST_TIMEOUT
    assert lean_results[0].status.code == st.REQUEST_TIMEOUT and lean_results[0].final
    # the server logs the delayed request when it ends: wait for that, so that it does not
    # land in the next test's request log
    deadline = time.monotonic() + 60
    while not any(e.get("op") == "UploadPart" for e in emu.server.request_log()):
        assert time.monotonic() < deadline, "the delayed UploadPart never ended"
        time.sleep(0.05)


def test_lean_parts_over_tls(tmp_path, tmp_path_factory, lean_results):
    pytest.importorskip("cryptography")
    from ossresume_c.emulator import start_emulator
    from ossresume_c.transport import Transport
    from ossresume_c import ops
    from test_security_client import _self_signed_for_loopback
    cert, key = _self_signed_for_loopback(tmp_path_factory.mktemp("tls"))
    path = make_file(tmp_path / "f.bin", 2_600_000, seed=10)
    with start_emulator(buckets=["tls-lean"], tls_cert=cert, tls_key=key) as emu:
        options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                             access_key_secret=emu.access_key_secret, region=emu.region,
                                             verify=cert)
        params = oss.create_resumable_clt_params(1 << 20, 2, False)
        assert oss.resumable_upload_file(options, "tls-lean", "k", path, clt_params=params).is_ok()
        with Transport(options) as t:
            status, meta = ops.head_object(t, "tls-lean", "k")
    assert status.is_ok() and meta is not None and meta.crc64 == file_crc(path)
    assert len(lean_results) == 3 and all(r.final and r.status.is_ok() for r in lean_results)


def test_a_server_answering_before_the_body_ends_gives_its_status(tmp_path):
    """A server that refuses from the head alone (403) and closes: its answer, not a broken pipe."""
    import socket
    import threading
    from ossresume_c.transport import Transport
    error = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
             b"<Message>no</Message><RequestId>R1</RequestId></Error>")
    listener = socket.create_server(("127.0.0.1", 0))

    def refuse() -> None:
        conn, _ = listener.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nx-oss-request-id: R1\r\nContent-Type: application/xml\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(error), error))
        conn.shutdown(socket.SHUT_WR)
        conn.close()

    thread = threading.Thread(target=refuse)
    thread.start()
    path = make_file(tmp_path / "f.bin", 32 << 20, seed=11)   # far more than socket buffers hold
    options = oss.request_options_create(endpoint=f"http://127.0.0.1:{listener.getsockname()[1]}",
                                         access_key_id="a", access_key_secret="b", max_retries=0)
    fd = os.open(path, os.O_RDONLY)
    try:
        with Transport(options) as t:
            putter = part_put.PartPutter(t, sender="send")
            result = putter.put("bucket", "k", "UP", 1, fd, 0, 32 << 20, {}, path)
            putter.close()
    finally:
        os.close(fd)
        thread.join()
        listener.close()
    assert result is not None and result.final
    assert result.status.code == 403 and result.status.error_code == "AccessDenied"


def test_a_ca_bundle_python_ssl_cannot_load_leaves_parts_to_requests(tmp_path):
    from ossresume_c.transport import Transport
    options = oss.request_options_create(endpoint="https://127.0.0.1:9", access_key_id="a",
                                         access_key_secret="b", verify=str(tmp_path))  # a directory
    with Transport(options) as t:
        putter = part_put.PartPutter(t)
        assert not putter.enabled
        assert putter.put("bucket", "k", "UP", 1, 0, 0, 1, {}, "f") is None
        putter.close()


ETAGS = [None, '"ABC"', "W/\"x\"", "", '"a"b"', "caf\u00e9"]
CRCS = [None, "5", "6", "", "x5", "18446744073709551616"]


def _old_rule(etag_text, crc_text, crc_sent, enable_crc):
    """The 200 check as PartPutter made it before the quick path: (accepted, error code)."""
    from ossresume_c import wire
    etag, crc = wire.etag(etag_text), wire.uint(crc_text)
    if etag is None or (crc_text is not None and crc is None):
        return False, "ServerError"
    if enable_crc and crc is not None and crc != crc_sent:
        return False, "InconsistentError"
    return True, ""


@pytest.mark.parametrize("enable_crc", [True, False])
@pytest.mark.parametrize("retries", [0, 3])
def test_settling_a_200_decides_as_before(enable_crc, retries):
    from hypothesis import given, settings
    from hypothesis import strategies as stt

    from ossresume_c.transport import Transport
    options = oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="a",
                                         access_key_secret="s", enable_crc=enable_crc,
                                         max_retries=retries)
    putter = part_put.PartPutter(Transport(options))

    @settings(max_examples=200, deadline=None)
    @given(etag=stt.sampled_from(ETAGS) | stt.text(max_size=6),
           crc=stt.sampled_from(CRCS) | stt.text(alphabet="0123456789 ", max_size=4))
    def check(etag, crc):
        got = putter._settle_ok(st.Status(200), etag, crc, 5, 7)
        accepted, code = _old_rule(etag, crc, 5, enable_crc)
        assert got.status.is_ok() == accepted
        if accepted:
            assert (got.final, got.crc64, got.etag) == (True, 5, etag.strip())
        else:
            assert got.status.error_code == code and got.final == (retries == 0)
            assert "UploadPart 7" in got.status.error_msg
    check()


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory):
    """The emulator over TLS with a self-signed certificate for 127.0.0.1, and that certificate."""
    pytest.importorskip("cryptography")
    from ossresume_c.emulator import start_emulator
    from test_security_client import _self_signed_for_loopback
    cert, key = _self_signed_for_loopback(tmp_path_factory.mktemp("tls"))
    with start_emulator(buckets=["tls-buf"], tls_cert=cert, tls_key=key) as emu:
        yield emu, cert


def _tls_options(emu, endpoint=None, **kw):
    return oss.request_options_create(endpoint=endpoint or emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=emu.access_key_secret, region=emu.region, **kw)


@pytest.mark.parametrize("mode", ["page", "heap"])
def test_tls_parts_go_through_the_chosen_buffer(tls_emulator, tmp_path, lean_results, monkeypatch, mode):
    """HTTPS part bodies are read into a page-aligned buffer (aligned.py) unless
    OSSRESUME_PART_BUFFER=heap; either way the object is the file."""
    from ossresume_c import aligned, ops
    from ossresume_c.transport import Transport
    emu, cert = tls_emulator
    monkeypatch.setenv("OSSRESUME_PART_BUFFER", mode)
    made = []
    real = aligned.scratch

    def spy(size, mode=""):
        buf = real(size, mode)
        made.append(buf)
        return buf

    monkeypatch.setattr(aligned, "scratch", spy)
    path = make_file(tmp_path / "f.bin", 3_300_000, seed=12)
    options = _tls_options(emu, verify=cert)
    params = oss.create_resumable_clt_params(1 << 20, 2, False)
    assert oss.resumable_upload_file(options, "tls-buf", f"k-{mode}", path, clt_params=params).is_ok()
    with Transport(options) as t:
        status, meta = ops.head_object(t, "tls-buf", f"k-{mode}")
        _, body = ops.get_object(t, "tls-buf", f"k-{mode}")
    assert status.is_ok() and meta is not None and meta.crc64 == file_crc(path)
    with open(path, "rb") as fh:
        assert bytes(body) == fh.read()
    assert len(lean_results) == 4 and all(r.final and r.status.is_ok() for r in lean_results)
    assert 1 <= len(made) <= 2     # one per worker thread
    kind = aligned.mmap.mmap if mode == "page" else bytearray
    assert all(isinstance(b, kind) and len(b) == part_put.TLS_CHUNK for b in made)


@pytest.mark.parametrize("why", ["untrusted certificate", "wrong host name"])
def test_tls_parts_are_not_sent_to_a_server_that_fails_verification(tls_emulator, tmp_path, why):
    import socket
    from ossresume_c.transport import Transport
    emu, cert = tls_emulator
    if why == "untrusted certificate":     # the system's CAs only: the self-signed one is unknown
        options = _tls_options(emu, max_retries=0)
    else:                                   # trusted, but issued for 127.0.0.1 only
        options = _tls_options(emu, emu.endpoint.replace("127.0.0.1", "localhost"), verify=cert,
                               max_retries=0)
        port = int(emu.endpoint.rsplit(":", 1)[1])
        socket.create_connection(("localhost", port), timeout=5).close()   # TCP gets through
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=13)
    emu.clear_request_log()
    fd = os.open(path, os.O_RDONLY)
    try:
        with Transport(options) as t:
            putter = part_put.PartPutter(t)
            assert putter.enabled and putter.tls
            assert putter.put("tls-buf", "k", "UP", 1, fd, 0, 300 * KB, {}, path) is None
            putter.close()
    finally:
        os.close(fd)
    assert emu.request_log() == []


def test_a_connection_closed_while_idle_is_replaced_at_the_start_of_a_run(oss_emulator, tmp_path):
    """put_many on a kept-alive connection the server closed while it was idle (it
    reads as EOF): nothing is sent on it; the first part goes out on a new one and
    the run returns it, the caller sends the rest."""
    from ossresume_c import ops
    from ossresume_c.transport import Transport
    emu = oss_emulator
    port = int(emu.endpoint.rsplit(":", 1)[1])
    path = make_file(tmp_path / "f.bin", 3 * 100 * KB, seed=6)
    fd = os.open(path, os.O_RDONLY)
    try:
        with Transport(options_for(emu)) as t:
            status, upload_id = ops.initiate_multipart_upload(t, emu.bucket, "k")
            assert status.is_ok() and upload_id
            putter = part_put.PartPutter(t)
            try:
                old = putter.conns.socket_for("127.0.0.1", port)
                old.shutdown(socket.SHUT_RD)        # reads as the server's close
                ranges = [(n + 1, n * 100 * KB, 100 * KB) for n in range(3)]
                first = putter.put_many(emu.bucket, "k", upload_id, fd, ranges, {}, str(path))
                assert first is not None and len(first) == 1 and first[0].final and first[0].status.is_ok()
                assert putter.conns.socket_for("127.0.0.1", port) is not old
                rest = putter.put_many(emu.bucket, "k", upload_id, fd, ranges[1:], {}, str(path))
                assert rest is not None and len(rest) == 2 and all(r.final and r.status.is_ok() for r in rest)
            finally:
                putter.close()
            parts = [(n + 1, r.etag) for n, r in enumerate(first + rest)]
            assert ops.complete_multipart_upload(t, emu.bucket, "k", upload_id, parts)[0].is_ok()
    finally:
        os.close(fd)
    assert_object_is_file(emu, "k", path)
