"""CORS preflight (OPTIONS) answered from the bucket's stored CORS rules."""
from __future__ import annotations

import http.client
import string
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.emulator.cors import CorsRule, matching_rule, requested_headers, wildcard_match

oss2 = pytest.importorskip("oss2")

plain = st.text(st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), max_size=20)


@given(prefix=plain, middle=plain, suffix=plain)
def test_one_wildcard_matches_any_middle(prefix, middle, suffix):
    assert wildcard_match(f"{prefix}*{suffix}", prefix + middle + suffix)
    assert wildcard_match("*", prefix + middle + suffix)


@given(value=plain, other=plain)
def test_without_wildcard_only_the_same_text_matches(value, other):
    assert wildcard_match(value, value)
    assert wildcard_match(value, other) == (value == other)


@given(name=st.text(string.ascii_letters + string.digits + "-", max_size=20))
def test_header_names_match_ignoring_case(name):
    assert wildcard_match(name.upper(), name.lower(), fold=True)
    assert not wildcard_match(name.upper() + "x", name.lower(), fold=True)


@given(headers=st.lists(st.sampled_from(["x-oss-a", "X-OSS-B", "content-type", "x-other"]), max_size=4))
def test_first_rule_covering_origin_method_and_every_header_wins(headers):
    narrow = CorsRule(("http://a.example",), ("PUT",), ("x-oss-*",), (), None)
    broad = CorsRule(("http://*.example",), ("PUT", "GET"), ("*",), ("etag",), "10")
    rules = [narrow, broad]
    expected = narrow if all(h.lower().startswith("x-oss-") for h in headers) else broad
    assert matching_rule(rules, "http://a.example", "PUT", headers) is expected
    assert matching_rule(rules, "http://b.example", "PUT", headers) is broad
    assert matching_rule(rules, "http://b.example", "DELETE", headers) is None
    assert matching_rule(rules, "https://a.example.org", "GET", headers) is None


def test_requested_headers_split_on_commas():
    assert requested_headers(" x-a, x-b ,,") == ["x-a", "x-b"]
    assert requested_headers(None) == []


def _options(emu, key, headers):
    """An unsigned OPTIONS request: (status, headers, body)."""
    conn = http.client.HTTPConnection(emu.endpoint.removeprefix("http://"), timeout=30)
    try:
        conn.request("OPTIONS", f"/{emu.bucket}/{key}", headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_preflight_answers_from_the_stored_rules(oss_emulator):
    emu = oss_emulator
    bucket = oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.endpoint, emu.bucket)
    ask = {"Origin": "http://www.example.com", "Access-Control-Request-Method": "PUT",
           "Access-Control-Request-Headers": "x-oss-test2"}
    status, _, body = _options(emu, "k.jpg", ask)
    assert (status, ET.fromstring(body).findtext("Code")) == (403, "AccessForbidden")  # no CORS rules yet
    bucket.put_bucket_cors(oss2.models.BucketCors([
        oss2.models.CorsRule(allowed_origins=["*"], allowed_methods=["GET", "HEAD"], allowed_headers=["GET"]),
        oss2.models.CorsRule(allowed_origins=["http://www.example.com"], allowed_methods=["PUT", "POST"],
                             allowed_headers=["*"], expose_headers=["x-oss-test2"], max_age_seconds=33012),
    ]))
    status, headers, _ = _options(emu, "k.jpg", ask)
    assert status == 200
    assert headers["access-control-allow-origin"] == "http://www.example.com"
    assert headers["access-control-allow-methods"] == "PUT, POST"
    assert headers["access-control-allow-headers"] == "x-oss-test2"
    assert (headers["access-control-expose-headers"], headers["access-control-max-age"]) == ("x-oss-test2", "33012")
    status, headers, _ = _options(emu, "k.jpg", {"Origin": "http://other.example", "Access-Control-Request-Method": "GET"})
    assert (status, headers["access-control-allow-methods"]) == (200, "GET, HEAD")
    status, headers, body = _options(emu, "k.jpg", {**ask, "Origin": "http://other.example"})
    assert (status, ET.fromstring(body).findtext("Code")) == (403, "AccessForbidden")
    assert "access-control-allow-origin" not in headers
    status, _, _ = _options(emu, "k.jpg", {"Origin": "http://www.example.com"})  # no method asked
    assert status == 403
