"""Bucket configurations the emulator stores (oss2, V1 and V4), their checks, and what it refuses."""
from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from ossresume_c import auth
from ossresume_c.emulator.bucket_config import KINDS, validate_cors, validate_encryption, validate_lifecycle
from ossresume_c.emulator.errors import OssError

oss2 = pytest.importorskip("oss2")



def _raw(emu, method, bucket, key, query, headers=None, body=b""):
    """A V1-signed request straight over http.client: (status, headers, body)."""
    headers = dict(headers or {})
    auth.sign_v1(method, bucket, key, query, headers, auth.Credentials(emu.access_key_id, emu.access_key_secret))
    path = f"/{bucket}/{quote(key or '')}" + ("?" + auth.encode_query(query) if query else "")
    conn = http.client.HTTPConnection(emu.endpoint.removeprefix("http://"), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_cors_round_trip_and_errors(bucket):
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()
    rule = oss2.models.CorsRule(allowed_origins=["*"], allowed_methods=["GET", "HEAD"], allowed_headers=["*"],
                                max_age_seconds=100)
    bucket.put_bucket_cors(oss2.models.BucketCors([rule]))
    got = bucket.get_bucket_cors().rules[0]
    assert (got.allowed_origins, got.allowed_methods, got.max_age_seconds) == (["*"], ["GET", "HEAD"], 100)
    bad = oss2.models.CorsRule(allowed_origins=["*"], allowed_methods=["GET"], max_age_seconds=-1)
    with pytest.raises(oss2.exceptions.InvalidArgument) as excinfo:
        bucket.put_bucket_cors(oss2.models.BucketCors([bad]))
    assert (excinfo.value.name, excinfo.value.value) == ("MaxAgeSeconds", "-1")
    assert bucket.get_bucket_cors().rules[0].max_age_seconds == 100  # unchanged
    bucket.delete_bucket_cors()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()


def test_referer_logging_tags_encryption(bucket, oss_emulator):
    assert bucket.get_bucket_referer().allow_empty_referer is True
    bucket.put_bucket_referer(oss2.models.BucketReferer(False, ["http://a.example", "中文"]))
    result = bucket.get_bucket_referer()
    assert result.allow_empty_referer is False and sorted(result.referers) == ["http://a.example", "中文"]

    assert bucket.get_bucket_logging().target_bucket == ""
    bucket.put_bucket_logging(oss2.models.BucketLogging(oss_emulator.bucket, "logs/"))
    assert bucket.get_bucket_logging().target_prefix == "logs/"
    bucket.delete_bucket_logging()
    assert bucket.get_bucket_logging().target_prefix == ""

    tagging = oss2.models.Tagging()
    tagging.tag_set.add("%@abc", "++123%")
    bucket.put_bucket_tagging(tagging)
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"%@abc": "++123%"}
    bucket.delete_bucket_tagging()
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {}

    with pytest.raises(oss2.exceptions.NoSuchServerSideEncryptionRule):
        bucket.get_bucket_encryption()
    rule = oss2.models.ServerSideEncryptionRule(oss2.SERVER_SIDE_ENCRYPTION_KMS, "key-1")
    bucket.put_bucket_encryption(rule)
    assert bucket.get_bucket_encryption().kms_master_keyid == "key-1"
    assert bucket.get_bucket_info().bucket_encryption_rule.sse_algorithm == "KMS"
    rule = oss2.models.ServerSideEncryptionRule(oss2.SERVER_SIDE_ENCRYPTION_AES256, "key-1")
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_encryption(rule)
    bucket.delete_bucket_encryption()
    assert bucket.get_bucket_info().bucket_encryption_rule.sse_algorithm is None


