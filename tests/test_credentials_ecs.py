"""The ECS RAM role source against the metadata stand-in: token-protected mode
first, the plain mode as a fallback, and the role's expiring keys at the emulator."""
from __future__ import annotations

import pytest
from helpers import make_file

import ossresume_c as oss
from ossresume_c.credentials import CredentialsError, NoCredentialsError, default_chain
from ossresume_c.credentials.ecs import EcsRamRoleProvider

TOKEN = ("PUT", "/latest/api/token")
ROLES = ("GET", "/latest/meta-data/ram/security-credentials/")


@pytest.fixture
def no_env_keys(monkeypatch):
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_token_mode_first_then_the_role(oss_emulator, metadata_standin, no_env_keys, tmp_path):
    options = oss.request_options_create(endpoint=oss_emulator.endpoint, region=oss_emulator.region)
    path = make_file(tmp_path / "f.bin", 250 * 1024, seed=3)
    status = oss.resumable_upload_file(options, oss_emulator.bucket, "ecs", path,
                                       clt_params=oss.create_resumable_clt_params(100 * 1024, 2))
    assert status.is_ok(), status
    role = metadata_standin.role_name
    assert metadata_standin.calls[:3] == [TOKEN, ROLES, ("GET", ROLES[1] + role)]


def test_role_name_from_the_environment_skips_the_lookup(metadata_standin, no_env_keys, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", metadata_standin.role_name)
    assert default_chain()().access_key_id.startswith("STS.")
    assert ROLES not in metadata_standin.calls and metadata_standin.calls[0] == TOKEN


def test_old_service_without_tokens_falls_back_unless_disabled(metadata_standin, no_env_keys, monkeypatch):
    metadata_standin.token_mode = False
    metadata_standin.require_token = False
    assert EcsRamRoleProvider()().access_key_id.startswith("STS.")
    monkeypatch.setenv("ALIBABA_CLOUD_IMDSV1_DISABLED", "true")
    with pytest.raises(CredentialsError, match="ECS metadata token: HTTP 404"):
        EcsRamRoleProvider()()


def test_token_protected_service_refuses_plain_requests(metadata_standin):
    import requests
    reply = requests.get(metadata_standin.endpoint + ROLES[1], timeout=5)
    assert reply.status_code == 401


def test_unreachable_service_is_absent_not_fatal(no_env_keys, monkeypatch):
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")   # endpoint stays 127.0.0.1:9
    with pytest.raises(NoCredentialsError, match="ECS metadata token: cannot reach http://127.0.0.1:9"):
        default_chain()()


def test_loopback_guard_refuses_the_real_address(no_env_keys, monkeypatch):
    monkeypatch.delenv("OSSRESUME_ECS_METADATA_ENDPOINT")        # would be 100.100.100.200
    with pytest.raises(CredentialsError, match="refusing to contact 100.100.100.200"):
        EcsRamRoleProvider()()


def test_ini_profile_of_type_ecs_ram_role(metadata_standin, tmp_path, monkeypatch):
    path = tmp_path / "c.ini"
    path.write_text(f"[default]\ntype = ecs_ram_role\nrole_name = {metadata_standin.role_name}\n")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    assert default_chain("default")().security_token
