"""ListBuckets: paging and the bucket-tag filters (tag-key, tag-value, tagging); DescribeRegions."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.emulator.errors import OssError
from ossresume_c.emulator.ops_service import tag_filter

oss2 = pytest.importorskip("oss2")

tag_sets = st.dictionaries(st.sampled_from(["env", "team", "app"]), st.sampled_from(["test", "dev", "prod"]))


@given(tags=tag_sets, key=st.sampled_from(["env", "team"]), value=st.sampled_from(["test", "dev"]))
def test_tag_key_and_value_filters(tags, key, value):
    assert tag_filter(None, None, None) is None
    assert tag_filter(key, None, None)(tags) == (key in tags)
    assert tag_filter(key, value, None)(tags) == (tags.get(key) == value)


@given(tags=tag_sets, wanted=tag_sets.filter(bool))
def test_tagging_filter_needs_every_pair(tags, wanted):
    text = ",".join(f'"{k}":"{v}"' for k, v in wanted.items())
    expected = all(tags.get(k) == v for k, v in wanted.items())
    assert tag_filter(None, None, text)(tags) == expected
    assert tag_filter(None, None, "{" + text + "}")(tags) == expected


@pytest.mark.parametrize("key,value,tagging", [(None, "v", None), ("k", None, '"k":"v"'), (None, None, "k=v"),
                                               (None, None, "")])
def test_bad_filters_are_invalid_argument(key, value, tagging):
    with pytest.raises(OssError) as excinfo:
        tag_filter(key, value, tagging)
    assert excinfo.value.code == "InvalidArgument"


def test_list_buckets_by_tag(oss_emulator):
    auth = oss2.Auth(oss_emulator.access_key_id, oss_emulator.access_key_secret)
    service = oss2.Service(auth, oss_emulator.endpoint)
    prefix = "tagged-" + uuid.uuid4().hex[:12]
    tags = {"-1": {"env": "test"}, "-2": {"env": "test", "team": "dev"}, "-3": {"env": "prod"}, "-4": {}}
    buckets = []
    for suffix, pairs in tags.items():
        bucket = oss2.Bucket(auth, oss_emulator.endpoint, prefix + suffix)
        bucket.create_bucket()
        buckets.append(bucket)
        if pairs:
            rule = oss2.models.TaggingRule()
            for k, v in pairs.items():
                rule.add(k, v)
            bucket.put_bucket_tagging(oss2.models.Tagging(rule))
    try:
        def names(**params):
            return [b.name[len(prefix):] for b in service.list_buckets(prefix=prefix, params=params).buckets]

        assert names() == ["-1", "-2", "-3", "-4"]
        assert names(**{"tag-key": "env"}) == ["-1", "-2", "-3"]
        assert names(**{"tag-key": "env", "tag-value": "test"}) == ["-1", "-2"]
        assert names(tagging='"env":"test","team":"dev"') == ["-2"]
        page = service.list_buckets(prefix=prefix, max_keys=1, params={"tag-key": "env"})
        assert [b.name[len(prefix):] for b in page.buckets] == ["-1"] and page.is_truncated
        with pytest.raises(oss2.exceptions.ServerError) as excinfo:
            service.list_buckets(params={"tag-value": "test"})
        assert (excinfo.value.status, excinfo.value.code) == (400, "InvalidArgument")
    finally:
        for bucket in buckets:
            bucket.delete_bucket()


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_describe_regions(oss_emulator, version):
    auth = oss2.make_auth(oss_emulator.access_key_id, oss_emulator.access_key_secret, version)
    service = oss2.Service(auth, oss_emulator.endpoint, region=oss_emulator.region)
    regions = service.describe_regions().regions
    ids = [r.region for r in regions]
    assert len(ids) == len(set(ids)) > 1 and "oss-cn-hangzhou" in ids
    assert f"oss-{oss_emulator.region}".replace("oss-oss-", "oss-") in ids
    one = service.describe_regions("oss-cn-hangzhou").regions
    assert [(r.region, r.internet_endpoint, r.internal_endpoint, r.accelerate_endpoint) for r in one] == [
        ("oss-cn-hangzhou", "oss-cn-hangzhou.aliyuncs.com", "oss-cn-hangzhou-internal.aliyuncs.com",
         "oss-accelerate.aliyuncs.com")]
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        service.describe_regions("oss-nowhere-1")
    assert (excinfo.value.status, excinfo.value.code) == (404, "NoSuchRegion")
