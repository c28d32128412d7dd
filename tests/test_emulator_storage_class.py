"""Per-object storage classes: x-oss-storage-class on writes, else the bucket's; reported by
HEAD, GET and the listings (ListParts also reports an upload's client-side encryption metadata);
objects needing a restore cannot be read."""
from __future__ import annotations

import http.client
import uuid
import xml.etree.ElementTree as ET

import pytest

from ossresume_c import auth

oss2 = pytest.importorskip("oss2")



def _classes(bucket):
    return {o.key: o.storage_class for o in oss2.ObjectIterator(bucket)}


def _get_xml(emu, key, query):
    """A V1-signed GET straight over http.client, parsed."""
    headers: dict = {}
    auth.sign_v1("GET", emu.bucket, key, query, headers, auth.Credentials(emu.access_key_id, emu.access_key_secret))
    conn = http.client.HTTPConnection(emu.endpoint.removeprefix("http://"), timeout=30)
    try:
        conn.request("GET", f"/{emu.bucket}/{key}?{auth.encode_query(query)}", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        return ET.fromstring(response.read())
    finally:
        conn.close()


def test_writes_take_the_named_class(bucket, oss_emulator):
    ia = {"x-oss-storage-class": "IA"}
    bucket.put_object("plain", b"x")
    bucket.put_object("put", b"x", headers=ia)
    bucket.copy_object(bucket.bucket_name, "plain", "copied", headers=ia)
    bucket.append_object("appended", 0, b"x", headers=ia)
    bucket.append_object("appended", 1, b"y")  # later appends keep the class
    upload = bucket.init_multipart_upload("multi", headers=ia).upload_id
    listed_parts = _get_xml(oss_emulator, "multi", [("uploadId", upload)])
    listed_uploads = _get_xml(oss_emulator, "", [("uploads", None)])
    assert [e.text for e in listed_parts.iter("StorageClass")] == ["IA"]
    assert [e.text for e in listed_uploads.iter("StorageClass")] == ["IA"]
    part = bucket.upload_part("multi", upload, 1, b"z")
    bucket.complete_multipart_upload("multi", upload, [oss2.models.PartInfo(1, part.etag)])
    assert _classes(bucket) == {"plain": "Standard", "put": "IA", "copied": "IA", "appended": "IA", "multi": "IA"}
    for key in ("put", "multi"):
        assert bucket.head_object(key).headers["x-oss-storage-class"] == "IA"
        assert bucket.get_object(key).headers["x-oss-storage-class"] == "IA"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("bad", b"x", headers={"x-oss-storage-class": "Chilly"})
    assert not bucket.object_exists("bad")


def test_archive_objects_answer_head_but_not_get(bucket):
    bucket.put_object("cold", b"frozen", headers={"x-oss-storage-class": "Archive"})
    assert bucket.head_object("cold").headers["x-oss-storage-class"] == "Archive"
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.get_object("cold")
    assert (excinfo.value.status, excinfo.value.code) == (403, "InvalidObjectState")


def test_objects_take_their_bucket_class(oss_emulator):
    auth = oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret)
    bucket = oss2.Bucket(auth, oss_emulator.endpoint, "ia-" + uuid.uuid4().hex[:16])
    bucket.create_bucket(oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
    try:
        bucket.put_object("k", b"x")
        bucket.put_object("s", b"x", headers={"x-oss-storage-class": "Standard"})
        assert _classes(bucket) == {"k": "IA", "s": "Standard"}
    finally:
        for key in ("k", "s"):
            bucket.delete_object(key)
        bucket.delete_bucket()


def test_list_parts_reports_client_encryption_meta(bucket, oss_emulator):
    meta = {"x-oss-meta-client-side-encryption-key": "a2V5", "x-oss-meta-client-side-encryption-data-size": "300",
            "x-oss-meta-client-side-encryption-part-size": "100"}
    upload = bucket.init_multipart_upload("sealed", headers=meta).upload_id
    listed = _get_xml(oss_emulator, "sealed", [("uploadId", upload)])
    got = {tag: listed.findtext(tag) for tag in ("ClientEncryptionKey", "ClientEncryptionDataSize",
                                                 "ClientEncryptionPartSize", "ClientEncryptionStart")}
    assert got == {"ClientEncryptionKey": "a2V5", "ClientEncryptionDataSize": "300",
                   "ClientEncryptionPartSize": "100", "ClientEncryptionStart": None}
    bucket.abort_multipart_upload("sealed", upload)