def test_lifecycle_round_trip_and_checks(bucket):
    from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule, StorageTransition

    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()
    rule = LifecycleRule("r1", "logs/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=30))
    rule.storage_transitions = [StorageTransition(days=10, storage_class=oss2.BUCKET_STORAGE_CLASS_IA),
                                StorageTransition(days=20, storage_class=oss2.BUCKET_STORAGE_CLASS_ARCHIVE)]
    bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    got = bucket.get_bucket_lifecycle().rules[0]
    assert (got.id, got.prefix, got.expiration.days) == ("r1", "logs/", 30)
    assert [t.days for t in got.storage_transitions] == [10, 20]
    for transitions in ([StorageTransition(days=40, storage_class=oss2.BUCKET_STORAGE_CLASS_IA)],
                        [StorageTransition(days=5, storage_class=oss2.BUCKET_STORAGE_CLASS_STANDARD)],
                        [StorageTransition(days=20, storage_class=oss2.BUCKET_STORAGE_CLASS_IA),
                         StorageTransition(days=10, storage_class=oss2.BUCKET_STORAGE_CLASS_ARCHIVE)]):
        rule.storage_transitions = transitions
        with pytest.raises(oss2.exceptions.InvalidArgument):
            bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    with pytest.raises(oss2.exceptions.MalformedXml):
        bucket.put_bucket_lifecycle("<This is a bad xml></bad as I am>")
    assert bucket.get_bucket_lifecycle().rules[0].expiration.days == 30  # unchanged
    bucket.delete_bucket_lifecycle()


def test_bucket_acl_storage_class_and_info(oss_emulator):
    creds = oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret)
    other = oss2.Bucket(creds, oss_emulator.endpoint, oss_emulator.bucket + "-ia")
    other.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ,
                        oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
    try:
        assert other.get_bucket_acl().acl == "public-read"
        other.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
        assert other.get_bucket_acl().acl == "private"
        with pytest.raises(oss2.exceptions.InvalidArgument):
            other.put_bucket_acl("everyone")
        info = other.get_bucket_info()
        assert info.storage_class == "IA" and info.acl.grant == "private"
        assert info.extranet_endpoint == oss_emulator.endpoint.removeprefix("http://")
        assert info.intranet_endpoint == oss_emulator.endpoint.removeprefix("http://")
    finally:
        other.delete_bucket()


def test_pure_checks():
    with pytest.raises(OssError) as excinfo:
        validate_cors(b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                      b"<AllowedMethod>TRACE</AllowedMethod></CORSRule></CORSConfiguration>")
    assert excinfo.value.code == "InvalidArgument"
    with pytest.raises(OssError) as excinfo:
        validate_encryption(b"<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault>"
                            b"<SSEAlgorithm>rot13</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
                            b"</ServerSideEncryptionRule>")
    assert excinfo.value.code == "InvalidEncryptionAlgorithmError"
    for body in (b"", b"<Other/>", b"<LifecycleConfiguration><Rule><ID>a</ID><Status>On</Status></Rule>"
                 b"</LifecycleConfiguration>"):
        with pytest.raises(OssError) as excinfo:
            validate_lifecycle(body)
        assert excinfo.value.code == "MalformedXML"
    for kind in KINDS.values():  # every kind refuses a document of another kind
        with pytest.raises(OssError):
            kind.validate(b"<NotAConfiguration/>")


@pytest.mark.parametrize("method,key,sub", [("PUT", "ch", "live"), ("POST", "ch", "comp"),
                                            ("PUT", "", "worm"), ("GET", "obj", "x-oss-process")])
def test_unsupported_sub_resource_is_501_and_writes_nothing(oss_emulator, method, key, sub):
    before = sorted(o.key for o in oss2.ObjectIterator(oss2.Bucket(
        oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret), oss_emulator.endpoint,
        oss_emulator.bucket)))
    status, headers, body = _raw(oss_emulator, method, oss_emulator.bucket, key, [(sub, None)], body=b"payload")
    assert status == 501
    error = ET.fromstring(body)
    assert error.findtext("Code") == "NotImplemented"
    assert f"?{sub}" in error.findtext("Message") and method in error.findtext("Message")
    after = sorted(o.key for o in oss2.ObjectIterator(oss2.Bucket(
        oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret), oss_emulator.endpoint,
        oss_emulator.bucket)))
    assert after == before and "ch" not in after


