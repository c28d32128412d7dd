"""Object ACL, tagging and symlinks on the emulator (oss2, V1 and V4), and the tag rules."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.emulator.errors import OssError
from ossresume_c.emulator.object_tags import parse_tagging_header, tagging_header

oss2 = pytest.importorskip("oss2")

TAG_TEXT = st.text(st.sampled_from("abcXYZ019 +-=._:/@"), max_size=12)



@given(st.dictionaries(TAG_TEXT.filter(bool), TAG_TEXT, max_size=10))
def test_tagging_header_round_trip(tags):
    assert parse_tagging_header(tagging_header(tags)) == tags


@pytest.mark.parametrize("header", ["=a&b=a", "a=1&a=2", "k%25=v", "&".join(f"k{i}=v" for i in range(11)),
                                    "a" * 129 + "=v", "k=" + "v" * 257])
def test_bad_tagging_headers_are_refused(header):
    with pytest.raises(OssError) as excinfo:
        parse_tagging_header(header)
    assert excinfo.value.status == 400


def test_object_acl(bucket):
    bucket.put_object("k", b"x")
    assert bucket.get_object_acl("k").acl == oss2.OBJECT_ACL_DEFAULT
    for acl in (oss2.OBJECT_ACL_PRIVATE, oss2.OBJECT_ACL_PUBLIC_READ, oss2.OBJECT_ACL_PUBLIC_READ_WRITE,
                oss2.OBJECT_ACL_DEFAULT):
        bucket.put_object_acl("k", acl)
        assert bucket.get_object_acl("k").acl == acl
    assert bucket.get_object("k").read() == b"x"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object_acl("k", "world-writable")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_acl("missing")
    bucket.put_object("k2", b"y", headers={"x-oss-object-acl": "public-read"})
    assert bucket.get_object_acl("k2").acl == "public-read"


def test_object_tagging(bucket):
    bucket.put_object("k", b"x", headers={"x-oss-tagging": "k1=v1&k2=v%202"})
    assert bucket.get_object_tagging("k").tag_set.tagging_rule == {"k1": "v1", "k2": "v 2"}
    assert bucket.head_object("k").headers["x-oss-tagging-count"] == "2"
    tagging = oss2.models.Tagging()
    tagging.tag_set.add("new", "value")
    bucket.put_object_tagging("k", tagging)
    assert bucket.get_object_tagging("k").tag_set.tagging_rule == {"new": "value"}
    bucket.delete_object_tagging("k")
    assert bucket.get_object_tagging("k").tag_set.tagging_rule == {}
    assert bucket.get_object("k").read() == b"x"
    with pytest.raises(oss2.exceptions.OssError):
        bucket.put_object("bad", b"x", headers={"x-oss-tagging": "=a&b=a"})
    assert not bucket.object_exists("bad")
    too_many = oss2.models.Tagging()
    for i in range(11):
        too_many.tag_set.add(f"k{i}", "v")
    with pytest.raises(oss2.exceptions.OssError):
        bucket.put_object_tagging("k", too_many)


def test_multipart_upload_keeps_acl_and_tags(bucket):
    upload_id = bucket.init_multipart_upload("mp", headers={"x-oss-tagging": "a=b",
                                                            "x-oss-object-acl": "private"}).upload_id
    etag = bucket.upload_part("mp", upload_id, 1, b"data").etag
    bucket.complete_multipart_upload("mp", upload_id, [oss2.models.PartInfo(1, etag)])
    assert bucket.get_object_tagging("mp").tag_set.tagging_rule == {"a": "b"}
    assert bucket.get_object_acl("mp").acl == "private"
    assert "x-oss-tagging" not in bucket.head_object("mp").headers
    upload_id = bucket.init_multipart_upload("mp2").upload_id
    etag = bucket.upload_part("mp2", upload_id, 1, b"data").etag
    bucket.complete_multipart_upload("mp2", upload_id, [oss2.models.PartInfo(1, etag)],
                                     headers={"x-oss-object-acl": "public-read"})  # ACL given at Complete
    assert bucket.get_object_acl("mp2").acl == "public-read"
    bucket.put_object_acl("mp", "public-read")  # metadata only: the parts stay
    assert bucket.get_object("mp").read() == b"data"


def test_symlinks(bucket):
    bucket.put_object("目标/文件", b"target data", headers={"Content-Type": "text/plain"})
    bucket.put_symlink("目标/文件", "link", headers={"x-oss-meta-why": "alias"})
    assert bucket.get_symlink("link").target_key == "目标/文件"
    assert bucket.get_object("link").read() == b"target data"
    head = bucket.head_object("link")
    assert head.object_type == "Symlink" and head.content_length == len(b"target data")
    assert head.headers["x-oss-meta-why"] == "alias"
    with pytest.raises(oss2.exceptions.OssError) as excinfo:
        bucket.get_symlink("目标/文件")
    assert excinfo.value.status == 400
    bucket.delete_object("目标/文件")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("link")
    assert bucket.get_symlink("link").target_key == "目标/文件"


def test_public_acls_let_unsigned_requests_through(bucket, oss_emulator):
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), oss_emulator.endpoint, oss_emulator.bucket)
    bucket.put_object("open", b"data")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("open")
    bucket.put_object_acl("open", oss2.OBJECT_ACL_PUBLIC_READ)
    assert anonymous.get_object("open").read() == b"data"
    with pytest.raises(oss2.exceptions.AccessDenied):  # public-read: no writes
        anonymous.put_object("new", b"x")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    try:
        anonymous.put_object("new", b"x")
        assert anonymous.get_object("new").read() == b"x"
        with pytest.raises(oss2.exceptions.AccessDenied):  # bucket-level operations stay signed
            anonymous.get_bucket_acl()
        bucket.put_object_acl("new", oss2.OBJECT_ACL_PRIVATE)
        with pytest.raises(oss2.exceptions.AccessDenied):  # the object's own ACL wins
            anonymous.get_object("new")
    finally:
        bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object("newer", b"x")
