"""Tests for ossresume_c.emulator.verify: sign/verify round trips, tampering, the
error codes and their order, both V4 header layouts, and that secrets stay hidden."""
from __future__ import annotations

import copy
import email.parser
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl, quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ossresume_c.auth import (
    SUBRESOURCES,
    Credentials,
    Query,
    encode_query,
    presign_v1,
    presign_v4,
    sign_v1,
    sign_v4,
    v1_string_to_sign,
)
from ossresume_c.emulator.verify import VerifyResult, has_signature, verify_request

VECTORS: Dict[str, Any] = json.loads((Path(__file__).parent / "data" / "signing.json").read_text())


SECRET = "s3cr3t-Zq9vXkT7"
TOKEN = "sts-t0ken-Wm4pRr2"
AK = "LTAI-test-key"
REGION = "cn-hangzhou"
NOW = 1_702_743_657.0


def lookup(access_key_id: str) -> Optional[str]:
    return SECRET if access_key_id == AK else None



def test_v4_presign_vector_verifies() -> None:
    vector = VECTORS["v4_presign"][0]
    common = copy.deepcopy(VECTORS["v4_common"])
    headers = dict(vector["headers"])
    query: Query = [(name, value) for name, value in common["query"]]
    params = presign_v4(
        common["method"], common["bucket"], common["key"], query, headers,
        Credentials("ak", "sk"), vector["region"], vector["expires"], vector["product"], now=vector["time"],
    )
    result = verify_request(
        common["method"], common["bucket"], common["key"], query + params,
        headers, lambda ak: "sk" if ak == "ak" else None, now=vector["time"] + 10,
    )
    assert result.ok, result



# ---------------------------------------------------------------------------
# round trips and tampering

METHOD = "PUT"
BUCKET = "bucket"
KEY = "dir/中文 a+b%20=c.bin"


def base_query() -> Query:
    return [("uploadId", "0123456789ABCDEF"), ("partNumber", "7"), ("max-parts", "5"), ("uploads", None)]


def base_headers() -> Dict[str, str]:
    return {"Content-Type": "application/octet-stream", "x-oss-meta-author": "alice", "Content-Length": "10"}


class Signed:
    """A signed request in the shape the emulator hands to verify_request."""

    def __init__(self, method: str, key: str, query: Query, headers: Dict[str, str]) -> None:
        self.method = method
        self.key = key
        self.query = query
        self.headers = headers

    def verify(self, now: float = NOW, **kwargs: Any) -> VerifyResult:
        return verify_request(self.method, BUCKET, self.key, self.query, self.headers, lookup, now=now, **kwargs)


def sign(mode: str, creds: Optional[Credentials] = None, additional: Any = ()) -> Signed:
    creds = creds or Credentials(AK, SECRET, TOKEN)
    query = base_query()
    headers = base_headers()
    if mode == "v1":
        sign_v1(METHOD, BUCKET, KEY, query, headers, creds, now=NOW)
    elif mode == "v4":
        sign_v4(METHOD, BUCKET, KEY, query, headers, creds, REGION, now=NOW, additional_headers=additional)
    elif mode == "v1-presign":
        query += presign_v1(METHOD, BUCKET, KEY, query, headers, creds, expires=600, now=NOW)
    elif mode == "v4-presign":
        query += presign_v4(METHOD, BUCKET, KEY, query, headers, creds, REGION, 600, now=NOW,
                            additional_headers=additional)
    else:
        raise AssertionError(mode)
    return Signed(METHOD, KEY, query, headers)


MODES = ["v1", "v4", "v1-presign", "v4-presign"]


def _set_query(query: Query, name: str, value: str) -> Query:
    assert any(k == name for k, _ in query)
    return [(k, value if k == name else v) for k, v in query]


def _shift_v4_stamp(stamp: str) -> str:
    assert stamp.endswith("Z") and stamp[-3:-1] != "59"
    return stamp[:-3] + f"{int(stamp[-3:-1]) + 1:02d}Z"


def _tamper_date(req: Signed, mode: str) -> None:
    if mode == "v1":
        req.headers["Date"] = req.headers["Date"].replace("16:20:57", "16:20:58")
    elif mode == "v4":
        req.headers["x-oss-date"] = _shift_v4_stamp(req.headers["x-oss-date"])
    elif mode == "v1-presign":
        expires = dict(req.query)["Expires"]
        assert expires is not None
        req.query = _set_query(req.query, "Expires", str(int(expires) + 1))
    else:
        stamp = dict(req.query)["x-oss-date"]
        assert stamp is not None
        req.query = _set_query(req.query, "x-oss-date", _shift_v4_stamp(stamp))


