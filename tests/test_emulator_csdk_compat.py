"""What the official C SDK's own suites need from the emulator (issue 14), over the wire:
bucket-level V1/V4 signatures over ``/bucket`` on an IP endpoint (and nothing looser),
ListBuckets paging, 404 for reads of names with a leading ``/``, the Complete ``Location``,
an empty ``NextPartNumberMarker``, and an empty CompleteMultipartUpload making a 0-byte object."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Tuple

import pytest

from ossresume_c import auth

from conformance.rawclient import RawClient

Query = List[Tuple[str, Optional[str]]]


@pytest.fixture
def client(oss_emulator):
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret, version=1)
    yield c
    c.close()


def xml_of(reply) -> ET.Element:
    return ET.fromstring(reply.body)


def bare_bucket_headers(emu, method: str, bucket: str, query: Query, version: int, secret: Optional[str] = None,
                        resource_bucket: Optional[str] = None) -> Dict[str, str]:
    """Headers signed the way the C SDK signs a bucket-level request on an IP endpoint: the
    resource (V1) or canonical URI (V4) is ``/bucket`` without the trailing slash."""
    name = resource_bucket or bucket
    creds = auth.Credentials(emu.access_key_id, secret or emu.access_key_secret)
    headers: Dict[str, str] = {}
    if version == 1:
        auth.sign_v1(method, name, None, query, headers, creds)
        sts = auth.v1_string_to_sign(method, name, None, query, headers)
        head, _, resource = sts.rpartition("\n")
        sts = f"{head}\n/{name}{resource[len(name) + 2:]}"
        headers["Authorization"] = f"OSS {creds.access_key_id}:{auth.v1_signature(creds.access_key_secret, sts)}"
    else:
        auth.sign_v4(method, name, None, query, headers, creds, emu.region)
        canonical = auth.v4_canonical_request(method, name, None, query, headers)
        method_line, _, rest = canonical.split("\n", 2)
        canonical = f"{method_line}\n/{name}\n{rest}"
        stamp = headers["x-oss-date"]
        scope = auth.v4_scope(stamp[:8], emu.region)
        key = auth.v4_signing_key(creds.access_key_secret, stamp[:8], emu.region)
        signature = auth.v4_signature(key, auth.v4_string_to_sign(canonical, stamp, scope))
        headers["Authorization"] = f"OSS4-HMAC-SHA256 Credential={creds.access_key_id}/{scope},Signature={signature}"
    return headers


@pytest.mark.parametrize("version", [1, 4])
def test_bucket_level_request_signed_over_bare_bucket(client, oss_emulator, version):
    bucket = oss_emulator.bucket
    query: Query = [("uploads", None)]
    headers = bare_bucket_headers(oss_emulator, "GET", bucket, query, version)
    reply = client.request("GET", bucket, query=query, headers=headers, sign=False, raw_path=f"/{bucket}")
    assert reply.status == 200, reply
    assert xml_of(reply).tag == "ListMultipartUploadsResult"


@pytest.mark.parametrize("version", [1, 4])
def test_bare_bucket_form_stays_strict(client, oss_emulator, version):
    bucket = oss_emulator.bucket
    query: Query = [("uploads", None)]
    path = f"/{bucket}"

    def status(headers: Dict[str, str], raw_path: str = path) -> Tuple[int, str]:
        reply = client.request("GET", bucket, query=query, headers=headers, sign=False, raw_path=raw_path)
        code = re.search(rb"<Code>(\w+)</Code>", reply.body)
        return reply.status, code.group(1).decode() if code else ""

    # a wrong key
    assert status(bare_bucket_headers(oss_emulator, "GET", bucket, query, version, secret="wrong")) == (
        403, "SignatureDoesNotMatch")
    # a tampered resource: signed for another bucket
    other = bare_bucket_headers(oss_emulator, "GET", bucket, query, version, resource_bucket=bucket + "x")
    assert status(other) == (403, "SignatureDoesNotMatch")
    # a tampered header
    tampered = bare_bucket_headers(oss_emulator, "GET", bucket, query, version)
    tampered["x-oss-meta-added"] = "1"
    assert status(tampered) == (403, "SignatureDoesNotMatch")
    # the bare form is only for a bare path: with the trailing slash the canonical form is required
    assert status(bare_bucket_headers(oss_emulator, "GET", bucket, query, version), raw_path=path + "/") == (
        403, "SignatureDoesNotMatch")


def test_list_buckets_prefix_marker_max_keys(client, oss_emulator):
    base = oss_emulator.bucket
    names = [f"{base}-p{i}" for i in range(5)]
    for name in names:
        assert client.request("PUT", name).status == 200
    try:
        page = xml_of(client.request("GET", query=[("prefix", base + "-p"), ("max-keys", "2")]))
        assert [b.findtext("Name") for b in page.iter("Bucket")] == names[:2]
        assert page.findtext("IsTruncated") == "true" and page.findtext("NextMarker") == names[1]
        assert page.findtext("Prefix") == base + "-p" and page.findtext("MaxKeys") == "2"
        rest = xml_of(client.request("GET", query=[("prefix", base + "-p"), ("marker", names[1])]))
        assert [b.findtext("Name") for b in rest.iter("Bucket")] == names[2:]
        assert rest.findtext("IsTruncated") == "false" and rest.find("NextMarker") is None
        everything = xml_of(client.request("GET"))
        assert set(names) <= {b.findtext("Name") for b in everything.iter("Bucket")}
        assert everything.find("IsTruncated") is None  # no paging asked, none shown
        bad = client.request("GET", query=[("max-keys", "0")])
        assert bad.status == 400 and b"InvalidArgument" in bad.body
    finally:
        for name in names:
            client.request("DELETE", name)


def test_reads_of_names_with_a_leading_slash_are_404(client, oss_emulator):
    bucket = oss_emulator.bucket
    raw = f"/{bucket}/%2Fa%2Fb%2Fc.fake"
    for method in ("GET", "HEAD"):
        reply = client.request(method, bucket, "/a/b/c.fake", raw_path=raw)
        assert reply.status == 404, (method, reply)
    put = client.request("PUT", bucket, "/a/b/c.fake", raw_path=raw, body=b"x")
    assert put.status == 400 and b"InvalidObjectName" in put.body  # writing one is still refused


def _initiate(client, bucket, key) -> str:
    reply = client.request("POST", bucket, key, query=[("uploads", None)])
    return xml_of(reply).findtext("UploadId")


def test_complete_location_keeps_host_port_and_style(client, oss_emulator):
    bucket = oss_emulator.bucket
    upload_id = _initiate(client, bucket, "dir/loc key")
    part = client.request("PUT", bucket, "dir/loc key", query=[("partNumber", "1"), ("uploadId", upload_id)], body=b"x")
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{part.header('etag')}</ETag></Part>"
            "</CompleteMultipartUpload>").encode()
    done = client.request("POST", bucket, "dir/loc key", query=[("uploadId", upload_id)], body=body)
    host = f"{client.host}:{client.port}"
    assert xml_of(done).findtext("Location") == f"http://{host}/{bucket}/dir/loc%20key"


def test_complete_location_virtual_host(oss_emulator):
    bucket = oss_emulator.bucket
    port = oss_emulator.server.port
    c = RawClient(f"http://127.0.0.1:{port}", oss_emulator.access_key_id, oss_emulator.access_key_secret)
    try:
        vhost = {"Host": f"{bucket}.localhost:{port}"}
        query: Query = [("uploads", None)]
        headers = dict(vhost)
        c.sign("POST", bucket, "k", query, headers)
        upload_id = xml_of(c.request("POST", bucket, "k", query=query, headers=headers, sign=False,
                                     raw_path="/k")).findtext("UploadId")
        query = [("uploadId", upload_id)]
        headers = dict(vhost)
        body = b"<CompleteMultipartUpload/>"
        c.sign("POST", bucket, "k", query, headers)
        done = c.request("POST", bucket, "k", query=query, headers=headers, body=body, sign=False, raw_path="/k")
        assert done.status == 200, done
        assert xml_of(done).findtext("Location") == f"http://{bucket}.localhost:{port}/k"
    finally:
        c.close()


def test_list_parts_of_an_empty_upload_and_empty_complete(client, oss_emulator):
    """The C SDK's test_list_upload_part_with_empty: no parts listed (NextPartNumberMarker empty),
    then Complete with an empty part list gives a 0-byte object (what OSS does)."""
    bucket = oss_emulator.bucket
    upload_id = _initiate(client, bucket, "empty")
    listed = xml_of(client.request("GET", bucket, "empty", query=[("uploadId", upload_id), ("max-parts", "1")]))
    assert listed.findall("Part") == []
    assert listed.findtext("IsTruncated") == "false"
    assert listed.findtext("NextPartNumberMarker") == ""
    done = client.request("POST", bucket, "empty", query=[("uploadId", upload_id)],
                          body=b"<CompleteMultipartUpload></CompleteMultipartUpload>")
    assert done.status == 200, done
    assert done.header("etag") == '"D41D8CD98F00B204E9800998ECF8427E-0"'
    assert done.header("x-oss-hash-crc64ecma") == "0"
    got = client.request("GET", bucket, "empty")
    assert (got.status, got.body, got.header("x-oss-object-type")) == (200, b"", "Multipart")
    # an empty body is still no XML at all
    again = _initiate(client, bucket, "empty2")
    reply = client.request("POST", bucket, "empty2", query=[("uploadId", again)], body=b"")
    assert reply.status == 400 and b"MalformedXML" in reply.body
