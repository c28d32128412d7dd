"""Pure pieces of the emulator: Range rules, listing pagination, routing, fault rules."""
from __future__ import annotations

import itertools

import pytest

from ossresume_c.emulator import faults, listing, ranges, routing
from ossresume_c.emulator.errors import OssError
from ossresume_c.emulator.server import _is_loopback


# ---------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "header,size,standard,expected",
    [
        (None, 10, False, (200, 0, 10)),
        ("bytes=0-4", 10, False, (206, 0, 5)),
        ("bytes=5-", 10, False, (206, 5, 5)),
        ("bytes=-3", 10, False, (206, 7, 3)),
        ("bytes=9-9", 10, False, (206, 9, 1)),
        # OSS compatibility rules: the whole object with 200
        ("bytes=5-20", 10, False, (200, 0, 10)),
        ("bytes=10-", 10, False, (200, 0, 10)),
        ("bytes=10-12", 10, False, (200, 0, 10)),
        ("bytes=-11", 10, False, (200, 0, 10)),
        ("bytes=4-2", 10, False, (200, 0, 10)),
        ("bytes=a-b", 10, False, (200, 0, 10)),
        ("items=0-1", 10, False, (200, 0, 10)),
        ("bytes=0-0", 0, False, (200, 0, 0)),
        ("bytes=1-2,4-5", 10, False, (206, 1, 2)),
        # x-oss-range-behavior: standard
        ("bytes=5-20", 10, True, (206, 5, 5)),
        ("bytes=10-", 10, True, (416, 0, 0)),
        ("bytes=10-12", 10, True, (416, 0, 0)),
        ("bytes=-11", 10, True, (206, 0, 10)),
        ("bytes=-0", 10, True, (416, 0, 0)),
        ("bytes=0-0", 0, True, (416, 0, 0)),
        ("bytes=4-2", 10, True, (200, 0, 10)),
    ],
)
def test_range_rules(header, size, standard, expected):
    decision = ranges.decide(header, size, standard)
    assert (decision.status, decision.start, decision.length) == expected


def test_range_exhaustive_small_sizes():
    """Every a-b over small sizes: 206 exactly when the range fits; never out of bounds."""
    for size in range(6):
        for a, b in itertools.product(range(8), repeat=2):
            for standard in (False, True):
                d = ranges.decide(f"bytes={a}-{b}", size, standard)
                if a <= b < size:
                    assert (d.status, d.start, d.length) == (206, a, b - a + 1)
                elif d.status == 206:
                    assert standard and a < size <= b and d.start == a and d.end == size - 1
                elif d.status == 200:
                    assert (d.start, d.length) == (0, size)
                else:
                    assert standard and d.status == 416 and a >= size and a <= b


# ---------------------------------------------------------------- listing
def _items(keys):
    return [(k, s, (k, s)) for k, s in sorted(keys)]


def test_paginate_delimiter_and_prefix():
    items = _items([("a/1", ""), ("a/2", ""), ("b", ""), ("c/x/y", ""), ("c/z", ""), ("d", "")])
    page = listing.paginate(items, "", "/", "", "", 1000)
    assert page.prefixes == ["a/", "c/"]
    assert [e[0] for e in page.entries] == ["b", "d"]
    page = listing.paginate(items, "c/", "/", "", "", 1000)
    assert page.prefixes == ["c/x/"] and [e[0] for e in page.entries] == ["c/z"]


def test_paginate_walk_visits_everything_once():
    keys = [(f"k{i // 3}", f"U{i:03d}") for i in range(10)] + [("p/a", "U900"), ("p/b", "U901")]
    items = _items(keys)
    for limit in (1, 2, 3, 5):
        seen, prefixes = [], []
        marker, sub = "", ""
        for _ in range(100):
            page = listing.paginate(items, "", "/", marker, sub, limit)
            assert len(page.entries) + len(page.prefixes) <= limit
            seen += page.entries
            prefixes += page.prefixes
            if not page.truncated:
                break
            marker, sub = page.next_key, page.next_sub
        assert seen == [v for _, _, v in items if not v[0].startswith("p/")]
        assert prefixes == ["p/"]


# ---------------------------------------------------------------- routing
def test_route_uses_the_set_of_query_keys():
    target = routing.Target("bucket", "key", False)
    q1 = routing.parse_query("uploadId=X&partNumber=1")
    q2 = routing.parse_query("partNumber=1&uploadId=X")
    assert routing.operation_name("PUT", target, q1) == routing.operation_name("PUT", target, q2) == "UploadPart"
    assert routing.operation_name("POST", target, routing.parse_query("uploads=")) == "InitiateMultipartUpload"
    assert routing.operation_name("POST", target, routing.parse_query("uploads")) == "InitiateMultipartUpload"
    assert routing.operation_name("POST", target, routing.parse_query("uploads&encoding-type=url")) == "InitiateMultipartUpload"
    assert routing.operation_name("GET", target, routing.parse_query("uploadId=X&max-parts=1&part-number-marker=0")) == "ListParts"
    assert routing.operation_name("GET", target, routing.parse_query("acl")) == "GetObjectAcl"
    assert routing.operation_name("PUT", target, routing.parse_query("live")) == routing.UNSUPPORTED
    assert routing.operation_name("GET", target, routing.parse_query("versionId=null")) == "GetObject"
    assert routing.operation_name("GET", target, routing.parse_query("versionId=CAEQ")) == routing.UNSUPPORTED