TAMPERS: Dict[str, Callable[[Signed, str], None]] = {
    "method": lambda req, mode: setattr(req, "method", "POST"),
    "key": lambda req, mode: setattr(req, "key", req.key + "x"),
    "key-case": lambda req, mode: setattr(req, "key", req.key.upper()),
    "subresource": lambda req, mode: setattr(req, "query", _set_query(req.query, "partNumber", "8")),
    "added-subresource": lambda req, mode: req.query.append(("acl", "")),
    "oss-header": lambda req, mode: req.headers.__setitem__("x-oss-meta-author", "mallory"),
    "added-oss-header": lambda req, mode: req.headers.__setitem__("x-oss-meta-new", "1"),
    "security-token": lambda req, mode: (
        req.headers.__setitem__("x-oss-security-token", "other") if mode in ("v1", "v4")
        else setattr(req, "query", _set_query(
            req.query, "security-token" if mode == "v1-presign" else "x-oss-security-token", "other"))
    ),
    "content-type": lambda req, mode: req.headers.__setitem__("Content-Type", "text/html"),
    "content-md5": lambda req, mode: req.headers.__setitem__("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    "date": _tamper_date,
}


@pytest.mark.parametrize("mode", MODES)
def test_round_trip_ok(mode: str) -> None:
    result = sign(mode).verify()
    assert result.ok, result
    assert result.error_code is None
    assert result.access_key_id == AK
    assert result.signature_version == (1 if mode.startswith("v1") else 4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_is_detected(mode: str, tamper: str) -> None:
    req = sign(mode)
    assert req.verify().ok
    TAMPERS[tamper](req, mode)
    result = req.verify()
    assert not result.ok
    assert result.error_code == "SignatureDoesNotMatch", result
    assert result.string_to_sign
    assert result.access_key_id == AK


def test_v1_ignores_non_subresources_but_v4_signs_every_param() -> None:
    for mode, expect_ok in (("v1", True), ("v1-presign", True), ("v4", False), ("v4-presign", False)):
        req = sign(mode)
        req.query = _set_query(req.query, "max-parts", "6")
        req.query.append(("prefix", "p"))
        assert req.verify().ok is expect_ok, mode
    # headers outside the signed set are free to change in both versions
    for mode in MODES:
        req = sign(mode)
        req.headers["Content-Length"] = "11"
        req.headers["User-Agent"] = "x"
        assert req.verify().ok, mode


def test_mismatch_reports_the_server_string_to_sign() -> None:
    req = sign("v1")
    req.headers["x-oss-meta-author"] = "mallory"
    result = req.verify()
    assert result.error_code == "SignatureDoesNotMatch"
    assert result.string_to_sign == v1_string_to_sign(METHOD, BUCKET, KEY, req.query, req.headers)
    assert "x-oss-meta-author:mallory\n" in (result.string_to_sign or "")

    req4 = sign("v4")
    req4.headers["x-oss-meta-author"] = "mallory"
    result4 = req4.verify()
    assert result4.error_code == "SignatureDoesNotMatch"
    assert (result4.string_to_sign or "").startswith("OSS4-HMAC-SHA256\n" + req4.headers["x-oss-date"] + "\n")


@pytest.mark.parametrize("mode", MODES)
def test_unknown_key_id(mode: str) -> None:
    result = sign(mode, creds=Credentials("someone-else", SECRET)).verify()
    assert (result.ok, result.error_code, result.access_key_id) == (False, "InvalidAccessKeyId", "someone-else")


@pytest.mark.parametrize("mode", MODES)
def test_wrong_secret(mode: str) -> None:
    result = sign(mode, creds=Credentials(AK, SECRET + "x")).verify()
    assert result.error_code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("mode", ["v1", "v4"])
def test_clock_skew(mode: str) -> None:
    req = sign(mode)
    assert req.verify(now=NOW + 899).ok
    assert req.verify(now=NOW - 899).ok
    assert req.verify(now=NOW + 901).error_code == "RequestTimeTooSkewed"
    assert req.verify(now=NOW - 901).error_code == "RequestTimeTooSkewed"
    assert req.verify(now=NOW + 1000, max_skew=2000).ok


@pytest.mark.parametrize("mode", ["v1-presign", "v4-presign"])
def test_presign_expiry(mode: str) -> None:
    req = sign(mode)
    assert req.verify(now=NOW + 600).ok
    assert req.verify(now=NOW + 3600 * 24).error_code == "AccessDenied"
    assert "expired" in req.verify(now=NOW + 601).message


def test_presign_v4_expires_bounds() -> None:
    creds = Credentials(AK, SECRET)
    params = presign_v4("GET", BUCKET, KEY, [], {}, creds, REGION, 7 * 24 * 3600, now=NOW)
    assert verify_request("GET", BUCKET, KEY, params, {}, lookup, now=NOW + 6 * 24 * 3600).ok
    bad = _set_query(params, "x-oss-expires", str(8 * 24 * 3600))
    assert verify_request("GET", BUCKET, KEY, bad, {}, lookup, now=NOW).error_code == "AccessDenied"


def test_v1_x_oss_date_wins_over_date() -> None:
    headers: Dict[str, str] = {"Date": "Thu, 01 Jan 1970 00:00:00 GMT", "x-oss-date": "Sat, 16 Dec 2023 16:20:57 GMT"}
    sign_v1("GET", BUCKET, KEY, [], headers, Credentials(AK, SECRET), now=NOW)
    assert verify_request("GET", BUCKET, KEY, [], headers, lookup, now=NOW).ok


def test_has_signature() -> None:
    assert not has_signature([("uploads", None)], {"Host": "x"})
    assert has_signature([], {"authorization": "OSS a:b"})
    assert has_signature(sign("v1-presign").query, {})
    assert has_signature(sign("v4-presign").query, {})



@pytest.mark.parametrize("mode", ["v1", "v4"])
def test_missing_or_bad_date_is_access_denied(mode: str) -> None:
    req = sign(mode)
    name = "Date" if mode == "v1" else "x-oss-date"
    req.headers[name] = "yesterday-ish"
    assert req.verify().error_code == "AccessDenied"
    del req.headers[name]
    result = req.verify()
    assert (result.error_code, result.anonymous) == ("AccessDenied", False)


def test_presign_bad_fields_are_access_denied() -> None:
    v1 = sign("v1-presign")
    assert verify_request(METHOD, BUCKET, KEY, _set_query(v1.query, "Expires", "soon"), v1.headers, lookup,
                          now=NOW).error_code == "AccessDenied"
    v4 = sign("v4-presign")
    for name, value in (("x-oss-date", "2023-12-16"), ("x-oss-credential", "ak/only"),
                        ("x-oss-signature-version", "OSS2"), ("x-oss-expires", "-5")):
        result = verify_request(METHOD, BUCKET, KEY, _set_query(v4.query, name, value), v4.headers, lookup, now=NOW)
        assert result.error_code == "AccessDenied", name


def test_no_authentication_at_all() -> None:
    result = verify_request("GET", BUCKET, KEY, [("uploads", "")], {"Host": "x"}, lookup, now=NOW)
    assert (result.ok, result.error_code, result.anonymous) == (False, "AccessDenied", True)
    assert result.access_key_id is None and result.string_to_sign is None


@pytest.mark.parametrize("authorization", [
    "Basic dXNlcjpwYXNz",
    "OSS no-colon",
    "OSS4-HMAC-SHA256 Signature=abc",
    "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/wrong_terminator,Signature=abc",
    "OSS4-HMAC-SHA256Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=abc",
])
def test_malformed_authorization(authorization: str) -> None:
    headers = {"Authorization": authorization, "Date": "Sat, 16 Dec 2023 16:20:57 GMT",
               "x-oss-date": "20231216T162057Z"}
    result = verify_request("GET", BUCKET, KEY, [], headers, lookup, now=NOW)
    assert (result.ok, result.error_code, result.anonymous) == (False, "AccessDenied", False)


def _oss2_layout(authorization: str) -> str:
    """Rewrite v2's layout into oss2's: ', ' separators, AdditionalHeaders after Signature."""
    fields = dict(item.split("=", 1) for item in authorization[len("OSS4-HMAC-SHA256 "):].split(","))
    out = f"OSS4-HMAC-SHA256 Credential={fields['Credential']}, Signature={fields['Signature']}"
    if "AdditionalHeaders" in fields:
        out += f", AdditionalHeaders={fields['AdditionalHeaders']}"
    return out


@pytest.mark.parametrize("additional", [(), ("User-Agent", "x-oss-meta-author", "Content-Length")])
def test_both_v4_authorization_layouts(additional: Any) -> None:
    req = sign("v4", additional=additional)
    v2_layout = req.headers["Authorization"]
    if additional:
        assert ",AdditionalHeaders=content-length,Signature=" in v2_layout
    assert req.verify().ok
    req.headers["Authorization"] = _oss2_layout(v2_layout)
    assert req.headers["Authorization"] != v2_layout and ", Signature=" in req.headers["Authorization"]
    assert req.verify().ok
    if additional:
        req.headers["Content-Length"] = "11"  # now part of the signature
        assert req.verify().error_code == "SignatureDoesNotMatch"


def test_v4_presign_additional_headers_are_signed() -> None:
    req = sign("v4-presign", additional=["Content-Length"])
    assert dict(req.query)["x-oss-additional-headers"] == "content-length"
    assert req.verify().ok
    req.headers["Content-Length"] = "99"
    assert req.verify().error_code == "SignatureDoesNotMatch"


def test_v4_region_and_scope_checks() -> None:
    req = sign("v4")
    assert req.verify(region=REGION).ok
    assert req.verify(region="us-west-1").error_code == "InvalidArgument"
    assert req.verify(region="us-west-1").ec == "0002-00000226"
    presigned = sign("v4-presign")
    assert presigned.verify(region="us-west-1").error_code == "InvalidArgument"
    # the scope date must be the day of x-oss-date
    req.headers["Authorization"] = req.headers["Authorization"].replace("/20231216/", "/20231215/")
    assert req.verify().error_code == "AccessDenied"


def test_v4_other_region_and_product_verify_from_scope() -> None:
    creds = Credentials(AK, SECRET)
    headers: Dict[str, str] = {}
    sign_v4("GET", BUCKET, None, [], headers, creds, "cb-123", product="oss-cloudbox", now=NOW)
    assert "/cb-123/oss-cloudbox/aliyun_v4_request," in headers["Authorization"]
    assert verify_request("GET", BUCKET, None, [], headers, lookup, now=NOW).ok
    assert verify_request("GET", BUCKET, "k", [], headers, lookup, now=NOW).error_code == "SignatureDoesNotMatch"



def test_headers_are_case_insensitive_and_any_mapping() -> None:
    for mode in MODES:
        req = sign(mode)
        raw = "".join(f"{name.upper()}: {value}\r\n" for name, value in req.headers.items()) + "\r\n"
        message = email.parser.Parser().parsestr(raw)
        result = verify_request(req.method, BUCKET, req.key, req.query, message, lookup, now=NOW)
        assert result.ok, (mode, result)



# ---------------------------------------------------------------------------
# secrets


def test_verify_messages_never_contain_secrets() -> None:
    results: List[VerifyResult] = []
    for mode in MODES:
        results.append(sign(mode).verify())
        results.append(sign(mode).verify(now=NOW + 10**6))
        results.append(sign(mode, creds=Credentials(AK, SECRET + "x", TOKEN)).verify())
        results.append(sign(mode, creds=Credentials("other", SECRET, TOKEN)).verify())
        for tamper in TAMPERS.values():
            req = sign(mode)
            tamper(req, mode)
            results.append(req.verify(region="elsewhere"))
            results.append(req.verify())
    assert {r.error_code for r in results} == {
        None, "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "InvalidArgument"}
    for result in results:
        assert SECRET not in result.message and TOKEN not in result.message
        assert SECRET not in repr(result)


# ---------------------------------------------------------------------------
# property tests: sign, send over the "wire", parse like the emulator, verify

key_text = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from("/%+ ?#&=~")),
    min_size=1, max_size=40,
)
_RESERVED = {"Signature", "OSSAccessKeyId", "Expires", "security-token"}
param_name = st.one_of(
    st.sampled_from(sorted(SUBRESOURCES - {"security-token"}) + ["max-parts", "prefix", "encoding-type"]),
    st.text(min_size=1, max_size=12).filter(lambda n: n not in _RESERVED and not n.lower().startswith("x-oss-")),
)
param_value = st.one_of(st.none(), st.just(""), st.text(max_size=16))
query_strategy = st.lists(st.tuples(param_name, param_value), max_size=6)


def _over_the_wire(key: str, query: Query) -> tuple[str, Query]:
    """Encode as a client would, then decode as the emulator does."""
    path = quote(f"/{BUCKET}/{key}", safe="/")
    wire_query = encode_query(query)
    _, _, decoded_key = unquote(path).lstrip("/").partition("/")
    return decoded_key, [(k, v) for k, v in parse_qsl(wire_query, keep_blank_values=True)]


@settings(max_examples=60, deadline=None)
@given(key=key_text, query=query_strategy, mode=st.sampled_from(MODES), method=st.sampled_from(["GET", "PUT", "POST"]))
def test_property_sign_then_verify(key: str, query: Query, mode: str, method: str) -> None:
    creds = Credentials(AK, SECRET, TOKEN)
    headers = {"Content-Type": "application/octet-stream", "x-oss-meta-k": "v"}
    query = list(query)
    if mode == "v1":
        sign_v1(method, BUCKET, key, query, headers, creds, now=NOW)
    elif mode == "v4":
        sign_v4(method, BUCKET, key, query, headers, creds, REGION, now=NOW)
    elif mode == "v1-presign":
        query += presign_v1(method, BUCKET, key, query, headers, creds, 60, now=NOW)
    else:
        query += presign_v4(method, BUCKET, key, query, headers, creds, REGION, 60, now=NOW)
    wire_key, wire_query = _over_the_wire(key, query)
    assert wire_key == key
    result = verify_request(method, BUCKET, wire_key, wire_query, headers, lookup, now=NOW)
    assert result.ok, result
    for other_key in {key + "x", "x" + key, key[:-1] or "y"} - {key}:
        changed = verify_request(method, BUCKET, other_key, wire_query, headers, lookup, now=NOW)
        assert changed.error_code == "SignatureDoesNotMatch"
