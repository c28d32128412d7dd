"""The STS RPC signature: RFC 3986 encoding, order independence, tamper detection."""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.credentials import rpcsign

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
params = st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyzABC", min_size=1, max_size=8), texts,
                         min_size=1, max_size=8)


def test_encoding_follows_rfc3986():
    assert rpcsign.percent_encode("a b*c~d/e+f") == "a%20b%2Ac~d%2Fe%2Bf"
    assert rpcsign.percent_encode("中") == "%E4%B8%AD"


def test_string_to_sign_layout():
    text = rpcsign.string_to_sign("get", {"Version": "2015-04-01", "Action": "AssumeRole",
                                          "Signature": "ignored"})
    assert text == "GET&%2F&Action%3DAssumeRole%26Version%3D2015-04-01"


def test_signature_is_hmac_sha1_with_the_ampersand_key():
    text = "GET&%2F&Action%3DAssumeRole"
    expected = base64.b64encode(hmac.new(b"secret&", text.encode(), hashlib.sha1).digest()).decode()
    assert rpcsign.signature("secret", text) == expected


@given(texts)
def test_encoding_round_trips(value):
    encoded = rpcsign.percent_encode(value)
    assert unquote(encoded) == value
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%")


@given(params, st.randoms())
def test_order_of_parameters_does_not_matter(values, rnd):
    items = list(values.items())
    rnd.shuffle(items)
    assert rpcsign.sign("GET", dict(items), "sk") == rpcsign.sign("GET", values, "sk")


@given(params, st.text(min_size=1, max_size=5))
def test_any_change_is_detected(values, extra):
    signed = dict(values, Signature=rpcsign.sign("GET", values, "sk"))
    assert rpcsign.verify("GET", signed, "sk")
    assert not rpcsign.verify("GET", signed, "other")
    name = next(iter(values))
    assert not rpcsign.verify("GET", dict(signed, **{name: values[name] + extra}), "sk")
