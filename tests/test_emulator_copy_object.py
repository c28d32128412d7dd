"""CopyObject and UploadPartCopy on the emulator (oss2, V1 and V4), and the pure copy decisions."""
from __future__ import annotations

import datetime
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.emulator.copy_object import parse_copy_source, parse_source_range
from ossresume_c.emulator.errors import OssError

oss2 = pytest.importorskip("oss2")



@given(st.integers(0, 10_000), st.text(max_size=20))
def test_source_range_is_inside_the_object_or_the_whole(size, header):
    start, length = parse_source_range(header, size)
    assert 0 <= start and start + length <= size
    assert (start, length) == (0, size) or header.startswith("bytes=")


@given(st.integers(1, 10_000), st.data())
def test_satisfiable_source_range_is_taken_as_is(size, data):
    first = data.draw(st.integers(0, size - 1))
    last = data.draw(st.integers(first, size - 1))
    assert parse_source_range(f"bytes={first}-{last}", size) == (first, last - first + 1)
    assert parse_source_range(f"bytes={first}-", size) == (first, size - first)


def test_copy_source_is_bucket_and_decoded_key():
    assert parse_copy_source("/b-1/a%2Fb%20c") == ("b-1", "a/b c")
    for bad in ("", "/", "/bucket", "/bucket/", "nobucket"):
        with pytest.raises(OssError):
            parse_copy_source(bad)


def test_copy_keeps_data_metadata_and_tags(bucket):
    data = os.urandom(300_000)
    bucket.put_object("src", data, headers={"x-oss-meta-color": "red", "Content-Type": "image/png",
                                            "Cache-Control": "no-cache", "x-oss-tagging": "a=1"})
    result = bucket.copy_object(bucket.bucket_name, "src", "dst")
    assert result.etag == bucket.head_object("src").etag
    head = bucket.head_object("dst")
    assert head.headers["x-oss-meta-color"] == "red"
    assert head.content_type == "image/png"
    assert head.headers["Cache-Control"] == "no-cache"
    assert bucket.get_object("dst").read() == data
    assert bucket.get_object_tagging("dst").tag_set.tagging_rule == {"a": "1"}
    bucket.delete_object("src")  # the copy owns its data
    assert bucket.get_object("dst").read() == data


def test_copy_with_replace_directives(bucket):
    bucket.put_object("src", b"payload", headers={"x-oss-meta-old": "1", "x-oss-tagging": "a=1"})
    bucket.copy_object(bucket.bucket_name, "src", "dst", headers={
        "x-oss-metadata-directive": "REPLACE", "x-oss-meta-new": "2", "Content-Type": "text/plain",
        "x-oss-tagging-directive": "Replace", "x-oss-tagging": "b=2"})
    head = bucket.head_object("dst")
    assert "x-oss-meta-old" not in head.headers and head.headers["x-oss-meta-new"] == "2"
    assert head.content_type == "text/plain"
    assert bucket.get_object_tagging("dst").tag_set.tagging_rule == {"b": "2"}
    bucket.update_object_meta("src", {"x-oss-meta-third": "3"})  # copy onto itself
    head = bucket.head_object("src")
    assert head.headers["x-oss-meta-third"] == "3" and "x-oss-meta-old" not in head.headers
    assert bucket.get_object("src").read() == b"payload"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.copy_object(bucket.bucket_name, "src", "x", headers={"x-oss-metadata-directive": "MOVE"})
    assert not bucket.object_exists("x")


def test_copy_conditions(bucket):
    etag = bucket.put_object("src", b"abc").etag
    later = oss2.utils.http_date(int((datetime.datetime.now() + datetime.timedelta(days=1)).timestamp()))
    earlier = oss2.utils.http_date(int((datetime.datetime.now() - datetime.timedelta(days=1)).timestamp()))
    for headers in ({"x-oss-copy-source-if-match": '"0000"'}, {"x-oss-copy-source-if-unmodified-since": earlier}):
        with pytest.raises(oss2.exceptions.PreconditionFailed):
            bucket.copy_object(bucket.bucket_name, "src", "dst", headers=headers)
    for headers in ({"x-oss-copy-source-if-none-match": f'"{etag}"'}, {"x-oss-copy-source-if-modified-since": later}):
        with pytest.raises(oss2.exceptions.NotModified):
            bucket.copy_object(bucket.bucket_name, "src", "dst", headers=headers)
    assert not bucket.object_exists("dst")
    bucket.copy_object(bucket.bucket_name, "src", "dst", headers={"x-oss-copy-source-if-match": f'"{etag}"'})
    assert bucket.get_object("dst").read() == b"abc"


def test_copy_of_missing_source(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object(bucket.bucket_name, "missing", "dst")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.copy_object("no-such-bucket-here", "missing", "dst")
    assert not bucket.object_exists("dst")


def test_upload_part_copy_ranges(bucket):
    data = os.urandom(250_000)
    bucket.put_object("src", data)
    upload_id = bucket.init_multipart_upload("big").upload_id
    first = bucket.upload_part_copy(bucket.bucket_name, "src", (0, 149_999), "big", upload_id, 1)
    second = bucket.upload_part_copy(bucket.bucket_name, "src", (150_000, 249_999), "big", upload_id, 2)
    parts = bucket.list_parts("big", upload_id).parts
    assert [(p.part_number, p.size) for p in parts] == [(1, 150_000), (2, 100_000)]
    bucket.complete_multipart_upload("big", upload_id, [oss2.models.PartInfo(1, first.etag),
                                                        oss2.models.PartInfo(2, second.etag)])
    assert bucket.get_object("big").read() == data


def test_upload_part_copy_needs_the_upload(bucket):
    bucket.put_object("src", b"abc")
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part_copy(bucket.bucket_name, "src", (0, 1), "big", "0" * 32, 1)


def test_forbid_overwrite_on_put_and_copy(bucket):
    bucket.put_object("src", b"new")
    bucket.put_object("taken", b"old")
    forbid = {"x-oss-forbid-overwrite": "true"}
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.put_object("taken", b"new", headers=forbid)
    assert (excinfo.value.status, excinfo.value.code) == (409, "FileAlreadyExists")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.copy_object(bucket.bucket_name, "src", "taken", headers=forbid)
    assert excinfo.value.status == 409
    assert bucket.get_object("taken").read() == b"old"
    bucket.copy_object(bucket.bucket_name, "src", "free", headers=forbid)
    assert bucket.get_object("free").read() == b"new"


def test_replace_copy_keeps_content_type_and_client_encryption_meta(bucket):
    """REPLACE without Content-Type keeps the source's; the source's client-side encryption
    metadata stays with the copied data unless the request sets it, as OSS does."""
    cse = {"x-oss-meta-client-side-encryption-key": "a2V5", "x-oss-meta-client-side-encryption-start": "c3RhcnQ="}
    bucket.put_object("src", b"sealed", headers={"Content-Type": "text/plain", "x-oss-meta-old": "1", **cse})
    bucket.copy_object(bucket.bucket_name, "src", "dst", headers={
        "x-oss-metadata-directive": "REPLACE", "x-oss-meta-new": "2",
        "x-oss-meta-client-side-encryption-start": "bmV3"})
    head = bucket.head_object("dst")
    assert head.content_type == "text/plain"
    assert "x-oss-meta-old" not in head.headers and head.headers["x-oss-meta-new"] == "2"
    assert head.headers["x-oss-meta-client-side-encryption-key"] == "a2V5"
    assert head.headers["x-oss-meta-client-side-encryption-start"] == "bmV3"
