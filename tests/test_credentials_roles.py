"""RAM role ARN and OIDC role ARN end to end over real HTTP: the STS stand-in
verifies the RPC signature and issues expiring keys, the emulator honours their
expiry, and a transfer that outlasts its tokens renews them and succeeds."""
from __future__ import annotations

import os

import pytest
from helpers import make_file

import ossresume_c as oss
from ossresume_c.credentials import NoCredentialsError, default_chain
from ossresume_c.credentials.base import ExpiringCredentials

KB = 1024
ROLE = "acs:ram::1234567890:role/ossresume-test"


def role_ini(tmp_path, monkeypatch, emu, secret=None, extra=""):
    path = tmp_path / "credentials.ini"
    path.write_text(f"[default]\ntype = ram_role_arn\naccess_key_id = {emu.access_key_id}\n"
                    f"access_key_secret = {secret or emu.access_key_secret}\nrole_arn = {ROLE}\n"
                    f"role_session_name = test\n{extra}")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return path


def upload(emu, options, tmp_path, size=300 * KB, part=100 * KB, threads=2, key="obj"):
    path = make_file(tmp_path / f"{key}.bin", size, seed=7)
    params = oss.create_resumable_clt_params(part, threads, True, None)
    return oss.resumable_upload_file(options, emu.bucket, key, path, clt_params=params)


def test_assume_role_from_the_credentials_file(oss_emulator, sts_standin, tmp_path, monkeypatch):
    role_ini(tmp_path, monkeypatch, oss_emulator)
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    creds = options.config.credentials()
    assert creds.access_key_id.startswith("STS.") and creds.security_token
    status = upload(oss_emulator, options, tmp_path)
    assert status.is_ok(), status
    assert sts_standin.count("AssumeRole") == 1      # one token serves the whole upload


def test_a_wrong_secret_is_refused_by_the_rpc_signature_check(oss_emulator, sts_standin, tmp_path, monkeypatch):
    role_ini(tmp_path, monkeypatch, oss_emulator, secret="not-the-secret")
    with pytest.raises(NoCredentialsError) as info:
        default_chain()()
    text = str(info.value)
    assert "STS AssumeRole" in text and "HTTP 400 SignatureDoesNotMatch" in text
    assert "not-the-secret" not in text


def test_assume_role_with_oidc_from_the_environment(oss_emulator, sts_standin, tmp_path, monkeypatch):
    token_file = tmp_path / "oidc-token"
    token_file.write_text("eyJ.oidc.token\n")
    sts_standin.oidc_token = "eyJ.oidc.token"
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1234567890:oidc-provider/ack")
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token_file))
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    status = upload(oss_emulator, options, tmp_path)
    assert status.is_ok(), status
    assert sts_standin.count("AssumeRoleWithOIDC") == 1
    token_file.write_text("rotated-but-wrong")
    sts_standin.oidc_token = "something-else"
    with pytest.raises(NoCredentialsError, match="AuthenticationFail.OIDCToken.Invalid"):
        default_chain()()


def test_oidc_profile_of_the_aliyun_cli(oss_emulator, sts_standin, tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("tok")
    (tmp_path / ".aliyun").mkdir()
    (tmp_path / ".aliyun" / "config.json").write_text(
        '{"current": "ci", "profiles": [{"name": "ci", "mode": "OIDC", "ram_role_arn": "%s", '
        '"oidc_provider_arn": "acs:ram::1:oidc-provider/x", "oidc_token_file": "%s"}]}' % (ROLE, token_file))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED")
    monkeypatch.delenv("OSS_ACCESS_KEY_ID", raising=False)
    creds = default_chain()()
    assert creds.access_key_id.startswith("STS.") and sts_standin.count("AssumeRoleWithOIDC") == 1


def test_expired_token_is_refused_by_the_emulator_and_the_checkpoint_survives(
        oss_emulator, sts_standin, tmp_path, monkeypatch):
    sts_standin.lifetime = 2
    role_ini(tmp_path, monkeypatch, oss_emulator)
    first = default_chain()()
    assert isinstance(first, ExpiringCredentials)
    # the first STS token, never renewed; parts are slow enough to outlive it
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region,
                                         credentials_provider=lambda: first)
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.6)
    status = upload(oss_emulator, options, tmp_path, size=600 * KB, threads=1, key="expires")
    assert (status.code, status.error_code) == (403, "SecurityTokenExpired"), status
    assert os.path.exists(tmp_path / "expires.bin.ucp")
    oss_emulator.clear_faults()
    renewing = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    status = upload(oss_emulator, renewing, tmp_path, size=600 * KB, threads=1, key="expires")
    assert status.is_ok(), status


def test_a_transfer_longer_than_its_tokens_renews_them_and_succeeds(
        oss_emulator, sts_standin, tmp_path, monkeypatch):
    """4-second tokens, an upload of at least 12 rounds of 0.5 s (24 parts, 2 threads):
    without renewal it must fail."""
    sts_standin.lifetime = 4
    role_ini(tmp_path, monkeypatch, oss_emulator)
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    chain = options.config.credentials_source()
    used = set()

    def recording():
        creds = chain()
        used.add(creds.access_key_id)
        return creds
    options.config.credentials_provider = recording
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.5)
    status = upload(oss_emulator, options, tmp_path, size=2400 * KB, threads=2, key="long")
    assert status.is_ok(), status
    assert len(used) >= 2 and sts_standin.count("AssumeRole") == len(used)
    errors = [e for e in oss_emulator.request_log() if e.get("error_code")]
    assert errors == []


def test_token_expired_at_the_server_before_our_clock_says_so_is_renewed_and_resent(
        oss_emulator, sts_standin, tmp_path, monkeypatch):
    """A client clock an hour behind never renews on its own; the server's
    SecurityTokenExpired makes the transport renew and send the request again."""
    import time

    from ossresume_c.credentials import roles
    from ossresume_c.credentials.base import fixed
    from ossresume_c.auth import Credentials
    sts_standin.lifetime = 2
    source = fixed(Credentials(oss_emulator.access_key_id, oss_emulator.access_key_secret), "test")
    provider = roles.ram_role_arn(source, ROLE, "test")
    provider.clock = lambda: time.time() - 3600
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region,
                                         credentials_provider=provider)
    oss_emulator.add_fault(op="UploadPart", action="delay", seconds=0.5)
    status = upload(oss_emulator, options, tmp_path, size=1200 * KB, threads=1, key="skewed")
    assert status.is_ok(), status
    expired = [e for e in oss_emulator.request_log() if e.get("error_code") == "SecurityTokenExpired"]
    assert expired and sts_standin.count("AssumeRole") == len(expired) + 1
