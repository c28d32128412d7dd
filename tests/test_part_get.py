"""The lean ranged GET (part_get.py) inside resumable_download_file, against the emulator:
parts really go the lean way and arrive byte-exact, and faults (5xx, 403, connections
cut mid-body, stalls past the read timeout, damaged bodies, the object replaced
mid-download) end with the same Status and the same number of GETs as the regular
path; TLS; a download that never imports requests; the "clean part" decision."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as hs

import ossresume_c as oss
from ossresume_c import direct_body, ops, part_get
from ossresume_c import status as st
from ossresume_c.small_put import Headers
from ossresume_c.transport import Transport

from helpers import bucket_log, options_for
from test_direct_body import TLS_BUCKET, _tls_options, https_emulator  # noqa: F401 (a fixture)

KB, MiB = 1024, 1024 * 1024


@pytest.fixture
def lean_results(monkeypatch):
    """Every LeanPart (or None) PartGetter.get returned during the test; and a
    check that the requests-side direct receiver was not needed."""
    seen = []
    real = part_get.PartGetter.get

    def spy(self, *a, **kw):
        result = real(self, *a, **kw)
        seen.append(result)
        return result

    monkeypatch.setattr(part_get.PartGetter, "get", spy)
    return seen


def put(emu, key, data, bucket=None):
    with Transport(options_for(emu)) as t:
        status, _ = ops.put_object(t, bucket or emu.bucket, key, data)
    assert status.is_ok(), status


def download(emu, key, target, part_size=100 * KB, threads=1, callback=None, **opts):
    params = oss.create_resumable_clt_params(part_size, threads, True)
    return oss.resumable_download_file(options_for(emu, **opts), emu.bucket, key, str(target),
                                       clt_params=params, progress_callback=callback)


def gets(emu, key):
    return [e for e in bucket_log(emu) if e.get("op") == "GetObject" and e.get("key") == key]


@pytest.mark.parametrize("version", [4, 1])
def test_every_part_goes_the_lean_way_byte_exact(oss_emulator, tmp_path, lean_results, monkeypatch,
                                                 version):
    received = []
    monkeypatch.setattr(direct_body, "receive", lambda *a: received.append(a))
    data = os.urandom(5 * MiB + 200_000)
    put(oss_emulator, "k", data)
    target = tmp_path / "out"
    assert download(oss_emulator, "k", target, part_size=1 * MiB, threads=3,
                    signature_version=version).is_ok()
    assert target.read_bytes() == data
    assert len(lean_results) == 6 == len(gets(oss_emulator, "k"))
    assert all(r is not None and r.final and r.status.code == 206 for r in lean_results)
    assert received == []     # no part went through requests


@pytest.mark.parametrize("size", [1, 5_000, 100 * KB, 100 * KB + 1])
def test_small_bodies_that_come_with_the_head(oss_emulator, tmp_path, lean_results, size):
    data = os.urandom(size)
    put(oss_emulator, "k", data)
    target = tmp_path / "out"
    assert download(oss_emulator, "k", target).is_ok()
    assert target.read_bytes() == data
    assert lean_results and all(r is not None and r.final and r.status.is_ok() for r in lean_results)


def test_an_empty_object(oss_emulator, tmp_path, lean_results):
    put(oss_emulator, "k", b"")
    target = tmp_path / "out"
    assert download(oss_emulator, "k", target).is_ok()
    assert target.read_bytes() == b""


@pytest.mark.parametrize("why", [{"OSSRESUME_PART_GETTER": "requests"}, {"max_bandwidth": 100 << 20},
                                 {"proxy": "http://127.0.0.1:9"}])
def test_what_the_lean_path_leaves_to_requests(oss_emulator, tmp_path, lean_results, monkeypatch, why):
    opts = {k: v for k, v in why.items() if not k.isupper()}
    for name, value in why.items():
        if name.isupper():
            monkeypatch.setenv(name, value)
    if "proxy" in opts:    # nothing listens there: only the lean path's state is checked
        with Transport(options_for(oss_emulator, **opts)) as t:
            assert not part_get.PartGetter(t).enabled
        return
    data = os.urandom(250_000)
    put(oss_emulator, "k", data)
    assert download(oss_emulator, "k", tmp_path / "out", **opts).is_ok()
    assert (tmp_path / "out").read_bytes() == data
    assert lean_results == [None, None, None]


FAULTS = {
    "503 once": ([dict(action="status", status=503, nth=2)], {"max_retries": 2}),
    "503 always": ([dict(action="status", status=503)], {"max_retries": 2}),
    "503, no retries": ([dict(action="status", status=503, nth=2)], {"max_retries": 0}),
    "403": ([dict(action="status", status=403, nth=2)], {"max_retries": 3}),
    "404": ([dict(action="status", status=404, code="NoSuchKey", nth=3)], {"max_retries": 3}),
    "cut mid-body": ([dict(action="reset", after_bytes=30_000, nth=2)], {"max_retries": 2}),
    "cut twice": ([dict(action="reset", after_bytes=1_000, nth=1, count=2)], {"max_retries": 1}),
    "stall in the body": ([dict(action="throttle", bytes_per_sec=8192, nth=2)],
                          {"max_retries": 2, "read_timeout": 0.2}),
    "stall before the head": ([dict(action="delay", seconds=0.6, nth=3)],
                              {"max_retries": 1, "read_timeout": 0.2}),
    "a lost reply": ([dict(action="status", status=500, phase="after", nth=2)], {"max_retries": 2}),
    "429, then 403": ([dict(action="status", status=429, nth=2), dict(action="status", status=403, nth=3)],
                      {"max_retries": 3}),
}


def _run_with_faults(emu, tmp_path, getter, monkeypatch, rules, opts, key):
    monkeypatch.setenv("OSSRESUME_PART_GETTER", getter)
    data = os.urandom(350_000)
    put(emu, key, data)
    emu.server.clear_faults()
    for rule in rules:
        emu.add_fault(op="GetObject", key=key, **rule)
    target = tmp_path / f"{getter}.out"
    status = download(emu, key, target, **opts)
    fired = [f["fired"] for f in emu.faults()]
    emu.server.clear_faults()
    exact = status.is_ok() and target.read_bytes() == data
    return status, len(gets(emu, key)), fired, exact


@pytest.mark.parametrize("name", list(FAULTS))
def test_faults_end_as_on_the_regular_path(oss_emulator, tmp_path, monkeypatch, lean_results, name):
    rules, opts = FAULTS[name]
    lean = _run_with_faults(oss_emulator, tmp_path, "lean", monkeypatch, rules, opts, "lean")
    used = [r for r in lean_results if r is not None]
    regular = _run_with_faults(oss_emulator, tmp_path, "requests", monkeypatch, rules, opts, "regular")
    assert used, "the lean path was not used"
    (ls, lgets, lfired, lexact), (rs, rgets, rfired, rexact) = lean, regular
    assert (ls.code, ls.error_code, lgets, lfired, lexact) == (rs.code, rs.error_code, rgets, rfired, rexact)
    if ls.is_ok():
        assert lexact


def test_the_object_replaced_mid_download_is_412_then_a_fresh_download(
        oss_emulator, tmp_path, lean_results, monkeypatch):
    first = os.urandom(400_000)
    put(oss_emulator, "k", first)
    target = tmp_path / "out"
    second = os.urandom(300_000)
    real, calls = part_get.PartGetter.get, []

    def replace_before_the_second_part(self, *a, **kw):
        # (the progress callback no longer runs after each part: the engine's caller
        # thread wakes only when one is due, so the replacement is made here)
        calls.append(1)
        if len(calls) == 2:
            put(oss_emulator, "k", second)
        return real(self, *a, **kw)

    monkeypatch.setattr(part_get.PartGetter, "get", replace_before_the_second_part)
    status = download(oss_emulator, "k", target, max_retries=3)
    monkeypatch.setattr(part_get.PartGetter, "get", real)
    assert status.code == 412 and status.error_code == "PreconditionFailed"
    assert any(r is not None and r.final and r.status.code == 412 for r in lean_results)
    assert not target.exists()
    assert download(oss_emulator, "k", target).is_ok()
    assert target.read_bytes() == second


def test_a_file_write_error_is_final(oss_emulator, tmp_path):
    put(oss_emulator, "k", os.urandom(300_000))
    path = tmp_path / "ro"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        with Transport(options_for(oss_emulator)) as t:
            getter = part_get.PartGetter(t)
            got = getter.get(oss_emulator.bucket, "k", 0, 199_999, 300_000, {}, fd, str(path))
            again = getter.get(oss_emulator.bucket, "k", 0, 9, 300_000, {}, fd, str(path))
            getter.close()
    finally:
        os.close(fd)
    for result in (got, again):    # a large body and one that came with the head
        assert result is not None and result.final
        assert result.status.code == st.FILE_WRITE_ERROR and result.status.error_code == "FileWriteError"
        assert str(path) in result.status.error_msg


def test_the_lean_reply_keeps_the_connection(oss_emulator, tmp_path):
    put(oss_emulator, "k", os.urandom(300_000))
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        with Transport(options_for(oss_emulator)) as t:
            getter = part_get.PartGetter(t)
            socks = []
            for first in (0, 100_000, 200_000):
                got = getter.get(oss_emulator.bucket, "k", first, first + 99_999, 300_000, {}, fd, "out")
                assert got is not None and got.status.code == 206
                socks.append(getter.conns.local.sock)
            getter.close()
    finally:
        os.close(fd)
    assert socks[0] is socks[1] is socks[2]


# -- HTTPS --------------------------------------------------------------------------------

def test_https_parts_go_the_lean_way_and_faults_are_retried(https_emulator, tmp_path, lean_results):  # noqa: F811
    emu, cert = https_emulator
    options = _tls_options(emu, cert)
    data = os.urandom(2 * MiB + 7)
    with Transport(options) as t:
        assert ops.put_object(t, TLS_BUCKET, "lean", data)[0].is_ok()
    emu.clear_faults()
    emu.add_fault(op="GetObject", key="lean", action="reset", after_bytes=100_000, nth=2)
    emu.add_fault(op="GetObject", key="lean", action="status", status=503, nth=4)
    params = oss.create_resumable_clt_params(512 * KB, 1, False, None)
    status = oss.resumable_download_file(options, TLS_BUCKET, "lean", str(tmp_path / "out"),
                                         clt_params=params)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == data
    assert [f["fired"] for f in emu.faults()] == [1, 1]
    assert [r.status.code for r in lean_results] == [206, st.HTTP_IO_ERROR, 503, 206, 206]
    emu.clear_faults()


# -- no requests at all --------------------------------------------------------------------

SCRIPT = """
import sys
import ossresume_c as oss
endpoint, ak, sk, region, bucket, target = sys.argv[1:]
options = oss.request_options_create(endpoint=endpoint, access_key_id=ak, access_key_secret=sk,
                                     region=region)
