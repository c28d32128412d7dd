"""Persistence: a killed emulator restarts on its root with uploads and objects intact."""
from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET

import pytest
from conformance.rawclient import RawClient

from ossresume_c import auth
from ossresume_c.emulator import EmulatorError, EmulatorHandle, start_emulator
from ossresume_c.native import crc64

KIB = 1024


def _client(emu):
    return RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)


def _data_files(root):
    found = set()
    for dirpath, _, files in os.walk(root):
        found.update(os.path.join(dirpath, f) for f in files if f.endswith(".bin"))
    return found


def test_kill_mid_upload_restart_and_finish(tmp_path):
    root = str(tmp_path / "store")
    parts = [os.urandom(150 * KIB), os.urandom(150 * KIB), os.urandom(150 * KIB), os.urandom(99)]
    with start_emulator(root=root, buckets=["restart"]) as emu:
        port = emu.port
        c = _client(emu)
        c.request("PUT", "restart", "kept.txt", headers={"Content-Type": "text/plain", "x-oss-meta-k": "v"}, body=b"survives")
        init = c.request("POST", "restart", "big/obj", [("uploads", "")], headers={"x-oss-meta-origin": "before-kill"})
        upload_id = ET.fromstring(init.body).findtext("UploadId")
        etags = {}
        for n in (1, 2):
            etags[n] = c.request("PUT", "restart", "big/obj", [("partNumber", str(n)), ("uploadId", upload_id)], body=parts[n - 1]).header("etag")
        c.close()

        # Kill while part 3 is half sent (throttled so that it is surely in flight).
        emu.add_fault(op="UploadPart", action="throttle", bytes_per_sec=200_000)
        headers = {"Host": f"127.0.0.1:{port}", "Content-Length": str(len(parts[2]))}
        query = [("partNumber", "3"), ("uploadId", upload_id)]
        auth.sign_v4("PUT", "restart", "big/obj", query, headers, auth.Credentials(emu.access_key_id, emu.access_key_secret), emu.region)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"PUT /restart/big/obj?{auth.encode_query(query)} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        sock.sendall(parts[2][: 100 * KIB])
        emu.kill()
        sock.close()
        assert not emu.running

        emu.restart()
        assert emu.port == port
        c = _client(emu)
        assert emu.faults() == []  # runtime rules do not survive; flags would
        listed = ET.fromstring(c.request("GET", "restart", "big/obj", [("uploadId", upload_id)]).body)
        assert [(p.findtext("PartNumber"), p.findtext("ETag")) for p in listed.findall("Part")] == [("1", etags[1]), ("2", etags[2])]
        assert listed.findall("Part")[0].findtext("HashCrc64ecma") == str(crc64(parts[0]))
        uploads = ET.fromstring(c.request("GET", "restart", "", [("uploads", "")]).body)
        assert [u.findtext("UploadId") for u in uploads.findall("Upload")] == [upload_id]
        # the half-written part 3 left no data file behind
        referenced = _data_files(root)
        assert len(referenced) == 3  # kept.txt + parts 1 and 2
        for n in (3, 4):
            etags[n] = c.request("PUT", "restart", "big/obj", [("partNumber", str(n)), ("uploadId", upload_id)], body=parts[n - 1]).header("etag")
        body = "<CompleteMultipartUpload>" + "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)) + "</CompleteMultipartUpload>"
        done = c.request("POST", "restart", "big/obj", [("uploadId", upload_id)], body=body.encode())
        assert done.status == 200, done
        whole = b"".join(parts)
        assert done.header("x-oss-hash-crc64ecma") == str(crc64(whole))
        got = c.request("GET", "restart", "big/obj")
        assert got.body == whole and got.header("x-oss-meta-origin") == "before-kill"
        kept = c.request("GET", "restart", "kept.txt")
        assert kept.body == b"survives" and kept.header("content-type") == "text/plain" and kept.header("x-oss-meta-k") == "v"
        c.close()

        # and once more: the completed object survives a clean restart too
        emu.restart()
        c = _client(emu)
        assert c.request("GET", "restart", "big/obj").body == whole
        assert c.request("GET", "restart", "big/obj", [("uploadId", upload_id)]).status == 404
        c.close()


def test_deleted_and_replaced_objects_leave_no_files(tmp_path):
    root = str(tmp_path / "store")
    with start_emulator(root=root, buckets=["gc-test"]) as emu:
        c = _client(emu)
        for i in range(3):
            c.request("PUT", "gc-test", "same", body=os.urandom(1000 + i))
        c.request("PUT", "gc-test", "gone", body=b"1")
        c.request("DELETE", "gc-test", "gone")
        init = c.request("POST", "gc-test", "mp", [("uploads", "")])
        upload_id = ET.fromstring(init.body).findtext("UploadId")
        c.request("PUT", "gc-test", "mp", [("partNumber", "1"), ("uploadId", upload_id)], body=b"a")
        c.request("PUT", "gc-test", "mp", [("partNumber", "1"), ("uploadId", upload_id)], body=b"b")  # replaces
        assert len(_data_files(root)) == 2  # "same" + part 1
        c.request("DELETE", "gc-test", "mp", [("uploadId", upload_id)])
        assert len(_data_files(root)) == 1
        c.close()


def test_root_is_locked_by_its_emulator(tmp_path):
    root = str(tmp_path / "store")
    with start_emulator(root=root):
        second = EmulatorHandle(root=root, log_file=str(tmp_path / "second.log"))
        with pytest.raises(EmulatorError, match="in use"):
            second.start(timeout=20)


def test_handle_stop_and_start_again(tmp_path):
    with start_emulator(root=str(tmp_path / "s"), buckets=["b-1"]) as emu:
        pid = emu.pid
        emu.stop()
        assert not emu.running
        emu.start()
        assert emu.pid != pid and emu.health()["status"] == "ok"
        assert "b-1" in emu.control("GET", "buckets")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_cli_stops_cleanly_on_signals(tmp_path, signame):
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ossresume_c.emulator", "--root", str(tmp_path / "r"), "--port", "0", "--bucket", "sig-bucket"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("ossresume emulator listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        idle = socket.create_connection(("127.0.0.1", port))  # an idle keep-alive client must not block the stop
        process.send_signal(getattr(signal, signame))
        code = process.wait(timeout=20)
        idle.close()
        assert code == 0, process.stderr.read()
        assert process.stdout.read() == ""  # exactly one line on stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
