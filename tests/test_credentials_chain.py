"""The default chain over local sources (environment and the three profile files):
order, profile selection, and errors that say where and what to do."""
from __future__ import annotations

import json
import time

import pytest

import ossresume_c as oss
from ossresume_c.credentials import CredentialsError, NoCredentialsError, default_chain
from ossresume_c.credentials.base import format_expiration


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home directory of our own with every local source switched on."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "ALIBABA_CLOUD_CREDENTIALS_FILE",
                 "OSSUTIL_CONFIG_FILE", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cli_config(home, profiles, current="default"):
    return write(home / ".aliyun" / "config.json", json.dumps({"current": current, "profiles": profiles}))


def ini(home, text):
    return write(home / ".alibabacloud" / "credentials.ini", text)


def keys(creds):
    return creds.access_key_id, creds.access_key_secret, creds.security_token


def test_nothing_found_lists_every_place_in_order(home):
    with pytest.raises(NoCredentialsError) as info:
        default_chain()()
    text = str(info.value)
    order = ["explicit keys", "environment", "OIDC role", "aliyun CLI profile", "credentials file",
             "ossutil config", "ECS RAM role", "credentials URI"]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions), text
    assert str(home / ".aliyun" / "config.json") in text and "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true" in text
    assert "Set OSS_ACCESS_KEY_ID" in text


def test_environment_names_official_first_then_oss(home, monkeypatch):
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "oss-ak")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "oss-sk")
    assert keys(default_chain()()) == ("oss-ak", "oss-sk", None)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "ali-ak")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ali-sk")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "ali-tok")
    assert keys(default_chain()()) == ("ali-ak", "ali-sk", "ali-tok")
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")     # half a pair is not mixed with the other
    assert keys(default_chain()()) == ("oss-ak", "oss-sk", None)


def test_order_environment_then_cli_then_ini_then_ossutil(home, monkeypatch):
    write(home / ".ossutilconfig", "[Credentials]\nendpoint = oss-cn-hangzhou.aliyuncs.com\n"
                                   "accessKeyID = util-ak\naccessKeySecret = util-sk\n")
    assert keys(default_chain()())[0] == "util-ak"
    ini(home, "[default]\nenable = true\ntype = access_key\naccess_key_id = ini-ak\naccess_key_secret = ini-sk\n")
    assert keys(default_chain()())[0] == "ini-ak"
    cli_config(home, [{"name": "default", "mode": "AK", "access_key_id": "cli-ak", "access_key_secret": "cli-sk"}])
    assert keys(default_chain()())[0] == "cli-ak"
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "env-ak")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "env-sk")
    assert keys(default_chain()())[0] == "env-ak"
    options = oss.request_options_create(endpoint="127.0.0.1:1", access_key_id="explicit", access_key_secret="x")
    assert options.config.credentials().access_key_id == "explicit"


def test_profile_selection(home, monkeypatch):
    cli_config(home, [{"name": "default", "mode": "AK", "access_key_id": "a1", "access_key_secret": "s"},
                      {"name": "dev", "mode": "StsToken", "access_key_id": "a2", "access_key_secret": "s",
                       "sts_token": "t2"}], current="dev")
    assert keys(default_chain()()) == ("a2", "s", "t2")                 # 'current'
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "default")
    assert keys(default_chain()())[0] == "a1"
    ini(home, "[prod]\ntype = sts\naccess_key_id = a3\naccess_key_secret = s3\nsecurity_token = t3\n")
    assert keys(default_chain("prod")()) == ("a3", "s3", "t3")           # --profile beats the env
    options = oss.request_options_create(endpoint="127.0.0.1:1", profile="prod")
    assert options.config.credentials().access_key_id == "a3"
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "env-ak")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "env-sk")
    assert keys(default_chain("prod")())[0] == "a3"                      # an explicit profile only reads files
    with pytest.raises(NoCredentialsError, match="no \\[nope\\] section"):
        default_chain("nope")()


def test_ossutil_v2_profile_sections(home):
    write(home / ".ossutilconfig", "[default]\naccessKeyId = d-ak\naccessKeySecret = d-sk\nregion = cn-hangzhou\n"
                                   "[profile dev]\naccess-key-id = dev-ak\naccess-key-secret = dev-sk\n")
    assert keys(default_chain()())[0] == "d-ak"
    assert keys(default_chain("dev")())[0] == "dev-ak"


def test_disabled_ini_section_is_skipped(home):
    ini(home, "[default]\nenable = false\ntype = access_key\naccess_key_id = a\naccess_key_secret = s\n")
    with pytest.raises(NoCredentialsError, match="enable = false"):
        default_chain()()


