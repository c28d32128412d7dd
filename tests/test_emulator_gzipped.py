"""GetObject with Accept-Encoding: gzip (what OSS compresses, and the chunked stream), and
the other request-shape fixes: UTF-8 metadata, control characters in batch-delete keys,
ListMultipartUploads' next markers."""
from __future__ import annotations

import gzip
import http.client
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.emulator.bucket_config import shield_controls, unshield_controls
from ossresume_c.emulator.gzipped import wants_gzip, write_chunked_gzip

oss2 = pytest.importorskip("oss2")



def test_what_is_compressed():
    assert wants_gzip("gzip, deflate", "text/plain", 1024, 200)
    assert wants_gzip("br;q=1, GZIP;q=0.5", "application/json", 5000, 200)
    assert not wants_gzip("gzip", "text/plain", 1023, 200)  # too small
    assert not wants_gzip("gzip", "application/octet-stream", 5000, 200)
    assert not wants_gzip("gzip", "text/plain", 5000, 206)  # ranges are sent as they are
    assert not wants_gzip(None, "text/plain", 5000, 200)
    assert not wants_gzip("deflate", "text/plain", 5000, 200)


@given(st.lists(st.binary(max_size=3000), max_size=6))
def test_chunked_gzip_stream_decodes_to_the_pieces(pieces):
    class Sink:
        def __init__(self):
            self.data = b""

        def write(self, data):
            self.data += data

    sink = Sink()
    write_chunked_gzip(sink, pieces)
    body, rest = b"", sink.data
    while True:  # de-chunk
        size_text, _, rest = rest.partition(b"\r\n")
        size = int(size_text, 16)
        if size == 0:
            assert rest == b"\r\n"
            break
        body, rest = body + rest[:size], rest[size + 2:]
    assert gzip.decompress(body) == b"".join(pieces)


@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x3000), max_size=30))
def test_control_characters_survive_the_shield(text):
    shielded = shield_controls(text.encode("utf-8")).decode("utf-8")
    assert not any(ord(c) < 0x20 and c not in "\t\n\r" for c in shielded)
    assert unshield_controls(shielded) == text


def test_gzip_get(bucket):
    content = os.urandom(300_000).hex().encode()
    bucket.put_object("page.txt", content)
    result = bucket.get_object("page.txt", headers={"Accept-Encoding": "gzip"})
    assert result.headers["Content-Encoding"] == "gzip"
    assert result.headers["Transfer-Encoding"] == "chunked"
    assert result.content_length is None
    assert result.read() == content
    ranged = bucket.get_object("page.txt", byte_range=(0, 4999), headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in ranged.headers and ranged.read() == content[:5000]
    plain = bucket.get_object("page.txt")
    assert "Content-Encoding" not in plain.headers and plain.content_length == len(content)


def test_gzip_bytes_on_the_wire(oss_emulator):
    key = "wire.txt"
    content = b"abc" * 2000
    bucket = oss2.Bucket(oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret),
                         oss_emulator.endpoint, oss_emulator.bucket)
    bucket.put_object(key, content)
    url = bucket.sign_url("GET", key, 60)
    conn = http.client.HTTPConnection(oss_emulator.endpoint.removeprefix("http://"), timeout=30)
    try:
        conn.request("GET", url.split(oss_emulator.endpoint, 1)[1], headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        assert response.getheader("Content-Length") is None
        assert gzip.decompress(response.read()) == content  # http.client de-chunks
    finally:
        conn.close()


def test_utf8_metadata_signs_and_reads_back(bucket):
    bucket.put_object("m", b"x", headers={"x-oss-meta-name": "测试 值".encode("utf-8")})
    value = bucket.head_object("m").headers["x-oss-meta-name"]
    assert value.encode("iso-8859-1").decode("utf-8") == "测试 值"


def test_batch_delete_keys_with_control_characters(bucket):
    for key in ["中文!@#$%^&*()-=文件\x0c-2.txt", "<hello>", "tab\x01key", "url-%123-/?#:key-1", "a%2Fb"]:
        bucket.put_object(key, b"x")
        assert bucket.batch_delete_objects([key]).deleted_keys == [key]
        assert not bucket.object_exists(key)


def test_list_multipart_uploads_names_the_last_upload(bucket):
    ids = [bucket.init_multipart_upload(key).upload_id for key in ("a", "b")]
    result = bucket.list_multipart_uploads()
    assert not result.is_truncated
    assert (result.next_key_marker, result.next_upload_id_marker) == ("b", ids[1])
    for key, upload_id in zip(("a", "b"), ids):
        bucket.abort_multipart_upload(key, upload_id)


def test_control_character_references_are_shielded_too():
    from ossresume_c.emulator.bucket_config import parse_xml

    body = b"<Delete><Object><Key>a&#16;b&#x1F;c&#10;d&#09;e&amp;</Key></Object></Delete>"  # v2's escaping
    key = parse_xml(shield_controls(body), "Delete").findtext("Object/Key")
    assert unshield_controls(key) == "a\x10b\x1fc\nd\te&"
