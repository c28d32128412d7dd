"""The damaging relay: forwards byte-exact when calm; flips, cuts and stalls inside bodies
when asked; the engines end every transfer through it byte-exact or with a clear Status."""
from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest

import ossresume_c as oss
from ossresume_c import native, ops
from ossresume_c.testing.relay import Relay
from ossresume_c.transport import Transport
from helpers import make_file, options_for


def _relay(emu, **kw):
    url = urlsplit(emu.endpoint)
    return Relay((url.hostname, url.port), **kw)


def via(emu, relay, **kw):
    return emu.options(endpoint=relay.endpoint, backoff_base=0.01, backoff_cap=0.05, **kw)


def test_refuses_a_non_loopback_upstream():
    with pytest.raises(ValueError):
        Relay(("10.0.0.1", 80))


def test_calm_relay_forwards_exactly(oss_emulator):
    data = random.Random(1).randbytes(300_000)
    with _relay(oss_emulator, rate=0.0) as relay:
        with Transport(via(oss_emulator, relay)) as t:
            assert ops.put_object(t, oss_emulator.bucket, "k", data, expect_crc=native.crc64(data))[0].is_ok()
            status, meta = ops.head_object(t, oss_emulator.bucket, "k")
            assert status.is_ok() and meta.size == len(data)
            for _ in range(3):    # several messages on one kept-alive connection
                status, body = ops.get_object(t, oss_emulator.bucket, "k", (5, 99_999))
                assert status.is_ok() and body == data[5:100_000]
    assert relay.counts["connections"] >= 1
    assert sum(v for k, v in relay.counts.items() if k != "connections") == 0


def test_flipped_response_bytes_are_caught(oss_emulator):
    data = random.Random(2).randbytes(200_000)
    with Transport(options_for(oss_emulator)) as t:
        ops.put_object(t, oss_emulator.bucket, "k", data)
    with _relay(oss_emulator, rate=1.0, kinds=("flip",), budget=1) as relay:
        with Transport(via(oss_emulator, relay, max_retries=0)) as t:
            status, body = ops.get_object(t, oss_emulator.bucket, "k")
    assert relay.counts["flip_response"] == 1
    assert status.is_ok() and body != data and len(body) == len(data)   # the wire lied...
    assert native.crc64(body) != native.crc64(data)                      # ...and the CRC-64 shows it


def test_a_flipped_request_body_is_a_retried_crc_mismatch(oss_emulator):
    data = random.Random(3).randbytes(100_000)
    with _relay(oss_emulator, rate=1.0, kinds=("flip",), budget=1) as relay:
        with Transport(via(oss_emulator, relay, max_retries=2)) as t:
            status, _ = ops.put_object(t, oss_emulator.bucket, "k", data, expect_crc=native.crc64(data))
    assert relay.counts["flip_request"] == 1 and status.is_ok()
    puts = [e for e in oss_emulator.request_log() if e["op"] == "PutObject"]
    assert len(puts) == 2


def test_a_cut_connection_is_retried(oss_emulator):
    data = random.Random(4).randbytes(100_000)
    with _relay(oss_emulator, rate=1.0, kinds=("cut",), budget=1) as relay:
        with Transport(via(oss_emulator, relay, max_retries=2)) as t:
            status, _ = ops.put_object(t, oss_emulator.bucket, "k", data, expect_crc=native.crc64(data))
            assert status.is_ok()
            status, body = ops.get_object(t, oss_emulator.bucket, "k")
    assert relay.counts["cut_request"] == 1 and status.is_ok() and body == data


@pytest.mark.parametrize("seed", range(3))
def test_engines_through_a_damaging_relay(oss_emulator, tmp_path, seed):
    path = make_file(tmp_path / "f.bin", 900 * 1024, seed=seed)
    clt = oss.create_resumable_clt_params(200 * 1024, 3, True, str(tmp_path / "cp"))
    with _relay(oss_emulator, seed=seed, rate=0.3, max_stall=0.2, budget=8) as relay:
        opts = via(oss_emulator, relay, max_retries=3)
        up = oss.resumable_upload_file(opts, oss_emulator.bucket, "k", path, clt_params=clt)
        down = oss.resumable_download_file(opts, oss_emulator.bucket, "k", str(tmp_path / "out"),
                                           clt_params=clt) if up.is_ok() else None
    assert sum(v for k, v in relay.counts.items() if k != "connections") >= 1
    for status in (up, down):
        assert status is None or status.is_ok() or status.error_code
    # calm again: what failed completes, byte-exact, and no upload is left
    opts = options_for(oss_emulator)
    assert oss.resumable_upload_file(opts, oss_emulator.bucket, "k", path, clt_params=clt).is_ok()
    assert oss.resumable_download_file(opts, oss_emulator.bucket, "k", str(tmp_path / "out"),
                                       clt_params=clt).is_ok()
    assert (tmp_path / "out").read_bytes() == open(path, "rb").read()
    with Transport(opts) as t:
        assert ops.list_multipart_uploads(t, oss_emulator.bucket)[1] == []


def test_calm_relay_keeps_each_connection_s_framing(oss_emulator):
    """HEADs (answers without a body) and GETs on several connections at once: each
    connection's answers are framed by its own requests."""
    from concurrent.futures import ThreadPoolExecutor
    data = random.Random(5).randbytes(50_000)
    with Transport(options_for(oss_emulator)) as t:
        ops.put_object(t, oss_emulator.bucket, "k", data)
    with _relay(oss_emulator, rate=0.0) as relay:
        def client(n):
            with Transport(via(oss_emulator, relay, max_retries=0, read_timeout=10)) as t:
                for i in range(6):
                    if (n + i) % 2:
                        status, meta = ops.head_object(t, oss_emulator.bucket, "k")
                        assert status.is_ok() and meta.size == len(data), status
                    else:
                        status, body = ops.get_object(t, oss_emulator.bucket, "k")
                        assert status.is_ok() and body == data, status
            return n
        with ThreadPoolExecutor(4) as pool:
            assert sorted(pool.map(client, range(4))) == [0, 1, 2, 3]
    assert relay.counts["connections"] >= 4