def test_malformed_ini_names_the_file_and_line(home):
    path = ini(home, "[default]\ntype = access_key\nthis line is broken\n")
    with pytest.raises(NoCredentialsError) as info:
        default_chain()()
    assert f"{path}, line 3: malformed INI" in str(info.value)
    path = ini(home, "type = access_key\n")
    with pytest.raises(NoCredentialsError, match="line 1: malformed INI \\(a key before any \\[section\\]\\)"):
        default_chain()()


def test_malformed_json_names_the_file_and_line(home):
    path = write(home / ".aliyun" / "config.json", '{\n  "current": "default",\n  "profiles": [,]\n}\n')
    with pytest.raises(NoCredentialsError) as info:
        default_chain()()
    assert f"{path}, line 3 column 16: malformed JSON" in str(info.value)


def test_malformed_file_does_not_hide_a_later_source(home, caplog):
    write(home / ".aliyun" / "config.json", "{")
    ini(home, "[default]\ntype = access_key\naccess_key_id = ini-ak\naccess_key_secret = s\n")
    assert default_chain()().access_key_id == "ini-ak"
    assert "malformed JSON" in caplog.text


def test_expired_static_sts_token_says_token_expired_with_its_expiry(home):
    past = int(time.time()) - 60
    cli_config(home, [{"name": "default", "mode": "StsToken", "access_key_id": "a", "access_key_secret": "s",
                       "sts_token": "t", "sts_expiration": past}])
    with pytest.raises(NoCredentialsError) as info:
        default_chain()()
    assert f"token expired at {format_expiration(past)}" in str(info.value)
    ini(home, f"[p]\ntype = sts\naccess_key_id = a\naccess_key_secret = s\nsecurity_token = t\n"
              f"expiration = {format_expiration(past)}\n")
    with pytest.raises(CredentialsError, match=f"token expired at {format_expiration(past)}"):
        default_chain("p")()


def test_unknown_type_and_mode_are_named(home):
    ini(home, "[default]\ntype = rsa_key_pair\n")
    with pytest.raises(NoCredentialsError, match="type 'rsa_key_pair' is not one of access_key, sts"):
        default_chain()()
    cli_config(home, [{"name": "default", "mode": "CloudSSO"}])
    with pytest.raises(NoCredentialsError, match="mode 'CloudSSO' is not supported"):
        default_chain()()


def test_credentials_provider_callable_is_asked_per_call():
    calls = []

    def vault():
        calls.append(1)
        return oss.credentials.Credentials(f"v{len(calls)}", "s")
    options = oss.request_options_create(endpoint="127.0.0.1:1", credentials_provider=vault)
    assert [options.config.credentials().access_key_id for _ in range(3)] == ["v1", "v2", "v3"]


def test_options_in_use_can_be_pickled_and_copied():
    import copy
    import pickle

    from ossresume_c.bandwidth import bucket_for
    options = oss.request_options_create(endpoint="127.0.0.1:1", access_key_id="a", access_key_secret="s",
                                         max_bandwidth=1 << 20)
    options.config.credentials()
    bucket_for(options.ctl)
    for clone in (pickle.loads(pickle.dumps(options)), copy.deepcopy(options)):
        assert clone.config.credentials().access_key_id == "a"
        assert bucket_for(clone.ctl) is not bucket_for(options.ctl)


SOURCES = ("cli_profile", "ini_profile", "ossutil", "files", "roles", "sts", "ecs", "uri", "env")


def test_explicit_keys_import_none_of_the_other_sources():
    """The chain makes (and imports) a source only when it asks it: explicit keys
    answer first, so an upload's start-up pays for none of the others."""
    import os
    import subprocess
    import sys
    probe = ("import sys, ossresume_c as oss\n"
             "from ossresume_c.credentials import provider_for\n"
             "o = oss.request_options_create(endpoint='http://127.0.0.1:9', access_key_id='a',"
             " access_key_secret='b', region='cn-hangzhou')\n"
             "assert provider_for(o.config)().access_key_id == 'a'\n"
             f"print(' '.join(m for m in {SOURCES!r} if 'ossresume_c.credentials.' + m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__file__))))
    assert result.stdout.split() == []


def test_a_deferred_source_is_made_once_and_answers_as_itself(home, monkeypatch):
    from ossresume_c.credentials.chain import Deferred
    made = []

    class Source:
        name = "a source"

        def __call__(self):
            return oss.auth.Credentials("k", "s")

        def invalidate(self):
            return True

    def make():
        made.append(1)
        return Source()

    lazy = Deferred(make)
    assert made == []
    assert lazy().access_key_id == "k" and lazy().access_key_id == "k" and lazy.name == "a source"
    assert lazy.invalidate() is True and made == [1]
