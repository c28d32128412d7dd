"""Shared CLI pieces: endpoint and region from ~/.ossutilconfig, the credentials
check before any request, human sizes."""
from __future__ import annotations

import argparse

from ossresume_c import cli_common as common
from ossresume_c.config import request_options_create


def _args(**kw):
    values = dict(endpoint=None, region=None, profile=None)
    values.update(kw)
    return argparse.Namespace(**values)


def test_endpoint_and_region_from_ossutil_config(tmp_path, monkeypatch):
    config = tmp_path / "ossutilconfig"
    config.write_text("[default]\nendpoint = https://oss-cn-beijing.aliyuncs.com\nregion = cn-beijing\n"
                      "[profile dev]\nendpoint = 127.0.0.1:9000\n")
    monkeypatch.setenv("OSSUTIL_CONFIG_FILE", str(config))
    args = _args()
    common.fill_from_ossutil(args)
    assert (args.endpoint, args.region) == ("https://oss-cn-beijing.aliyuncs.com", "cn-beijing")
    args = _args(profile="dev", region="r1")
    common.fill_from_ossutil(args)
    assert (args.endpoint, args.region) == ("127.0.0.1:9000", "r1")
    args = _args(endpoint="given")
    common.fill_from_ossutil(args)
    assert args.endpoint == "given"


def test_missing_ossutil_config_changes_nothing():
    args = _args()
    common.fill_from_ossutil(args)          # conftest points OSSUTIL_CONFIG_FILE at nothing
    assert args.endpoint is None and args.region is None


def test_credentials_problem_is_exit_2_with_the_places(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert common.credentials_problem(request_options_create(endpoint="127.0.0.1:1")) == 2
    assert "no credentials found. Looked, in order:" in capsys.readouterr().err
    ok = request_options_create(endpoint="127.0.0.1:1", access_key_id="a", access_key_secret="s")
    assert common.credentials_problem(ok) is None


def test_human_size():
    assert [common.human_size(n) for n in (0, 1023, 1024, 3 << 20, 5 << 40)] == \
        ["0 B", "1023 B", "1.0 KiB", "3.0 MiB", "5.0 TiB"]
