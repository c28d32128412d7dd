"""The credentials-URI source against its stand-in, end to end at the emulator."""
from __future__ import annotations

import pytest
from helpers import make_file

import ossresume_c as oss
from ossresume_c.credentials import NoCredentialsError, default_chain


def test_uri_credentials_sign_an_upload(oss_emulator, uri_standin, tmp_path, monkeypatch):
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    path = make_file(tmp_path / "f.bin", 150 * 1024, seed=4)
    status = oss.resumable_upload_file(options, oss_emulator.bucket, "uri", path,
                                       clt_params=oss.create_resumable_clt_params(100 * 1024, 2))
    assert status.is_ok(), status
    assert uri_standin.calls == [("GET", "/credentials")]


def test_uri_failure_is_reported_with_its_status(uri_standin, monkeypatch):
    monkeypatch.delenv("OSS_ACCESS_KEY_ID", raising=False)
    uri_standin.fail_with = 503
    with pytest.raises(NoCredentialsError, match="credentials URI .*/credentials: HTTP 503 Unavailable"):
        default_chain()()
