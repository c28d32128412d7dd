"""The OSS REST subset of docs/protocol.md, checked byte by byte over raw signed HTTP."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate
from urllib.parse import quote, unquote

import pytest
from conformance.rawclient import RawClient

from ossresume_c import auth
from ossresume_c.emulator import start_emulator
from ossresume_c.native import crc64

REQUEST_ID = re.compile(r"^[0-9A-F]{24}$")
KIB = 1024


@pytest.fixture
def client(oss_emulator):
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    yield c
    c.close()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def xml_of(reply) -> ET.Element:
    return ET.fromstring(reply.body)


def initiate(client, bucket, key, query=(), headers=None) -> str:
    reply = client.request("POST", bucket, key, [("uploads", "")] + list(query), headers=headers)
    assert reply.status == 200, reply
    return xml_of(reply).findtext("UploadId")


def upload_part(client, bucket, key, upload_id, number, data, headers=None):
    reply = client.request("PUT", bucket, key, [("partNumber", str(number)), ("uploadId", upload_id)], headers=headers, body=data)
    return reply


def complete_body(parts) -> bytes:
    return (
        "<CompleteMultipartUpload>"
        + "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
        + "</CompleteMultipartUpload>"
    ).encode()


def complete(client, bucket, key, upload_id, parts, query=(), headers=None):
    return client.request("POST", bucket, key, [("uploadId", upload_id)] + list(query), headers=headers, body=complete_body(parts))


def assert_error(reply, status, code):
    assert reply.status == status, reply
    assert reply.header("content-type") == "application/xml"
    assert reply.header("server") == "AliyunOSS"
    assert reply.header("date")
    root = xml_of(reply)
    assert root.tag == "Error"
    assert root.findtext("Code") == code, reply.body
    assert root.findtext("Message")
    assert root.findtext("HostId")
    assert REQUEST_ID.match(root.findtext("RequestId"))
    assert root.findtext("RequestId") == reply.header("x-oss-request-id")
    return root


# ---------------------------------------------------------------- routing / addressing
def test_query_order_and_flag_forms(client, oss_emulator):
    bucket = oss_emulator.bucket
    first = initiate(client, bucket, "k")
    reply = client.request("POST", bucket, "k", [("uploads", None)])  # bare "?uploads"
    assert reply.status == 200
    assert re.fullmatch(r"[0-9A-F]{32}", first)
    a, b = os.urandom(200 * KIB), os.urandom(10)
    r1 = client.request("PUT", bucket, "k", [("uploadId", first), ("partNumber", "1")], body=a)  # oss2 order
    r2 = client.request("PUT", bucket, "k", [("partNumber", "2"), ("uploadId", first)], body=b)  # v2 order
    assert r1.status == r2.status == 200
    listed = xml_of(client.request("GET", bucket, "k", [("uploadId", first)]))
    assert [p.findtext("PartNumber") for p in listed.findall("Part")] == ["1", "2"]


def test_path_style_percent_2f_and_csdk_single_segment(client, oss_emulator):
    bucket = oss_emulator.bucket
    key = "dir/sub/obj.bin"
    data = b"hello %2F"
    put = client.request("PUT", bucket, key, body=data, raw_path=f"/{bucket}/dir%2Fsub%2Fobj.bin")
    assert put.status == 200, put
    one_segment = client.request("GET", bucket, key, raw_path="/" + quote(f"{bucket}/{key}", safe=""))
    assert one_segment.status == 200 and one_segment.body == data
    plain = client.request("GET", bucket, key, raw_path=f"/{bucket}/dir/sub/obj.bin")
    assert plain.body == data


def test_virtual_host_addressing(client, oss_emulator):
    bucket = oss_emulator.bucket
    client.request("PUT", bucket, "v/h.txt", body=b"vhost")
    for host in (f"{bucket}.localhost:{client.port}", f"{bucket}.oss-cn-hangzhou.aliyuncs.com"):
        reply = client.request("GET", bucket, "v/h.txt", headers={"Host": host}, raw_path="/v/h.txt")
        assert reply.status == 200 and reply.body == b"vhost", host


def test_keep_alive_many_requests_one_connection(client, oss_emulator):
    for i in range(20):
        assert client.request("PUT", oss_emulator.bucket, f"ka/{i}", body=b"x" * i).status == 200
    conn = client.connection()
    sock = conn.sock
    for i in range(20):
        assert client.request("GET", oss_emulator.bucket, f"ka/{i}").body == b"x" * i
    assert client.connection().sock is sock  # still the same TCP connection


# ---------------------------------------------------------------- headers of successful operations
def test_upload_part_headers_and_overwrite(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "p")
    data = os.urandom(3 * 1024 * 1024 + 1234)  # several ingest chunks and an unaligned tail
    reply = upload_part(client, bucket, "p", upload_id, 1, data)
    assert reply.status == 200
    assert reply.header("etag") == f'"{md5_hex(data)}"'
    assert reply.header("x-oss-hash-crc64ecma") == str(crc64(data))
    assert reply.header("content-md5") == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert REQUEST_ID.match(reply.header("x-oss-request-id"))
    again = os.urandom(150 * KIB)
    assert upload_part(client, bucket, "p", upload_id, 1, again).status == 200  # same number overwrites
    parts = xml_of(client.request("GET", bucket, "p", [("uploadId", upload_id)])).findall("Part")
    assert len(parts) == 1
    assert parts[0].findtext("ETag") == f'"{md5_hex(again)}"'
    assert parts[0].findtext("Size") == str(len(again))
    assert parts[0].findtext("HashCrc64ecma") == str(crc64(again))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", parts[0].findtext("LastModified"))
    done = complete(client, bucket, "p", upload_id, [(1, f'"{md5_hex(again)}"')])
    assert done.status == 200
    assert client.request("GET", bucket, "p").body == again


def test_multipart_round_trip_metadata_and_etag(client, oss_emulator):
    bucket = oss_emulator.bucket
    key = "中文/文件 1.bin"
    upload_id = initiate(client, bucket, key, headers={"Content-Type": "text/x-test", "x-oss-meta-Color": "blue"})
    parts = [os.urandom(100 * KIB), os.urandom(2 * 1024 * 1024 + 5), os.urandom(7)]
    etags = []
    for n, data in enumerate(parts, 1):
        reply = upload_part(client, bucket, key, upload_id, n, data)
        etags.append((n, reply.header("etag")))
    done = complete(client, bucket, key, upload_id, [(n, e.strip('"').lower()) for n, e in etags])  # unquoted, lower case
    assert done.status == 200, done
    whole = b"".join(parts)
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest().upper() + "-3"
    root = xml_of(done)
    assert root.tag == "CompleteMultipartUploadResult"
    assert [c.tag for c in root] == ["Location", "Bucket", "Key", "ETag"]
    assert root.findtext("Key") == key and root.findtext("ETag") == f'"{etag}"'
    assert done.header("etag") == f'"{etag}"'
    assert done.header("x-oss-hash-crc64ecma") == str(crc64(whole))
    head = client.request("HEAD", bucket, key)
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == str(len(whole))
    assert head.header("content-type") == "text/x-test"
    assert head.header("x-oss-meta-color") == "blue"
    assert head.header("x-oss-object-type") == "Multipart"
    assert head.header("x-oss-storage-class") == "Standard"
    assert head.header("accept-ranges") == "bytes"
    assert head.header("etag") == f'"{etag}"'
    assert head.header("x-oss-hash-crc64ecma") == str(crc64(whole))
    assert head.header("last-modified").endswith(" GMT")
    got = client.request("GET", bucket, key)
    assert got.body == whole
    # the upload is gone after Complete
    assert_error(client.request("GET", bucket, key, [("uploadId", upload_id)]), 404, "NoSuchUpload")


def test_complete_all_header(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "all")
    parts = [os.urandom(100 * KIB), os.urandom(3)]
    for n, data in enumerate(parts, 1):
        upload_part(client, bucket, "all", upload_id, n, data)
    bad = client.request("POST", bucket, "all", [("uploadId", upload_id)], headers={"x-oss-complete-all": "yes"}, body=complete_body([(1, "x")]))
    assert_error(bad, 400, "InvalidArgument")
    done = client.request("POST", bucket, "all", [("uploadId", upload_id)], headers={"x-oss-complete-all": "yes"}, body=b"")
    assert done.status == 200, done
    assert client.request("GET", bucket, "all").body == b"".join(parts)
    assert done.header("etag").endswith('-2"')


def test_put_object_headers_and_content_md5(client, oss_emulator):
    bucket = oss_emulator.bucket
    data = b"object body"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    reply = client.request("PUT", bucket, "o", headers={"Content-MD5": good, "Content-Type": "text/plain", "x-oss-meta-a": "1"}, body=data)
    assert reply.status == 200
    assert reply.header("etag") == f'"{md5_hex(data)}"'
    assert reply.header("x-oss-hash-crc64ecma") == str(crc64(data))
    assert reply.header("content-md5") == good
    head = client.request("HEAD", bucket, "o")
    assert head.header("x-oss-object-type") == "Normal" and head.header("content-type") == "text/plain"
    assert head.header("x-oss-meta-a") == "1"
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert_error(client.request("PUT", bucket, "o", headers={"Content-MD5": bad}, body=data), 400, "InvalidDigest")
    assert_error(client.request("PUT", bucket, "o", headers={"Content-MD5": "not base64!"}, body=data), 400, "InvalidDigest")
    assert client.request("GET", bucket, "o").body == data  # the failed PUTs changed nothing
    empty = client.request("PUT", bucket, "empty", body=b"")
    assert empty.status == 200 and empty.header("x-oss-hash-crc64ecma") == "0"
    assert client.request("GET", bucket, "empty").body == b""


def test_delete_object_is_204_even_when_missing(client, oss_emulator):
    bucket = oss_emulator.bucket
    client.request("PUT", bucket, "d", body=b"1")
    assert client.request("DELETE", bucket, "d").status == 204
    assert client.request("DELETE", bucket, "d").status == 204
    assert_error(client.request("GET", bucket, "d"), 404, "NoSuchKey")


def test_buckets_create_list_delete(client, oss_emulator):
    name = oss_emulator.bucket + "-x"
    assert client.request("PUT", name).status == 200
    assert client.request("PUT", name).status == 200  # our own bucket: idempotent
    names = [b.findtext("Name") for b in xml_of(client.request("GET")).iter("Bucket")]
    assert name in names
    client.request("PUT", name, "k", body=b"1")
    assert_error(client.request("DELETE", name), 409, "BucketNotEmpty")
    client.request("DELETE", name, "k")
    assert client.request("DELETE", name).status == 204
    assert_error(client.request("GET", name, "k"), 404, "NoSuchBucket")
    assert_error(client.request("PUT", "Bad_Name"), 400, "InvalidBucketName")


def test_conditional_get(client, oss_emulator):
    bucket = oss_emulator.bucket
    etag = client.request("PUT", bucket, "c", body=b"abc").header("etag")
    assert client.request("GET", bucket, "c", headers={"If-Match": etag}).status == 200
    assert_error(client.request("GET", bucket, "c", headers={"If-Match": '"0000"'}), 412, "PreconditionFailed")
    assert client.request("GET", bucket, "c", headers={"If-None-Match": etag}).status == 304
    future = formatdate(time.time() + 3600, usegmt=True)
    assert client.request("GET", bucket, "c", headers={"If-Modified-Since": future}).status == 304


# ---------------------------------------------------------------- Range
@pytest.mark.parametrize(
    "range_header,standard,status,body_slice,content_range",
    [
        ("bytes=2-5", False, 206, slice(2, 6), "bytes 2-5/10"),
        ("bytes=7-", False, 206, slice(7, 10), "bytes 7-9/10"),
        ("bytes=-4", False, 206, slice(6, 10), "bytes 6-9/10"),
        ("bytes=5-100", False, 200, slice(0, 10), None),
        ("bytes=10-20", False, 200, slice(0, 10), None),
        ("bytes=-50", False, 200, slice(0, 10), None),
        ("bytes=1-2,5-6", False, 206, slice(1, 3), "bytes 1-2/10"),
        ("bytes=5-100", True, 206, slice(5, 10), "bytes 5-9/10"),
        ("bytes=10-20", True, 416, None, None),
    ],
)
def test_range_rules_over_http(client, oss_emulator, range_header, standard, status, body_slice, content_range):
    bucket = oss_emulator.bucket
    data = b"0123456789"
    client.request("PUT", bucket, "r", body=data)
    headers = {"Range": range_header}
    if standard:
        headers["x-oss-range-behavior"] = "standard"
    reply = client.request("GET", bucket, "r", headers=headers)
    if status == 416:
        assert_error(reply, 416, "InvalidRange")
        return
    assert reply.status == status
    assert reply.body == data[body_slice]
    assert reply.header("content-range") == content_range
    assert reply.header("x-oss-hash-crc64ecma") == str(crc64(data))  # whole object, also on 206


def test_range_across_multipart_segments(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "seg")
    parts = [os.urandom(100 * KIB + 3), os.urandom(100 * KIB + 5), os.urandom(11)]
    etags = [(n, upload_part(client, bucket, "seg", upload_id, n, d).header("etag")) for n, d in enumerate(parts, 1)]
    assert complete(client, bucket, "seg", upload_id, etags).status == 200
    whole = b"".join(parts)
    for start, end in [(0, 0), (100 * KIB, 100 * KIB + 10), (50, len(whole) - 1), (len(whole) - 11, len(whole) - 1)]:
        reply = client.request("GET", bucket, "seg", headers={"Range": f"bytes={start}-{end}"})
        assert reply.status == 206 and reply.body == whole[start : end + 1]


# ---------------------------------------------------------------- ListParts / ListMultipartUploads
def test_list_parts_pagination_exact(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "lp")
    for n in (1, 2, 4, 7, 9):
        upload_part(client, bucket, "lp", upload_id, n, bytes([n]) * n)
    marker, seen = 0, []
    for _ in range(10):  # oss2's resume probing: max-parts=1, page by page
        reply = client.request("GET", bucket, "lp", [("uploadId", upload_id), ("part-number-marker", str(marker)), ("max-parts", "1")])
        root = xml_of(reply)
        assert root.findtext("MaxParts") == "1" and root.findtext("PartNumberMarker") == str(marker)
        numbers = [int(p.findtext("PartNumber")) for p in root.findall("Part")]
        assert len(numbers) <= 1
        seen += numbers
        if root.findtext("IsTruncated") == "false":
            break
        marker = int(root.findtext("NextPartNumberMarker"))
        assert marker == numbers[-1]
    assert seen == [1, 2, 4, 7, 9]
    root = xml_of(client.request("GET", bucket, "lp", [("uploadId", upload_id), ("part-number-marker", "2"), ("max-parts", "2")]))
    assert [p.findtext("PartNumber") for p in root.findall("Part")] == ["4", "7"]
    assert root.findtext("IsTruncated") == "true" and root.findtext("NextPartNumberMarker") == "7"
    root = xml_of(client.request("GET", bucket, "lp", [("uploadId", upload_id), ("part-number-marker", "7")]))
    assert [p.findtext("PartNumber") for p in root.findall("Part")] == ["9"]
    assert root.findtext("IsTruncated") == "false" and root.findtext("MaxParts") == "1000"
    for bad in ("0", "1001", "x"):
        assert_error(client.request("GET", bucket, "lp", [("uploadId", upload_id), ("max-parts", bad)]), 400, "InvalidArgument")


def test_encoding_type_url(client, oss_emulator):
    bucket = oss_emulator.bucket
    key = "a+b=c&d?e#f~g%h.txt"
    reply = client.request("POST", bucket, key, [("uploads", ""), ("encoding-type", "url")])
    root = xml_of(reply)
    assert root.findtext("EncodingType") == "url"
    assert root.findtext("Key") != key and unquote(root.findtext("Key")) == key
    upload_id = root.findtext("UploadId")
    etag = upload_part(client, bucket, key, upload_id, 1, b"z").header("etag")
    listed = xml_of(client.request("GET", bucket, key, [("uploadId", upload_id), ("encoding-type", "url")]))
    assert unquote(listed.findtext("Key")) == key and listed.findtext("EncodingType") == "url"
    uploads = xml_of(client.request("GET", bucket, "", [("uploads", ""), ("encoding-type", "url")]))
    assert [unquote(u.findtext("Key")) for u in uploads.findall("Upload")] == [key]
    done = xml_of(complete(client, bucket, key, upload_id, [(1, etag)], query=[("encoding-type", "url")]))
    assert done.findtext("EncodingType") == "url" and unquote(done.findtext("Key")) == key
    plain = xml_of(client.request("POST", bucket, key, [("uploads", "")]))
    assert plain.findtext("Key") == key and plain.find("EncodingType") is None


def test_list_multipart_uploads_prefix_delimiter_markers(client, oss_emulator):
    bucket = oss_emulator.bucket
    ids = {}
    for key in ["a/1", "a/2", "b/x/1", "c", "c", "d"]:
        ids.setdefault(key, []).append(initiate(client, bucket, key))

    def listing(**params):
        query = [("uploads", "")] + [(k.replace("_", "-"), v) for k, v in params.items()]
        return xml_of(client.request("GET", bucket, "", query))

    everything = listing()
    assert [(u.findtext("Key"), u.findtext("UploadId")) for u in everything.findall("Upload")] == [
        ("a/1", ids["a/1"][0]), ("a/2", ids["a/2"][0]), ("b/x/1", ids["b/x/1"][0]),
        ("c", ids["c"][0]), ("c", ids["c"][1]), ("d", ids["d"][0]),
    ]
    assert all(re.fullmatch(r".*\.000Z", u.findtext("Initiated")) for u in everything.findall("Upload"))
    grouped = listing(delimiter="/")
    assert [p.findtext("Prefix") for p in grouped.findall("CommonPrefixes")] == ["a/", "b/"]
    assert [u.findtext("Key") for u in grouped.findall("Upload")] == ["c", "c", "d"]
    prefixed = listing(prefix="b/", delimiter="/")
    assert [p.findtext("Prefix") for p in prefixed.findall("CommonPrefixes")] == ["b/x/"]
    assert listing(prefix="a/").findtext("Prefix") == "a/"
    assert [u.findtext("Key") for u in listing(prefix="a/").findall("Upload")] == ["a/1", "a/2"]
    after_c = listing(key_marker="c")
    assert [u.findtext("Key") for u in after_c.findall("Upload")] == ["d"]
    second_c = listing(key_marker="c", upload_id_marker=ids["c"][0])
    assert [u.findtext("UploadId") for u in second_c.findall("Upload")] == [ids["c"][1], ids["d"][0]]
    # walk with max-uploads=2 and a delimiter: every entry exactly once
    seen, key_marker, id_marker = [], "", ""
    for _ in range(10):
        page = listing(delimiter="/", max_uploads="2", key_marker=key_marker, upload_id_marker=id_marker)
        assert len(page.findall("Upload")) + len(page.findall("CommonPrefixes")) <= 2
        seen += [p.findtext("Prefix") for p in page.findall("CommonPrefixes")]
        seen += [u.findtext("UploadId") for u in page.findall("Upload")]
        if page.findtext("IsTruncated") == "false":
            break
        key_marker, id_marker = page.findtext("NextKeyMarker"), page.findtext("NextUploadIdMarker")
    assert sorted(seen) == sorted(["a/", "b/", ids["c"][0], ids["c"][1], ids["d"][0]])
    assert_error(client.request("GET", bucket, "", [("uploads", ""), ("max-uploads", "0")]), 400, "InvalidArgument")


def test_abort(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "ab")
    upload_part(client, bucket, "ab", upload_id, 1, b"1")
    assert client.request("DELETE", bucket, "ab", [("uploadId", upload_id)]).status == 204
    assert_error(client.request("DELETE", bucket, "ab", [("uploadId", upload_id)]), 404, "NoSuchUpload")
    assert_error(upload_part(client, bucket, "ab", upload_id, 2, b"2"), 404, "NoSuchUpload")


# ---------------------------------------------------------------- errors
def test_complete_errors_in_documented_order(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "ce")
    small = [os.urandom(1000), os.urandom(1000), os.urandom(5)]
    etags = {n: upload_part(client, bucket, "ce", upload_id, n, d).header("etag") for n, d in enumerate(small, 1)}
    # unknown upload beats everything, even a malformed body
    assert_error(client.request("POST", bucket, "ce", [("uploadId", "0" * 32)], body=b"<junk"), 404, "NoSuchUpload")
    assert_error(client.request("POST", bucket, "ce", [("uploadId", upload_id)], body=b"<junk"), 400, "MalformedXML")
    assert_error(client.request("POST", bucket, "ce", [("uploadId", upload_id)], body=b"<CompleteMultipartUpload/>"), 400, "MalformedXML")
    assert_error(client.request("POST", bucket, "ce", [("uploadId", upload_id)], body=b""), 400, "MalformedXML")
    # descending order and a wrong ETag: InvalidPartOrder first
    assert_error(complete(client, bucket, "ce", upload_id, [(2, '"BAD"'), (1, etags[1])]), 400, "InvalidPartOrder")
    assert_error(complete(client, bucket, "ce", upload_id, [(1, etags[1]), (1, etags[1])]), 400, "InvalidPartOrder")
    # wrong ETag and too-small parts: InvalidPart first
    err = assert_error(complete(client, bucket, "ce", upload_id, [(1, etags[1]), (2, '"BAD"'), (3, etags[3])]), 400, "InvalidPart")
    assert err.findtext("PartNumber") == "2"
    assert_error(complete(client, bucket, "ce", upload_id, [(1, etags[1]), (5, etags[1])]), 400, "InvalidPart")
    assert_error(complete(client, bucket, "ce", upload_id, list(etags.items())), 400, "EntityTooSmall")
    # a single small part (the last one) is fine; gaps are allowed
    assert complete(client, bucket, "ce", upload_id, [(3, etags[3])]).status == 200
    assert client.request("GET", bucket, "ce").body == small[2]


def test_upload_part_errors(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "ue")
    for bad in ("0", "10001", "-1", "x"):
        assert_error(client.request("PUT", bucket, "ue", [("partNumber", bad), ("uploadId", upload_id)], body=b"1"), 400, "InvalidArgument")
    assert upload_part(client, bucket, "ue", upload_id, 10000, b"1").status == 200
    assert_error(upload_part(client, bucket, "ue", "F" * 32, 1, b"1"), 404, "NoSuchUpload")
    assert_error(upload_part(client, bucket, "other-key", upload_id, 1, b"1"), 404, "NoSuchUpload")
    bad_md5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    assert_error(upload_part(client, bucket, "ue", upload_id, 1, b"1", headers={"Content-MD5": bad_md5}), 400, "InvalidDigest")


def test_auth_errors(oss_emulator):
    endpoint, ak, sk, bucket = oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret, oss_emulator.bucket
    for version in (1, 4):
        good = RawClient(endpoint, ak, sk, version=version)
        assert good.request("PUT", bucket, "auth", body=b"1").status == 200
        assert_error(good.request("GET", bucket, "auth", sign=False), 403, "AccessDenied")
        root = assert_error(RawClient(endpoint, "nobody", sk, version=version).request("GET", bucket, "auth"), 403, "InvalidAccessKeyId")
        assert root.findtext("OSSAccessKeyId") == "nobody"
        root = assert_error(RawClient(endpoint, ak, "wrong-secret", version=version).request("GET", bucket, "auth"), 403, "SignatureDoesNotMatch")
        assert root.findtext("StringToSign")
        headers = {}
        creds = auth.Credentials(ak, sk)
        old = time.time() - 3600
        if version == 1:
            auth.sign_v1("GET", bucket, "auth", [], headers, creds, now=old)
        else:
            auth.sign_v4("GET", bucket, "auth", [], headers, creds, "cn-hangzhou", now=old)
        assert_error(good.request("GET", bucket, "auth", headers=headers, sign=False), 403, "RequestTimeTooSkewed")
        good.close()


def test_presigned_urls(oss_emulator):
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    bucket = oss_emulator.bucket
    c.request("PUT", bucket, "ps/x y", body=b"presigned")
    creds = auth.Credentials(oss_emulator.access_key_id, oss_emulator.access_key_secret)
    for query in (
        auth.presign_v1("GET", bucket, "ps/x y", [], {}, creds, 60),
        auth.presign_v4("GET", bucket, "ps/x y", [], {}, creds, "cn-hangzhou", 60),
    ):
        assert c.request("GET", bucket, "ps/x y", query=query, sign=False).body == b"presigned"
        tampered = [(k, (v[:-2] + "AA") if k in ("Signature", "x-oss-signature") else v) for k, v in query]
        assert c.request("GET", bucket, "ps/x y", query=tampered, sign=False).status == 403
    c.close()


def test_head_errors_go_in_x_oss_err(client, oss_emulator):
    reply = client.request("HEAD", oss_emulator.bucket, "missing")
    assert reply.status == 404 and reply.body == b""
    decoded = ET.fromstring(base64.b64decode(reply.header("x-oss-err")))
    assert decoded.findtext("Code") == "NoSuchKey"
    assert decoded.findtext("RequestId") == reply.header("x-oss-request-id")


def test_not_implemented_and_missing_length(client, oss_emulator):
    bucket = oss_emulator.bucket
    assert_error(client.request("GET", bucket, "k", [("x-oss-process", "image/resize,w_10")]), 501, "NotImplemented")
    assert_error(client.request("PUT", bucket, "k", [("live", "")], body=b"x"), 501, "NotImplemented")
    assert client.request("HEAD", bucket, "k").status == 404  # the refused PUT wrote nothing
    # http.client always frames a PUT body, so write the request by hand: no length at all
    headers = {"Host": f"127.0.0.1:{client.port}"}
    auth.sign_v4("PUT", bucket, "nolen", [], headers, client.creds, "cn-hangzhou")
    raw = f"PUT /{bucket}/nolen HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.sendall(raw.encode())
        status, _, body = read_http_response(sock)
    assert status == 411 and b"<Code>MissingContentLength</Code>" in body


def test_entity_too_large_is_refused_before_the_body(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "big")
    for query in ([], [("partNumber", "1"), ("uploadId", upload_id)]):
        headers = {"Host": f"127.0.0.1:{client.port}", "Content-Length": str(5 * 1024**3 + 1), "Expect": "100-continue"}
        auth.sign_v4("PUT", bucket, "big", query, headers, client.creds, "cn-hangzhou")
        target = f"/{bucket}/big" + ("?" + auth.encode_query(query) if query else "")
        raw = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        with socket.create_connection((client.host, client.port), timeout=10) as sock:
            sock.sendall(raw.encode())
            status, hdrs, body = read_http_response(sock)
        assert status == 400 and b"<Code>EntityTooLarge</Code>" in body
        assert hdrs.get("connection") == "close"  # the unread body cannot be drained


# ---------------------------------------------------------------- C SDK framing
def read_http_response(sock: socket.socket):
    """(status, headers, body) of one response; skips interim 1xx responses."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        if status >= 200:
            break
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return status, headers, data[:length]