params = oss.create_resumable_clt_params(100 * 1024, 2, True)
status = oss.resumable_download_file(options, bucket, "k", target, clt_params=params)
print(status.code, "requests" in sys.modules)
"""


def test_a_plain_download_never_imports_requests(oss_emulator, tmp_path):
    data = os.urandom(450_000)
    put(oss_emulator, "k", data)
    target = tmp_path / "out"
    env = dict(os.environ)
    env.pop("OSSRESUME_PART_GETTER", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT, oss_emulator.endpoint, oss_emulator.access_key_id,
                          oss_emulator.access_key_secret, oss_emulator.region, oss_emulator.bucket,
                          str(target)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "False"]
    assert target.read_bytes() == data


# -- the "clean part" decision -------------------------------------------------------------

MUTATIONS = ("none", "chunked", "gzip", "no length", "length", "range", "whole object", "no range")


@given(first=hs.integers(0, 1 << 40), size=hs.integers(1, 1 << 30), tail=hs.integers(0, 1 << 30),
       mutation=hs.sampled_from(MUTATIONS), delta=hs.integers(1, 1000), upper=hs.booleans())
def test_a_reply_head_is_a_clean_part_only_when_untouched(first, size, tail, mutation, delta, upper):
    last = first + size - 1
    object_size = last + 1 + tail
    names = {n: (n.upper() if upper else n) for n in
             ("Content-Length", "Content-Range", "Transfer-Encoding", "Content-Encoding")}
    fields = {"Content-Length": str(size), "Content-Range": f"bytes {first}-{last}/{object_size}"}
    code = 206
    if mutation == "chunked":
        fields["Transfer-Encoding"] = "chunked"
    elif mutation == "gzip":
        fields["Content-Encoding"] = "gzip"
    elif mutation == "no length":
        del fields["Content-Length"]
    elif mutation == "length":
        fields["Content-Length"] = str(size + delta if delta % 2 else max(0, size - delta))
    elif mutation == "range":
        fields["Content-Range"] = f"bytes {first + delta}-{last + delta}/{object_size + delta}"
    elif mutation == "no range":
        del fields["Content-Range"]
    elif mutation == "whole object":
        code = 200
    headers = Headers()
    for name, value in fields.items():
        headers.add(names[name], value)
    problem = part_get.part_reply_problem(code, headers, first, last, object_size)
    clean = mutation == "none" or (mutation == "whole object" and first == 0 and tail == 0) \
        or (mutation == "length" and int(fields["Content-Length"]) == size)
    assert (problem == "") == clean, (mutation, problem)


def test_an_executors_workers_get_their_parts_the_lean_way(oss_emulator, tmp_path, lean_results):
    from concurrent.futures import ThreadPoolExecutor
    data = os.urandom(650_000)
    put(oss_emulator, "k", data)
    oss_emulator.add_fault(op="GetObject", key="k", action="status", status=503, nth=3)
    target = tmp_path / "out"
    params = oss.create_resumable_clt_params(100 * KB, 2, True)
    with ThreadPoolExecutor(2) as pool:
        status = oss.resumable_download_file(options_for(oss_emulator), oss_emulator.bucket, "k",
                                             str(target), clt_params=params, executor=pool)
    assert status.is_ok(), status
    assert target.read_bytes() == data
    assert sorted(r.status.code for r in lean_results) == [206] * 6 + [503]
    assert len(gets(oss_emulator, "k")) == 8


# -- replies the emulator does not send: a one-shot server on the loopback ----------------

def _one_reply(reply: bytes):
    """A server on 127.0.0.1 that reads one request head, sends ``reply`` and closes."""
    import socket
    import threading
    srv = socket.create_server(("127.0.0.1", 0))
    seen = []

    def serve():
        conn, _ = srv.accept()
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += conn.recv(65536)
            seen.append(buf)
            conn.sendall(reply)
        srv.close()
    thread = threading.Thread(target=serve)
    thread.start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", thread, seen


def _get_from(reply: bytes, tmp_path, **opts):
    endpoint, thread, seen = _one_reply(reply)
    options = oss.request_options_create(endpoint=endpoint, access_key_id="ak", access_key_secret="sk",
                                         region="cn-hangzhou", **opts)
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        with Transport(options) as t:
            getter = part_get.PartGetter(t)
            got = getter.get("bkt", "k", 100, 199, 1000, {"If-Match": '"E"'}, fd, "out")
            getter.close()
    finally:
        os.close(fd)
        thread.join()
    return got, seen[0], (tmp_path / "out").read_bytes()


PART = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/1000\r\nContent-Length: 100\r\n\r\n"


def test_the_request_head_carries_range_and_if_match(tmp_path):
    got, request, written = _get_from(PART + bytes(range(100)), tmp_path)
    assert got is not None and got.final and got.status.code == 206
    assert written[100:] == bytes(range(100))
    lines = request.decode("latin-1").lower().split("\r\n")
    assert lines[0].startswith("get /") and "range: bytes=100-199" in lines
    assert 'if-match: "e"' in lines and any(x.startswith("authorization: ") for x in lines)


@pytest.mark.parametrize("retries", [2, 0])
def test_a_server_that_closes_mid_body_is_a_retryable_io_error(tmp_path, retries):
    got, _, _ = _get_from(PART + b"x" * 40, tmp_path, max_retries=retries)
    assert got is not None and got.status.code == st.HTTP_IO_ERROR
    assert got.final == (retries == 0)      # no retries: the lean attempt was the only one


def test_a_garbled_head_is_a_retryable_io_error(tmp_path):
    got, _, _ = _get_from(b"SSH-2.0-OpenSSH_9\r\n\r\n", tmp_path)
    assert got is not None and not got.final and got.status.code == st.HTTP_IO_ERROR


@pytest.mark.parametrize("reply", [
    PART.replace(b"100-199", b"100-198"),
    PART.replace(b"Content-Length: 100", b"Transfer-Encoding: chunked"),
    PART.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n"),
    PART + bytes(101),       # more than the part with the head: something is off
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + bytes(1000),
])
def test_a_reply_that_is_not_a_clean_part_is_left_to_the_regular_path(tmp_path, reply):
    got, _, written = _get_from(reply, tmp_path)
    assert got is None and written == b""
