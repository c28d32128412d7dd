"""ossresume_c.direct_body against the emulator (HTTP and HTTPS): ranged GET bodies
received straight into the file, the connection back in the pool after each, a
connection cut mid-body retried to a byte-exact file, and the usual path for any
response that is not plain (an encoding, a chunked body, a short body)."""
from __future__ import annotations

import errno
import os
from typing import List, Optional

import pytest
from helpers import make_file, options_for

import ossresume_c as oss
from ossresume_c import direct_body, native, ops
from ossresume_c.emulator import start_emulator
from ossresume_c.transport import Transport

MiB = 1024 * 1024


@pytest.fixture
def spy(monkeypatch):
    """Every direct_body.receive result (None: the usual path), the real function called;
    downloads GET their parts through requests (part_get.py off)."""
    monkeypatch.setenv("OSSRESUME_PART_GETTER", "requests")
    results: List[Optional[int]] = []
    real = direct_body.receive

    def receive(*args):
        out = real(*args)
        results.append(out)
        return out

    monkeypatch.setattr(direct_body, "receive", receive)
    return results


def _upload(emu, tmp_path, size, key="obj", headers=None, seed=3):
    src = make_file(tmp_path / f"{key}.src", size, seed=seed)
    with Transport(options_for(emu)) as t, open(src, "rb") as fh:
        status, _ = ops.put_object(t, emu.bucket, key, fh.read(), headers)
    assert status.is_ok(), status
    with open(src, "rb") as fh:
        return fh.read()


def _download(emu, target, part, threads=3, **kw):
    params = oss.create_resumable_clt_params(part, threads, False, None)
    return oss.resumable_download_file(options_for(emu, **kw), emu.bucket, "obj", str(target),
                                       clt_params=params)


def test_every_part_is_received_directly_and_byte_exact(oss_emulator, tmp_path, spy):
    want = _upload(oss_emulator, tmp_path, 5 * MiB + 200_000)
    status = _download(oss_emulator, tmp_path / "out", 1 * MiB)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == want
    assert len(spy) == 6 and None not in spy


def test_the_connection_goes_back_to_the_pool(oss_emulator, tmp_path):
    size = 300_000
    want = _upload(oss_emulator, tmp_path, size)
    fd = os.open(str(tmp_path / "out"), os.O_RDWR | os.O_CREAT, 0o644)
    seen = []

    def consume(resp):
        seen.append((resp.raw.connection, resp.raw.connection.sock))
        return None, direct_body.receive(resp, fd, 0, size)

    try:
        with Transport(options_for(oss_emulator)) as t:
            for _ in range(3):
                status, crc = ops.get_object(t, oss_emulator.bucket, "obj", (0, size - 1),
                                             consume=consume)
                assert status.is_ok(), status
                assert crc == native.crc64(want)
                # the next request on this transport may go on the same connection
                assert seen[-1][0].sock is seen[-1][1]
    finally:
        os.close(fd)
    assert len({id(conn) for conn, _ in seen}) == 1 and len({id(s) for _, s in seen}) == 1
    assert (tmp_path / "out").read_bytes() == want


def test_a_connection_cut_mid_body_is_retried_byte_exact(oss_emulator, tmp_path, spy):
    want = _upload(oss_emulator, tmp_path, 4 * MiB)
    rule = oss_emulator.add_fault(op="GetObject", action="reset", after_bytes=300_000, nth=2)
    status = _download(oss_emulator, tmp_path / "out", 1 * MiB, threads=2)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == want
    assert [f["fired"] for f in oss_emulator.faults() if f["id"] == rule] == [1]
    assert len(spy) == 4 and None not in spy      # the broken attempt raised, the retry went direct


