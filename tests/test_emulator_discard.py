"""The emulator's --discard mode: bodies are checksummed and dropped; objects keep
size, CRC-64, ETag and Last-Modified, so HEAD, listings, ListParts and Complete
answer, and a GET of a discarded object is a clear InvalidObjectState error."""
from __future__ import annotations

import base64
import hashlib
import os
import re

import ossresume_c as oss
from ossresume_c.emulator import start_emulator
from ossresume_c.native import crc64

from conformance.rawclient import RawClient
from helpers import file_crc, head, make_file, options_for

KB = 1024


def client(emu) -> RawClient:
    return RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)


def data_files(root: str) -> list:
    """Object and part bodies under an emulator root (metadata .json files aside)."""
    found = []
    for directory, _, names in os.walk(os.path.join(root, "buckets")):
        found += [os.path.join(directory, n) for n in names if n.endswith(".bin")]
    return found


def test_put_object_keeps_checksums_and_drops_the_body(oss_emulator_discard):
    emu = oss_emulator_discard
    c = client(emu)
    for key, size in (("small", 4096), ("big", 3 * 1024 * 1024 + 17)):  # inline and pipelined intake
        data = os.urandom(size)
        reply = c.request("PUT", emu.bucket, key, body=data)
        assert reply.status == 200, reply
        assert reply.header("etag") == f'"{hashlib.md5(data).hexdigest().upper()}"'
        assert reply.header("x-oss-hash-crc64ecma") == str(crc64(data))
        assert reply.header("content-md5") == base64.b64encode(hashlib.md5(data).digest()).decode()
        meta = c.request("HEAD", emu.bucket, key)
        assert meta.status == 200
        assert meta.header("content-length") == str(size)
        assert meta.header("etag") == reply.header("etag")
        assert meta.header("x-oss-hash-crc64ecma") == str(crc64(data))
        assert meta.header("last-modified")
        got = c.request("GET", emu.bucket, key)
        assert got.status == 403
        assert b"<Code>InvalidObjectState</Code>" in got.body and b"--discard" in got.body
    listing = c.request("GET", emu.bucket, "", query=[("list-type", "2")])
    assert re.findall(rb"<Key>([^<]+)</Key>.*?<Size>(\d+)</Size>", listing.body, re.S) == [
        (b"big", str(3 * 1024 * 1024 + 17).encode()), (b"small", b"4096")]
    assert data_files(emu.server.root) == []
    c.close()


def test_content_md5_is_still_checked(oss_emulator_discard):
    emu = oss_emulator_discard
    c = client(emu)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    reply = c.request("PUT", emu.bucket, "k", headers={"Content-MD5": wrong}, body=b"payload")
    assert reply.status == 400 and b"InvalidDigest" in reply.body
    assert c.request("HEAD", emu.bucket, "k").status == 404
    c.close()


def test_empty_object_reads_back(oss_emulator_discard):
    """Nothing of a 0-byte object was dropped, so its GET answers."""
    emu = oss_emulator_discard
    c = client(emu)
    assert c.request("PUT", emu.bucket, "empty", body=b"").status == 200
    got = c.request("GET", emu.bucket, "empty")
    assert (got.status, got.body) == (200, b"")
    c.close()


def test_multipart_lists_parts_and_completes(oss_emulator_discard):
    emu = oss_emulator_discard
    c = client(emu)
    init = c.request("POST", emu.bucket, "mp", query=[("uploads", None)])
    upload_id = re.search(rb"<UploadId>(\w+)</UploadId>", init.body).group(1).decode()
    pieces = [os.urandom(200 * KB), os.urandom(1500 * KB), os.urandom(7)]
    etags = []
    for number, piece in enumerate(pieces, 1):
        reply = c.request("PUT", emu.bucket, "mp", query=[("partNumber", str(number)), ("uploadId", upload_id)],
                          body=piece)
        assert reply.status == 200 and reply.header("x-oss-hash-crc64ecma") == str(crc64(piece))
        etags.append(reply.header("etag"))
    listed = c.request("GET", emu.bucket, "mp", query=[("uploadId", upload_id)])
    assert [int(s) for s in re.findall(rb"<Size>(\d+)</Size>", listed.body)] == [len(p) for p in pieces]
    assert [int(s) for s in re.findall(rb"<HashCrc64ecma>(\d+)</HashCrc64ecma>", listed.body)] == [
        crc64(p) for p in pieces]
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)
    ) + "</CompleteMultipartUpload>"
    done = c.request("POST", emu.bucket, "mp", query=[("uploadId", upload_id)], body=xml.encode())
    whole = b"".join(pieces)
    assert done.status == 200, done
    assert done.header("x-oss-hash-crc64ecma") == str(crc64(whole))
    assert done.header("etag").endswith('-3"')
    meta = c.request("HEAD", emu.bucket, "mp")
    assert meta.header("content-length") == str(len(whole))
    assert meta.header("x-oss-object-type") == "Multipart"
    assert c.request("GET", emu.bucket, "mp", headers={"Range": "bytes=0-9"}).status == 403
    assert data_files(emu.server.root) == []
    c.close()


def test_resumable_upload_against_discard_mode(oss_emulator_discard, tmp_path):
    """The library's own resumable upload runs unchanged; the object has the file's size and CRC-64."""
    emu = oss_emulator_discard
    path = make_file(tmp_path / "f.bin", 900_000, seed=7)
    params = oss.create_resumable_clt_params(200 * KB, 3, True, None)
    status = oss.resumable_upload_file(options_for(emu), emu.bucket, "f.bin", path, None, None, params)
    assert status.is_ok(), status
    status, meta = head(emu, "f.bin")
    assert status.is_ok()
    assert (meta.size, meta.crc64) == (900_000, file_crc(path))


def test_discard_with_benchmark_mode_skips_md5(tmp_path):
    with start_emulator(root=str(tmp_path / "root"), buckets=["fast"], discard=True, benchmark_mode=True) as emu:
        c = client(emu)
        data = os.urandom(5000)
        reply = c.request("PUT", "fast", "k", body=data)
        assert reply.header("etag") == f'"{crc64(data):016X}{len(data):016X}"'
        assert reply.header("content-md5") is None
        assert data_files(emu.root) == []
        c.close()
