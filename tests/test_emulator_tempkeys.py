"""Temporary keys: derived from the emulator's secret, expiry carried in the key id."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ossresume_c.credentials.base import parse_expiration
from ossresume_c.emulator import tempkeys


@given(st.floats(min_value=1, max_value=1e6), st.floats(min_value=1e9, max_value=2e9))
def test_issued_keys_check_out_until_their_expiry(lifetime, now):
    creds = tempkeys.issue("master", lifetime, now)
    ak, token = creds["AccessKeyId"], creds["SecurityToken"]
    expiry = tempkeys.expiry_of(ak)
    assert expiry == parse_expiration(creds["Expiration"], "t") and now + lifetime <= expiry < now + lifetime + 1
    assert tempkeys.secret_for("master", ak) == creds["AccessKeySecret"]
    assert tempkeys.token_check("master", ak, token, now) is None
    assert tempkeys.token_check("master", ak, token, expiry) == tempkeys.EXPIRED
    assert tempkeys.token_check("master", ak, token + "x", now) == tempkeys.INVALID
    assert tempkeys.token_check("master", ak, None, now) == tempkeys.INVALID
    assert tempkeys.token_check("other", ak, token, now) == tempkeys.INVALID


def test_long_term_keys_are_not_temporary():
    assert tempkeys.secret_for("master", "ossresume-emulator-ak") is None
    assert tempkeys.token_check("master", "ossresume-emulator-ak", None) is None
    assert tempkeys.expiry_of("STS.notanumber.x") is None


def test_token_found_in_headers_or_presigned_query():
    assert tempkeys.presented_token([], {"X-Oss-Security-Token": " t1 "}) == "t1"
    assert tempkeys.presented_token([("security-token", "t2")], {}) == "t2"
    assert tempkeys.presented_token([("x-oss-security-token", "t3")], {}) == "t3"
    assert tempkeys.presented_token([], {}) is None
