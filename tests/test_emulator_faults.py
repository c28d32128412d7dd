"""Fault injection through the control API, the --fault flag, and the request log."""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.request

import pytest
from conformance.rawclient import RawClient

from ossresume_c.emulator import EmulatorError, start_emulator
from ossresume_c.native import crc64


@pytest.fixture
def client(oss_emulator):
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    yield c
    c.close()


def _upload_id(client, bucket, key):
    reply = client.request("POST", bucket, key, [("uploads", "")])
    return reply.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()


def test_status_fault_nth(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = _upload_id(client, bucket, "f")
    oss_emulator.add_fault(op="UploadPart", action="status", status=503, nth=3)
    statuses = []
    for n in range(1, 6):
        reply = client.request("PUT", bucket, "f", [("partNumber", str(n)), ("uploadId", upload_id)], body=b"x" * 1000)
        statuses.append(reply.status)
        if reply.status == 503:
            assert b"<Code>ServiceUnavailable</Code>" in reply.body
    assert statuses == [200, 200, 503, 200, 200]
    listed = client.request("GET", bucket, "f", [("uploadId", upload_id)]).body
    assert b"<PartNumber>3</PartNumber>" not in listed  # "before" faults do not perform the operation
    rules = oss_emulator.faults()
    assert rules[0]["matched"] == 5 and rules[0]["fired"] == 1
    counters = oss_emulator.counters()
    assert counters["faults_fired"] == {"status": 1}
    assert counters["requests_by_op"]["UploadPart"] == 5
    assert counters["errors_by_code"] == {"ServiceUnavailable": 1}


def test_status_fault_after_phase_performs_the_operation(client, oss_emulator):
    bucket = oss_emulator.bucket
    oss_emulator.add_fault(op="PutObject", action="status", status=500, phase="after")
    reply = client.request("PUT", bucket, "lost-response", body=b"stored anyway")
    assert reply.status == 500 and b"<Code>InternalError</Code>" in reply.body
    assert client.request("GET", bucket, "lost-response").body == b"stored anyway"


@pytest.mark.parametrize("mode", ["flip", "declaration", "html", "truncate"])
def test_garble_fault_damages_the_answer_after_the_operation(client, oss_emulator, mode):
    bucket = oss_emulator.bucket
    clean = client.request("POST", bucket, "g", [("uploads", "")]).body
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="garble", mode=mode, seed=4, nth=1)
    damaged = client.request("POST", bucket, "g", [("uploads", "")])
    assert damaged.status == 200 and damaged.body != clean
    assert len(damaged.body) == int(damaged.header("Content-Length"))
    listed = client.request("GET", bucket, "", [("uploads", "")]).body
    assert listed.count(b"<UploadId>") == 2   # the server created it all the same
    with pytest.raises(Exception):
        oss_emulator.add_fault(op="*", action="garble", mode="nonsense")


def test_fraction_fault_with_count_and_filters(client, oss_emulator):
    bucket = oss_emulator.bucket
    oss_emulator.add_fault(op="*", action="status", status=500, fraction=0.5, seed=7, count=3, key_prefix="frac/")
    statuses = [client.request("PUT", bucket, f"frac/{i}", body=b"1").status for i in range(30)]
    assert statuses.count(500) == 3
    assert client.request("PUT", bucket, "other", body=b"1").status == 200