def test_missing_bucket_is_reported_before_the_key_check(oss_emulator):
    nobody = oss2.Bucket(oss2.Auth("unknown-key", "secret"), oss_emulator.endpoint, "no-such-bucket-x")
    with pytest.raises(oss2.exceptions.NoSuchBucket) as excinfo:
        nobody.get_bucket_acl()
    assert excinfo.value.headers.get("x-oss-ec") == "0015-00000101"
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:  # a write: the key first, as OSS
        nobody.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert (excinfo.value.status, excinfo.value.code) == (403, "InvalidAccessKeyId")
    existing = oss2.Bucket(oss2.Auth("unknown-key", "secret"), oss_emulator.endpoint, oss_emulator.bucket)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:  # an existing bucket: the key is checked
        existing.get_bucket_acl()
    assert (excinfo.value.status, excinfo.value.code) == (403, "InvalidAccessKeyId")


def test_missing_key_carries_its_ec_and_other_regions_are_refused(bucket, oss_emulator):
    with pytest.raises(oss2.exceptions.NoSuchKey) as excinfo:
        bucket.get_object("missing")
    assert excinfo.value.ec == "0026-00000001"
    elsewhere = oss2.Bucket(oss2.AuthV4(oss_emulator.access_key_id, oss_emulator.access_key_secret),
                            oss_emulator.endpoint, oss_emulator.bucket, region="cn-hangzhou-test-1")
    with pytest.raises(oss2.exceptions.OssError) as excinfo:
        elsewhere.head_object("missing")
    assert (excinfo.value.status, excinfo.value.code, excinfo.value.ec) == (400, "InvalidArgument", "0002-00000226")


def test_bucket_stat_counts_the_store(bucket):
    bucket.put_object("a", b"1234567")
    bucket.put_object("b", b"xyz")
    upload_id = bucket.init_multipart_upload("c").upload_id
    stat = bucket.get_bucket_stat()
    assert (stat.object_count, stat.storage_size_in_bytes, stat.multi_part_upload_count) == (2, 10, 1)
    assert (stat.standard_object_count, stat.standard_storage, stat.archive_object_count) == (2, 10, 0)
    bucket.abort_multipart_upload("c", upload_id)


def test_defaults_oss_fills_in_and_encryption_headers_at_creation(bucket, oss_emulator):
    bucket.put_bucket_referer(oss2.models.BucketReferer(True, ["http://a.example"]))
    assert bucket.get_bucket_referer().allow_truncate_query_string is True
    rule = oss2.models.CorsRule(allowed_origins=["*"], allowed_methods=["GET"], allowed_headers=["X-Oss-Meta-A"],
                                max_age_seconds=1)
    bucket.put_bucket_cors(oss2.models.BucketCors([rule]))
    got = bucket.get_bucket_cors()
    assert got.response_vary is False
    assert got.rules[0].allowed_headers == ["x-oss-meta-a"] and got.rules[0].allowed_methods == ["GET"]
    sm4 = oss2.Bucket(bucket.auth, oss_emulator.endpoint, oss_emulator.bucket + "-sm4", region=oss_emulator.region)
    sm4.create_bucket(oss2.BUCKET_ACL_PRIVATE, headers={"x-oss-server-side-encryption": "KMS",
                                                        "x-oss-server-side-encryption-key-id": "k-1"})
    try:
        rule = sm4.get_bucket_info().bucket_encryption_rule
        assert (rule.sse_algorithm, rule.kms_master_keyid) == ("KMS", "k-1")
    finally:
        sm4.delete_bucket()
    with pytest.raises(oss2.exceptions.OssError):
        sm4.create_bucket(headers={"x-oss-server-side-encryption": "rot13"})
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        sm4.get_bucket_info()


