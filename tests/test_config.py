import logging

import pytest

import ossresume_c as oss
from ossresume_c.config import Endpoint

SECRET = "S3cr3tValue-do-not-leak"
TOKEN = "T0kenValue-do-not-leak"


def test_keyword_options_and_defaults():
    o = oss.request_options_create(endpoint="oss-cn-hangzhou.aliyuncs.com", access_key_id="AKID1234",
                                   access_key_secret=SECRET, max_retries=5, enable_md5=True)
    assert o.config.signature_version == 4 and o.ctl.enable_crc and o.ctl.enable_md5
    assert o.ctl.max_retries == 5 and o.ctl.verify is True
    with pytest.raises(TypeError):
        oss.request_options_create(no_such_option=1)


def test_c_style_building():
    options = oss.request_options_create()
    options.config = oss.config_create()
    options.config.endpoint = "https://oss-cn-hangzhou.aliyuncs.com"
    options.ctl = oss.http_controller_create()
    assert oss.http_io_initialize() == 0
    oss.http_io_deinitialize()
    assert options.config.endpoint_parts() == Endpoint("https", "oss-cn-hangzhou.aliyuncs.com", None)


@pytest.mark.parametrize("text,expect", [
    ("127.0.0.1:9000", Endpoint("http", "127.0.0.1", 9000)),
    ("http://127.0.0.1", Endpoint("http", "127.0.0.1", None)),
    ("https://oss.example.com:8443/", Endpoint("https", "oss.example.com", 8443)),
    ("[::1]:80", Endpoint("http", "::1", 80)),
])
def test_endpoint_forms(text, expect):
    assert Endpoint.parse(text) == expect


@pytest.mark.parametrize("bad", ["", "ftp://x", "http://"])
def test_bad_endpoint(bad):
    with pytest.raises(ValueError):
        Endpoint.parse(bad)


def test_credentials_from_environment(monkeypatch):
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "envak")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", SECRET)
    monkeypatch.setenv("OSS_SESSION_TOKEN", TOKEN)
    creds = oss.config_create(endpoint="x").credentials()
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == ("envak", SECRET, TOKEN)


def test_secrets_never_in_reprs_or_logs(caplog):
    o = oss.request_options_create(endpoint="127.0.0.1:1", access_key_id="AKIDVISIBLE",
                                   access_key_secret=SECRET, sts_token=TOKEN,
                                   proxy="http://user:" + SECRET + "@proxy:3128")
    caplog.set_level(logging.DEBUG, logger="ossresume_c")
    text = repr(o) + str(o.config) + repr(o.ctl) + repr(o.config.credentials())
    logging.getLogger("ossresume_c").debug("options %s %r", o, o)
    text += caplog.text
    assert SECRET not in text and TOKEN not in text
    assert "AKID" in text
