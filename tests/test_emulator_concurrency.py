"""At least 32 concurrent connections, each with a request in flight at the same time."""
from __future__ import annotations

import hashlib
import os
import threading
import xml.etree.ElementTree as ET

from conformance.rawclient import RawClient

from ossresume_c.native import crc64

CONNECTIONS = 32


def test_32_requests_in_flight_at_once(oss_emulator):
    bucket = oss_emulator.bucket
    setup = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    setup.request("PUT", bucket, "shared", body=b"shared body")
    setup.close()
    oss_emulator.server.reset_counters()
    # Each request waits 1.5 s inside the server: all 32 overlap only if the server
    # serves 32 connections at once.
    oss_emulator.add_fault(op="GetObject", action="delay", seconds=1.5)
    barrier = threading.Barrier(CONNECTIONS)
    results = [None] * CONNECTIONS

    def fetch(i):
        c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
        c.connection().connect()
        barrier.wait()
        results[i] = c.request("GET", bucket, "shared").body
        c.close()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"shared body"] * CONNECTIONS
    counters = oss_emulator.counters()
    assert counters["in_flight_peak"] >= CONNECTIONS
    assert counters["in_flight"] == 0


def test_32_concurrent_part_uploads_one_object(oss_emulator):
    bucket = oss_emulator.bucket
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    upload_id = ET.fromstring(c.request("POST", bucket, "many", [("uploads", "")]).body).findtext("UploadId")
    parts = [os.urandom(100 * 1024 + i) for i in range(CONNECTIONS)]
    etags = {}
    barrier = threading.Barrier(CONNECTIONS)

    def put(n):
        w = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
        w.connection().connect()
        barrier.wait()
        reply = w.request("PUT", bucket, "many", [("partNumber", str(n)), ("uploadId", upload_id)], body=parts[n - 1])
        etags[n] = reply.header("etag")
        w.close()

    threads = [threading.Thread(target=put, args=(n,)) for n in range(1, CONNECTIONS + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(etags[n] == f'"{hashlib.md5(parts[n - 1]).hexdigest().upper()}"' for n in etags)
    body = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)
    ) + "</CompleteMultipartUpload>"
    done = c.request("POST", bucket, "many", [("uploadId", upload_id)], body=body.encode())
    whole = b"".join(parts)
    assert done.status == 200 and done.header("x-oss-hash-crc64ecma") == str(crc64(whole))
    assert c.request("GET", bucket, "many").body == whole
    c.close()


def test_connection_threads_and_ingest_helpers_end_with_their_connections(oss_emulator):
    import time

    server = oss_emulator.server
    baseline = server.health()["threads"]
    data = os.urandom(3 * 1024 * 1024)  # large enough for the writer/MD5 helper threads
    for i in range(8):
        c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
        assert c.request("PUT", oss_emulator.bucket, f"t{i}", body=data).status == 200
        c.close()
    deadline = time.monotonic() + 10
    health = server.health()
    while health["threads"] > baseline and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the server's own count, bounded
        health = server.health()
    # (each poll is a new connection; the previous one's thread may still be ending, hence "poll until")
    assert health["threads"] <= baseline, health["thread_names"]
