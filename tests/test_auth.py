"""Tests for ossresume_c.auth: the official vectors, the signing rules, and that
credentials keep their secrets out of text."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

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
    v4_canonical_request,
    v4_scope,
    v4_signing_key,
    v4_string_to_sign,
)

VECTORS: Dict[str, Any] = json.loads((Path(__file__).parent / "data" / "signing.json").read_text())
VECTOR_CREDS = Credentials("ak", "sk")

SECRET = "s3cr3t-Zq9vXkT7"
TOKEN = "sts-t0ken-Wm4pRr2"
AK = "LTAI-test-key"
REGION = "cn-hangzhou"
NOW = 1_702_743_657.0


def as_query(pairs: List[List[str]]) -> Query:
    return [(name, value) for name, value in pairs]


# ---------------------------------------------------------------------------
# official vectors


@pytest.mark.parametrize("vector", VECTORS["v1_header"], ids=lambda v: v["expect"])
def test_v1_header_vectors(vector: Dict[str, Any]) -> None:
    query = as_query(vector["query"])
    if "string_to_sign" in vector:
        sts = v1_string_to_sign(vector["method"], vector["bucket"], vector["key"], query, vector["headers"])
        assert sts == vector["string_to_sign"]
    headers = dict(vector["headers"])
    sign_v1(vector["method"], vector["bucket"], vector["key"], query, headers, VECTOR_CREDS)
    assert headers["Authorization"] == vector["expect"]
    assert "Date" not in headers  # x-oss-date was given, so no Date is added


def test_v1_presign_vector() -> None:
    vector = VECTORS["v1_presign"][0]
    query = as_query(vector["query"])
    sts = v1_string_to_sign(
        vector["method"], vector["bucket"], vector["key"], query, {}, date=str(vector["expires"])
    )
    assert sts == vector["string_to_sign"]
    params = presign_v1(
        vector["method"], vector["bucket"], vector["key"], query, {}, VECTOR_CREDS,
        expires=100, now=vector["expires"] - 100,
    )
    assert params == [
        ("OSSAccessKeyId", "ak"),
        ("Expires", str(vector["expires"])),
        ("Signature", vector["expect_signature"]),
    ]


def _v4_common() -> Dict[str, Any]:
    return copy.deepcopy(VECTORS["v4_common"])


def _sign_v4_vector(vector: Dict[str, Any], additional: Any = None) -> Dict[str, str]:
    common = _v4_common()
    headers: Dict[str, str] = common["headers"]
    creds = Credentials("ak", "sk", vector.get("security_token"))
    sign_v4(
        common["method"], common["bucket"], common["key"], as_query(common["query"]), headers, creds,
        vector["region"], vector["product"], now=vector["time"],
        additional_headers=vector.get("additional_headers", ()) if additional is None else additional,
    )
    return headers


def _signature_of(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1]


@pytest.mark.parametrize("vector", VECTORS["v4_header"], ids=lambda v: str(v["time"]) + v["product"])
def test_v4_header_vectors(vector: Dict[str, Any]) -> None:
    headers = _sign_v4_vector(vector)
    if vector.get("security_token"):
        assert headers["x-oss-security-token"] == vector["security_token"]
    if "expect" in vector:
        assert headers["Authorization"] == vector["expect"]
    else:
        assert _signature_of(headers["Authorization"]) == vector["expect_signature"]
        scope = v4_scope(headers["x-oss-date"][:8], vector["region"], vector["product"])
        assert headers["Authorization"].startswith(f"OSS4-HMAC-SHA256 Credential=ak/{scope},Signature=")


def test_v4_vector_intermediate_values() -> None:
    vector = VECTORS["v4_header"][0]
    common = _v4_common()
    headers = _sign_v4_vector(vector)
    stamp = headers["x-oss-date"]
    assert stamp == "20231216T162057Z"
    canonical = v4_canonical_request(
        common["method"], common["bucket"], common["key"], as_query(common["query"]), headers
    )
    assert canonical == vector["canonical_request"]
    sts = v4_string_to_sign(canonical, stamp, v4_scope(stamp[:8], vector["region"], vector["product"]))
    assert sts == vector["string_to_sign"]
    assert v4_signing_key("sk", stamp[:8], vector["region"], vector["product"]).hex() == vector["signing_key_hex"]


def test_v4_additional_headers_note_variant() -> None:
    vector = VECTORS["v4_header"][2]
    assert "_note" in vector
    headers = _sign_v4_vector(vector, additional=["x-oss-no-exist", "ZAbc", "x-oss-head1", "abc"])
    assert headers["Authorization"] == vector["expect"]


def test_v4_presign_vector() -> None:
    vector = VECTORS["v4_presign"][0]
    common = _v4_common()
    headers = dict(vector["headers"])
    params = presign_v4(
        common["method"], common["bucket"], common["key"], as_query(common["query"]), headers,
        VECTOR_CREDS, vector["region"], vector["expires"], vector["product"], now=vector["time"],
    )
    assert headers == vector["headers"]  # presigning leaves the headers alone
    got = dict(params)
    assert got["x-oss-signature"] == vector["expect_signature"]
    assert got["x-oss-expires"] == "599"
    assert got["x-oss-signature-version"] == "OSS4-HMAC-SHA256"
    assert got["x-oss-credential"] == "ak/" + v4_scope(got["x-oss-date"][:8], "cn-hangzhou", "oss")


# ---------------------------------------------------------------------------
# signing rules (verification is tested with the emulator: test_emulator_verify.py)

METHOD = "PUT"
BUCKET = "bucket"
KEY = "dir/中文 a+b%20=c.bin"


def test_presign_v4_expires_bounds() -> None:
    creds = Credentials(AK, SECRET)
    with pytest.raises(ValueError):
        presign_v4("GET", BUCKET, KEY, [], {}, creds, REGION, 0, now=NOW)
    with pytest.raises(ValueError):
        presign_v4("GET", BUCKET, KEY, [], {}, creds, REGION, 7 * 24 * 3600 + 1, now=NOW)
    params = dict(presign_v4("GET", BUCKET, KEY, [], {}, creds, REGION, 7 * 24 * 3600, now=NOW))
    assert params["x-oss-expires"] == str(7 * 24 * 3600)


def test_v1_date_rules() -> None:
    creds = Credentials(AK, SECRET)
    headers: Dict[str, str] = {}
    sign_v1("GET", BUCKET, KEY, [], headers, creds, now=NOW)
    assert headers["Date"] == "Sat, 16 Dec 2023 16:20:57 GMT"
    assert "x-oss-security-token" not in headers
    # x-oss-date wins over Date in the string to sign
    both = {"Date": "Thu, 01 Jan 1970 00:00:00 GMT", "x-oss-date": headers["Date"]}
    assert v1_string_to_sign("GET", BUCKET, KEY, [], both).split("\n")[3] == headers["Date"]
    sign_v1("GET", BUCKET, KEY, [], both, creds, now=NOW)
    assert both["Date"] == "Thu, 01 Jan 1970 00:00:00 GMT"  # an existing Date is kept
    # a lower-case "date" counts as Date
    lower = {"date": headers["Date"]}
    sign_v1("GET", BUCKET, KEY, [], lower, creds, now=NOW)
    assert list(lower) == ["date", "Authorization"]


def test_sign_v4_sets_headers() -> None:
    headers: Dict[str, str] = {"X-OSS-Date": "stale"}
    sign_v4("GET", BUCKET, KEY, [], headers, Credentials(AK, SECRET, TOKEN), REGION, now=NOW)
    assert headers["x-oss-date"] == "20231216T162057Z" and "X-OSS-Date" not in headers
    assert headers["x-oss-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert headers["x-oss-security-token"] == TOKEN
    assert "Date" not in headers
    assert headers["Authorization"].startswith(f"OSS4-HMAC-SHA256 Credential={AK}/20231216/{REGION}/oss/")

def test_canonical_resources_without_key_or_bucket() -> None:
    assert v1_string_to_sign("GET", "b", None, [("uploads", "")], {}).endswith("\n/b/?uploads")
    assert v1_string_to_sign("GET", None, None, [], {}).endswith("\n/")
    assert v4_canonical_request("GET", "b", None, [], {}).split("\n")[1] == "/b/"
    assert v4_canonical_request("GET", None, None, [], {}).split("\n")[1] == "/"
    assert v4_canonical_request("GET", "b", "a b/ü+~", [], {}).split("\n")[1] == "/b/a%20b/%C3%BC%2B~"


def test_flags_none_and_empty_sign_the_same() -> None:
    for query in ([("uploads", None)], [("uploads", "")]):
        assert v1_string_to_sign("POST", "b", "k", query, {}).endswith("/b/k?uploads")
        assert v4_canonical_request("POST", "b", "k", query, {}).split("\n")[2] == "uploads"
    assert encode_query([("uploads", None), ("encoding-type", "url"), ("x", "")]) == "uploads&encoding-type=url&x="
    assert encode_query([("a b", "c/d+e&f")]) == "a%20b=c%2Fd%2Be%26f"


def test_subresources_list() -> None:
    for name in ("uploads", "uploadId", "partNumber", "security-token", "response-content-type",
                 "response-content-disposition", "x-oss-process", "callback-var", "resourceGroup"):
        assert name in SUBRESOURCES
    for name in ("max-parts", "part-number-marker", "encoding-type", "prefix", "delimiter",
                 "key-marker", "upload-id-marker", "max-uploads", "Signature", "OSSAccessKeyId", "Expires"):
        assert name not in SUBRESOURCES


def test_signing_key_is_cached() -> None:
    v4_signing_key.cache_clear()
    for _ in range(3):
        sign_v4(METHOD, BUCKET, KEY, [], {}, Credentials(AK, SECRET), REGION, now=NOW)
    info = v4_signing_key.cache_info()
    assert info.misses == 1 and info.hits == 2


# ---------------------------------------------------------------------------
# secrets


def test_credentials_hide_secrets() -> None:
    creds = Credentials(AK, SECRET, TOKEN)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert AK in text and "***" in text
        assert SECRET not in text and TOKEN not in text
    assert Credentials(AK, SECRET) == Credentials(AK, SECRET, None)
    assert "security_token" not in repr(Credentials(AK, SECRET))