def test_lifecycle_rule_mixing_days_and_dates_is_refused(bucket):
    from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule, StorageTransition
    import datetime

    rule = LifecycleRule("mix", "p/", status=LifecycleRule.ENABLED,
                         expiration=LifecycleExpiration(created_before_date=datetime.date(2016, 12, 25)))
    rule.storage_transitions = [StorageTransition(days=356, storage_class=oss2.BUCKET_STORAGE_CLASS_IA)]
    with pytest.raises(oss2.exceptions.InvalidRequest):
        bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()


def test_delete_some_bucket_tags(bucket):
    tagging = oss2.models.Tagging()
    for key in ("a", "b", "c"):
        tagging.tag_set.add(key, key.upper())
    bucket.put_bucket_tagging(tagging)
    bucket.delete_bucket_tagging(params={"tagging": "a,c"})
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"b": "B"}
    bucket.delete_bucket_tagging(params={"tagging": "zzz"})
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"b": "B"}
    bucket.delete_bucket_tagging()
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {}


def test_versioning_suspended_is_stored_enabled_is_refused(bucket):
    assert bucket.get_bucket_versioning().status is None
    bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig(oss2.BUCKET_VERSIONING_SUSPEND))
    assert bucket.get_bucket_versioning().status == "Suspended"
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig(oss2.BUCKET_VERSIONING_ENABLE))
    assert (excinfo.value.status, excinfo.value.code) == (501, "NotImplemented")
    assert bucket.get_bucket_versioning().status == "Suspended"
    bucket.put_object("k", b"x")
    versions = bucket.list_object_versions()
    assert [(v.key, v.versionid, v.is_latest) for v in versions.versions] == [("k", "null", True)]
    bucket.delete_object("k", params={"versionId": "null"})
    assert not bucket.object_exists("k")


def test_user_defined_log_fields_round_trip_and_limits(oss_emulator):
    """Stored and returned; V1 signs the sub-resource; more than six fields, or ``_`` in a header
    name, is InvalidArgument; GET after DELETE is 404 NoSuchUserDefinedLogFieldsConfig."""
    emu, sub = oss_emulator, [("userDefinedLogFieldsConfig", None)]
    doc = (b"<UserDefinedLogFieldsConfiguration><HeaderSet><header>x-a</header><header>x-b</header></HeaderSet>"
           b"<ParamSet><parameter>p_1</parameter></ParamSet></UserDefinedLogFieldsConfiguration>")
    assert _raw(emu, "PUT", emu.bucket, "", sub, body=doc)[0] == 200
    status, _, body = _raw(emu, "GET", emu.bucket, "", sub)
    got = ET.fromstring(body)
    assert status == 200
    assert [h.text for h in got.iterfind("HeaderSet/header")] == ["x-a", "x-b"]
    assert [p.text for p in got.iterfind("ParamSet/parameter")] == ["p_1"]
    seven = b"".join(b"<header>h%d</header>" % i for i in range(7))
    for bad, ec in ((b"<UserDefinedLogFieldsConfiguration><HeaderSet>" + seven
                     + b"</HeaderSet></UserDefinedLogFieldsConfiguration>", "0046-00000004"),
                    (b"<UserDefinedLogFieldsConfiguration><HeaderSet><header>x_a</header></HeaderSet>"
                     b"</UserDefinedLogFieldsConfiguration>", None)):
        status, headers, body = _raw(emu, "PUT", emu.bucket, "", sub, body=bad)
        assert (status, ET.fromstring(body).findtext("Code")) == (400, "InvalidArgument")
        assert headers.get("x-oss-ec") == ec
    assert _raw(emu, "DELETE", emu.bucket, "", sub)[0] == 204
    status, _, body = _raw(emu, "GET", emu.bucket, "", sub)
    assert (status, ET.fromstring(body).findtext("Code")) == (404, "NoSuchUserDefinedLogFieldsConfig")