def test_resolve_target_path_styles():
    exists = {"test-bucket"}.__contains__
    assert routing.resolve_target("/test-bucket/dir%2Fobj.bin", "127.0.0.1:9", exists) == routing.Target("test-bucket", "dir/obj.bin", False)
    assert routing.resolve_target("/test-bucket%2Fdir%2Fobj.bin", "127.0.0.1:9", exists) == routing.Target("test-bucket", "dir/obj.bin", False)
    assert routing.resolve_target("/test-bucket/a%20b+c", "localhost:9", exists).key == "a b+c"
    assert routing.resolve_target("/test-bucket/", "127.0.0.1", exists).level == "bucket"
    assert routing.resolve_target("/", "127.0.0.1", exists).level == "service"
    vhost = routing.resolve_target("/dir/obj", "test-bucket.oss.example.com:80", exists)
    assert vhost == routing.Target("test-bucket", "dir/obj", True)
    assert routing.resolve_target("/k", "other-bucket.localhost:8080", exists).bucket == "other-bucket"
    assert routing.resolve_target("/_emulator/health", "127.0.0.1", exists).control_path == "/health"
    # a key under a virtual host is never the control API
    assert routing.resolve_target("/_emulator/health", "test-bucket.localhost", exists).control_path is None
    with pytest.raises(OssError) as info:
        routing.resolve_target("/b/%ff%fe", "127.0.0.1", exists)
    assert info.value.code == "InvalidObjectName"


@pytest.mark.parametrize("key,ok", [("a", True), ("x" * 1023, True), ("x" * 1024, False), ("é" * 512, False), ("/abs", False), ("\\abs", False), ("a\x00b", False), ("../../etc/passwd", True)])
def test_key_rules(key, ok):
    if ok:
        routing.check_key(key)
    else:
        with pytest.raises(OssError) as info:
            routing.check_key(key)
        assert info.value.code == "InvalidObjectName" and info.value.status == 400


@pytest.mark.parametrize("name,ok", [("abc", True), ("a-b-1", True), ("ab", False), ("-ab", False), ("ab-", False), ("Abc", False), ("_emulator", False), ("a" * 64, False), ("../x", False)])
def test_bucket_rules(name, ok):
    assert routing.is_valid_bucket_name(name) is ok


def test_loopback_check():
    assert _is_loopback("127.0.0.1") and _is_loopback("127.8.9.10") and _is_loopback("::1")
    assert not _is_loopback("10.0.0.1") and not _is_loopback("192.168.1.2") and not _is_loopback("garbage")


# ---------------------------------------------------------------- faults
def _fire_sequence(rule, n, op="UploadPart", **kw):
    fs = faults.FaultSet([rule])
    return [bool(fs.plan(op, "PUT", "b", kw.get("key", "k"), kw.get("part", 1))) for _ in range(n)]


def test_fault_nth_fires_once_by_default():
    assert _fire_sequence({"op": "UploadPart", "action": "status", "status": 503, "nth": 3}, 6) == [False, False, True, False, False, False]


def test_fault_nth_with_count():
    assert _fire_sequence({"action": "status", "nth": 2, "count": 2}, 5) == [False, True, True, False, False]


def test_fault_fraction_is_seeded_and_roughly_right():
    rule = {"op": "*", "action": "status", "status": 500, "fraction": 0.25, "seed": 1}
    first = _fire_sequence(rule, 400)
    assert first == _fire_sequence(rule, 400)
    assert 60 <= sum(first) <= 140


def test_fault_filters():
    assert _fire_sequence({"action": "bad_crc", "op": "GetObject"}, 2) == [False, False]
    assert _fire_sequence({"action": "bad_crc", "op": ["GetObject", "UploadPart"]}, 2) == [True, True]
    assert _fire_sequence({"action": "bad_crc", "part_number": 2}, 1) == [False]
    assert _fire_sequence({"action": "bad_crc", "key_prefix": "dir/"}, 1, key="dir/x") == [True]
    assert _fire_sequence({"action": "bad_crc", "key": "other"}, 1) == [False]


def test_fault_plan_combines_actions():
    fs = faults.FaultSet(
        [
            {"action": "delay", "seconds": 0.5},
            {"action": "delay", "seconds": 0.25},
            {"action": "throttle", "bytes_per_sec": 100},
            {"action": "status", "status": 500},
            {"action": "status", "status": 503},
            {"action": "reset", "after_bytes": 7},
        ]
    )
    plan = fs.plan("PutObject", "PUT", "b", "k", None)
    assert plan.delay == 0.75 and plan.bytes_per_sec == 100 and plan.reset_after == 7
    assert plan.status is not None and plan.status.status == 500
    assert fs.fired_by_action == {"delay": 2, "throttle": 1, "status": 1, "reset": 1}


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "explode"},
        {"op": "UploadPart"},
        {"action": "status", "status": 200},
        {"action": "status", "nth": 0},
        {"action": "status", "fraction": 1.5},
        {"action": "throttle"},
        {"action": "status", "bogus": 1},
        {"action": "status", "phase": "during"},
    ],
)
def test_fault_rule_validation(rule):
    with pytest.raises(ValueError):
        faults.FaultRule.from_dict(rule)