def test_a_stall_past_the_read_timeout_is_retried_byte_exact(oss_emulator, tmp_path, spy):
    want = _upload(oss_emulator, tmp_path, 2 * MiB)
    # the second GET's body comes 4 KiB every 0.5 s: a wait for data times out (0.2 s), and
    # the GET is sent again
    oss_emulator.add_fault(op="GetObject", action="throttle", bytes_per_sec=8192, nth=2)
    oss_emulator.clear_request_log()
    status = _download(oss_emulator, tmp_path / "out", 1 * MiB, threads=1, read_timeout=0.2)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == want
    assert len(spy) == 2 and None not in spy
    assert [e.get("op") for e in oss_emulator.request_log()].count("GetObject") == 3


def test_a_response_with_an_encoding_takes_the_usual_path(oss_emulator, tmp_path, spy):
    want = _upload(oss_emulator, tmp_path, 3 * MiB, headers={"Content-Encoding": "gzip"})
    status = _download(oss_emulator, tmp_path / "out", 1 * MiB)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == want    # stored bytes, not decoded
    assert spy == [None, None, None]


def test_chunked_and_short_bodies_take_the_usual_path(oss_emulator, tmp_path):
    text = b"a line of text that compresses well\n" * 4000
    with Transport(options_for(oss_emulator)) as t:
        status, _ = ops.put_object(t, oss_emulator.bucket, "text", text, {"Content-Type": "text/plain"})
        assert status.is_ok(), status
        got = []

        def consume(resp):
            got.append((resp.headers.get("Transfer-Encoding"), direct_body.direct_socket(resp, len(text))))
            return None, resp.raw.read()

        # Accept-Encoding: gzip makes the emulator answer with a chunked gzip stream
        status, _ = ops.get_object(t, oss_emulator.bucket, "text", None, {"Accept-Encoding": "gzip"},
                                   consume=consume)
        assert status.is_ok(), status
        status, _ = ops.get_object(t, oss_emulator.bucket, "text", (0, 999), consume=consume)
        assert status.is_ok(), status
    assert got == [("chunked", None), (None, None)]


def test_a_file_error_is_not_a_wire_error(oss_emulator, tmp_path):
    size = 200_000
    _upload(oss_emulator, tmp_path, size)
    (tmp_path / "ro").write_bytes(b"")
    ro = os.open(str(tmp_path / "ro"), os.O_RDONLY)
    caught = []

    def consume(resp):
        try:
            direct_body.receive(resp, ro, 0, size)
        except native.PartWriteError as exc:
            caught.append(exc.errno)
        return None, None

    try:
        with Transport(options_for(oss_emulator)) as t:
            status, _ = ops.get_object(t, oss_emulator.bucket, "obj", (0, size - 1), consume=consume)
    finally:
        os.close(ro)
    assert status.is_ok() and caught == [errno.EBADF]


# -- HTTPS --------------------------------------------------------------------------------

TLS_BUCKET = "direct-body-tls"


@pytest.fixture(scope="module")
def https_emulator(tmp_path_factory):
    pytest.importorskip("cryptography")
    from test_security_client import _self_signed_for_loopback
    cert, key = _self_signed_for_loopback(tmp_path_factory.mktemp("direct-body-tls"))
    with start_emulator(buckets=[TLS_BUCKET], tls_cert=cert, tls_key=key) as emu:
        yield emu, cert


def _tls_options(emu, cert):
    return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=emu.access_key_secret, region=emu.region,
                                      verify=cert, backoff_base=0.01, backoff_cap=0.05)


def test_https_parts_are_received_directly_and_a_cut_is_retried(https_emulator, tmp_path, spy):
    emu, cert = https_emulator
    options = _tls_options(emu, cert)
    src = make_file(tmp_path / "src", 3 * MiB + 100_000, seed=11)
    params = oss.create_resumable_clt_params(1 * MiB, 2, False, None)
    assert oss.resumable_upload_file(options, TLS_BUCKET, "obj", src, clt_params=params).is_ok()
    want = open(src, "rb").read()
    emu.add_fault(op="GetObject", action="reset", after_bytes=200_000, nth=3)
    status = oss.resumable_download_file(options, TLS_BUCKET, "obj", str(tmp_path / "out"),
                                         clt_params=params)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == want
    assert [f["fired"] for f in emu.faults()] == [1]
    assert len(spy) == 4 and None not in spy