def test_csdk_chunked_with_expect_and_content_length(client, oss_emulator):
    """The C SDK sends Content-Length AND chunked AND Expect: 100-continue; chunked wins."""
    bucket = oss_emulator.bucket
    upload_id = initiate(client, bucket, "csdk")
    data = os.urandom(300 * KIB + 17)
    query = [("uploadId", upload_id), ("partNumber", "1")]
    headers = {
        "Host": f"127.0.0.1:{client.port}",
        "Content-Length": str(len(data)),
        "Transfer-Encoding": "chunked",
        "Expect": "100-continue",
        "Content-Type": "application/octet-stream",
    }
    auth.sign_v1("PUT", bucket, "csdk", query, headers, client.creds)
    head = f"PUT /{bucket}%2Fcsdk?{auth.encode_query(query)} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.sendall(head.encode())
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(1)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        for start in range(0, len(data), 65536 + 3):  # odd chunk sizes
            piece = data[start : start + 65536 + 3]
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        status, hdrs, _ = read_http_response(sock)
        assert status == 200
        assert hdrs["etag"] == f'"{md5_hex(data)}"' and hdrs["x-oss-hash-crc64ecma"] == str(crc64(data))
        # same connection, C SDK Complete (form content type, V1)
        body = complete_body([(1, hdrs["etag"])])
        headers = {"Host": f"127.0.0.1:{client.port}", "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))}
        auth.sign_v1("POST", bucket, "csdk", [("uploadId", upload_id)], headers, client.creds)
        head = f"POST /{bucket}%2Fcsdk?uploadId={upload_id} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        status, hdrs, _ = read_http_response(sock)
        assert status == 200 and hdrs["x-oss-hash-crc64ecma"] == str(crc64(data))
    assert client.request("GET", bucket, "csdk").body == data


def test_expect_continue_error_is_sent_without_100(client, oss_emulator):
    """An UploadPart to an unknown upload fails at once: no 100 Continue, the body is never needed."""
    bucket = oss_emulator.bucket
    query = [("uploadId", "A" * 32), ("partNumber", "1")]
    headers = {"Host": f"127.0.0.1:{client.port}", "Content-Length": "1048576", "Expect": "100-continue"}
    auth.sign_v4("PUT", bucket, "x", query, headers, client.creds, "cn-hangzhou")
    head = f"PUT /{bucket}/x?{auth.encode_query(query)} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.sendall(head.encode())
        first = b""
        while b"\r\n" not in first:
            first += sock.recv(1)
        assert first.startswith(b"HTTP/1.1 404")


def test_benchmark_mode_etags():
    with start_emulator(buckets=["bench"], benchmark_mode=True) as emu:
        c = RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
        data = os.urandom(2 * 1024 * 1024 + 3)
        reply = c.request("PUT", "bench", "k", body=data)
        crc = crc64(data)
        assert reply.header("etag") == f'"{crc:016X}{len(data):016X}"'
        assert reply.header("x-oss-hash-crc64ecma") == str(crc)
        assert reply.header("content-md5") is None
        # Content-MD5 requests are still checked, with a real MD5
        good = base64.b64encode(hashlib.md5(data).digest()).decode()
        checked = c.request("PUT", "bench", "k2", headers={"Content-MD5": good}, body=data)
        assert checked.header("etag") == f'"{md5_hex(data)}"'
        bad = base64.b64encode(hashlib.md5(b"").digest()).decode()
        assert c.request("PUT", "bench", "k3", headers={"Content-MD5": bad}, body=data).status == 400
        assert c.request("GET", "bench", "k").body == data
        c.close()


def test_direct_io_round_trip():
    """--direct-io: aligned chunks go with O_DIRECT, the unaligned tail buffered; data intact."""
    with start_emulator(buckets=["direct-io"], extra_args=["--direct-io"]) as emu:
        c = RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
        data = os.urandom(3 * 1024 * 1024 + 1234)
        reply = c.request("PUT", "direct-io", "k", body=data)
        assert reply.status == 200 and reply.header("x-oss-hash-crc64ecma") == str(crc64(data))
        assert c.request("GET", "direct-io", "k").body == data
        assert c.request("GET", "direct-io", "k", headers={"Range": "bytes=1048570-2097160"}).body == data[1048570:2097161]
        c.close()