def test_part_number_filter(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = _upload_id(client, bucket, "pn")
    oss_emulator.add_fault(op="UploadPart", action="status", status=503, part_number=2, count=1)
    got = [client.request("PUT", bucket, "pn", [("partNumber", str(n)), ("uploadId", upload_id)], body=b"1").status for n in (1, 2, 3, 2)]
    assert got == [200, 503, 200, 200]


def test_reset_mid_request_body(oss_emulator):
    bucket = oss_emulator.bucket
    oss_emulator.add_fault(op="PutObject", action="reset", after_bytes=100_000)
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        c.request("PUT", bucket, "reset", body=os.urandom(1_000_000))
    c.close()
    entry = [e for e in oss_emulator.request_log() if e["op"] == "PutObject"][-1]
    assert entry["status"] == "reset" and entry["fault"].startswith("reset#")
    assert 0 < entry["bytes_in"] <= 100_000
    fresh = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    assert fresh.request("GET", bucket, "reset").status == 404  # nothing was stored
    fresh.close()


def test_reset_mid_get_response(client, oss_emulator):
    bucket = oss_emulator.bucket
    data = os.urandom(500_000)
    client.request("PUT", bucket, "g", body=data)
    oss_emulator.add_fault(op="GetObject", action="reset", after_bytes=65536)
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        headers = {"Host": f"127.0.0.1:{client.port}"}
        client.sign("GET", bucket, "g", [], headers)
        sock.sendall((f"GET /{bucket}/g HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        received = b""
        with pytest.raises(ConnectionResetError):
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    body = received.split(b"\r\n\r\n", 1)[1]
    assert b" 200 " in received.split(b"\r\n", 1)[0]
    assert len(body) == 65536 and body == data[:65536]


def test_bad_crc(client, oss_emulator):
    bucket = oss_emulator.bucket
    oss_emulator.add_fault(op=["PutObject", "GetObject", "HeadObject"], action="bad_crc")
    data = b"crc please"
    put = client.request("PUT", bucket, "bc", body=data)
    assert put.status == 200 and put.header("x-oss-hash-crc64ecma") != str(crc64(data))
    assert client.request("GET", bucket, "bc").header("x-oss-hash-crc64ecma") != str(crc64(data))
    oss_emulator.clear_faults()
    assert client.request("HEAD", bucket, "bc").header("x-oss-hash-crc64ecma") == str(crc64(data))  # stored CRC is right
    upload_id = _upload_id(client, bucket, "bcl")
    client.request("PUT", bucket, "bcl", [("partNumber", "1"), ("uploadId", upload_id)], body=data)
    oss_emulator.add_fault(op="ListParts", action="bad_crc")
    listed = client.request("GET", bucket, "bcl", [("uploadId", upload_id)]).body
    assert f"<HashCrc64ecma>{crc64(data) ^ 1}</HashCrc64ecma>".encode() in listed


def test_delay_and_throttle(client, oss_emulator):
    bucket = oss_emulator.bucket
    oss_emulator.add_fault(op="HeadBucketNothing", action="delay", seconds=30)  # never matches
    oss_emulator.add_fault(op="PutObject", action="delay", seconds=0.3, count=1)
    started = time.monotonic()
    assert client.request("PUT", bucket, "slow", body=b"1").status == 200
    assert time.monotonic() - started >= 0.3
    data = os.urandom(200_000)
    oss_emulator.add_fault(op=["PutObject", "GetObject"], action="throttle", bytes_per_sec=1_000_000)
    started = time.monotonic()
    assert client.request("PUT", bucket, "thr", body=data).status == 200
    assert time.monotonic() - started >= 0.18
    started = time.monotonic()
    assert client.request("GET", bucket, "thr").body == data
    assert time.monotonic() - started >= 0.18


def test_request_log_entries(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = _upload_id(client, bucket, "log/k")
    client.request("PUT", bucket, "log/k", [("partNumber", "4"), ("uploadId", upload_id)], body=b"12345")
    client.request("GET", bucket, "missing")
    log = oss_emulator.request_log()
    assert [e["op"] for e in log] == ["InitiateMultipartUpload", "UploadPart", "GetObject"]
    part = log[1]
    assert part["bucket"] == bucket and part["key"] == "log/k" and part["part_number"] == 4
    assert part["upload_id"] == upload_id and part["status"] == 200 and part["bytes_in"] == 5
    assert part["method"] == "PUT" and part["duration"] >= 0 and part["fault"] is None
    assert log[2]["status"] == 404 and log[2]["error_code"] == "NoSuchKey"
    oss_emulator.clear_request_log()
    assert oss_emulator.request_log() == []


def test_control_api_errors(oss_emulator):
    server = oss_emulator.server
    with pytest.raises(EmulatorError):
        server.add_fault(action="explode")
    with pytest.raises(EmulatorError):
        server.control("GET", "no-such-endpoint")
    rule_id = server.add_fault(action="delay", seconds=0)
    server.remove_fault(rule_id)
    assert server.faults() == []


def test_fault_flag_and_request_log_file(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    rule = {"op": "PutObject", "action": "status", "status": 503, "nth": 1}
    with start_emulator(root=str(tmp_path / "root"), buckets=["flag-bucket"], faults=[rule], request_log=str(log_path)) as emu:
        c = RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
        assert c.request("PUT", "flag-bucket", "k", body=b"1").status == 503
        assert c.request("PUT", "flag-bucket", "k", body=b"1").status == 200
        c.close()
        health = json.loads(urllib.request.urlopen(emu.endpoint + "/_emulator/health", timeout=10).read())
        assert health["status"] == "ok" and health["pid"] == emu.pid
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(e["op"], e["status"]) for e in lines] == [("PutObject", 503), ("PutObject", 200)]
