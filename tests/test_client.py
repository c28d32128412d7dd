"""``oss.Client``: the Pythonic layer raising ``oss.OssError``."""
from __future__ import annotations

import os

import pytest

import ossresume_c as oss
from ossresume_c.bulk import TreeSummary

from helpers import file_crc, head, make_file, upload_part_requests


def client_for(emu, **kw):
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return oss.Client(emu.endpoint, emu.access_key_id, emu.access_key_secret, emu.region, **kw)


def test_upload_and_download_round_trip(oss_emulator, tmp_path):
    src = make_file(tmp_path / "a.bin", 700_000, seed=5)
    client = client_for(oss_emulator)
    seen = []
    status = client.upload_file(src, oss_emulator.bucket, "x/a.bin", part_size=100 * 1024, threads=4,
                                progress=lambda c, t: seen.append((c, t)))
    assert status.is_ok() and status.req_id
    assert seen[-1] == (700_000, 700_000)
    assert len(upload_part_requests(oss_emulator, "x/a.bin")) == 7
    assert head(oss_emulator, "x/a.bin")[1].crc64 == file_crc(src)

    out = tmp_path / "back.bin"
    status = client.download_file(oss_emulator.bucket, "x/a.bin", out, part_size=64 * 1024, threads=3)
    assert status.is_ok()
    assert out.read_bytes() == open(src, "rb").read()


def test_failures_raise_oss_error_with_the_status(oss_emulator, tmp_path):
    src = make_file(tmp_path / "a.bin", 1000)
    client = client_for(oss_emulator)
    with pytest.raises(oss.OssError) as exc:
        client.upload_file(src, "no-such-bucket-abc", "k", checkpoint=False)
    err = exc.value
    assert err.code == 404 and err.error_code == "NoSuchBucket"
    assert err.req_id and err.status.req_id == err.req_id
    assert "NoSuchBucket" in str(err) and err.req_id in str(err)

    with pytest.raises(oss.OssError) as exc:
        client.download_file(oss_emulator.bucket, "missing", tmp_path / "m.bin")
    assert exc.value.code == 404
    with pytest.raises(oss.OssError) as exc:
        client.upload_file(tmp_path / "nope", oss_emulator.bucket, "k")
    assert exc.value.error_code == "OpenFileFail"


def test_checkpoint_argument(oss_emulator, tmp_path):
    """True = next to the file, a directory = a derived name in it, False = none;
    a failed Complete keeps the checkpoint for the next call."""
    src = make_file(tmp_path / "a.bin", 300 * 1024, seed=6)
    client = client_for(oss_emulator, max_retries=0)
    oss_emulator.add_fault(op="CompleteMultipartUpload", action="status", status=500, nth=1)
    with pytest.raises(oss.OssError) as exc:
        client.upload_file(src, oss_emulator.bucket, "k", part_size=100 * 1024)
    assert exc.value.code == 500
    assert os.path.exists(src + ".ucp")
    client.upload_file(src, oss_emulator.bucket, "k", part_size=100 * 1024)
    assert not os.path.exists(src + ".ucp")

    cps = tmp_path / "cps"
    cps.mkdir()
    oss_emulator.add_fault(op="CompleteMultipartUpload", action="status", status=500, nth=1)
    with pytest.raises(oss.OssError):
        client.upload_file(src, oss_emulator.bucket, "k2", part_size=100 * 1024, checkpoint=cps)
    assert [p.name for p in cps.iterdir() if p.suffix == ".ucp"]

    oss_emulator.add_fault(op="CompleteMultipartUpload", action="status", status=500, nth=1)
    with pytest.raises(oss.OssError):
        client.upload_file(src, oss_emulator.bucket, "k3", part_size=100 * 1024, checkpoint=False)
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "cps"]


def test_credentials_from_the_environment(oss_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", oss_emulator.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", oss_emulator.access_key_secret)
    monkeypatch.delenv("OSS_SESSION_TOKEN", raising=False)
    src = make_file(tmp_path / "e.bin", 10)
    client = oss.Client(oss_emulator.endpoint, region=oss_emulator.region)
    assert client.upload_file(src, oss_emulator.bucket, "env.bin").is_ok()
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "wrong")
    with pytest.raises(oss.OssError) as exc:
        oss.Client(oss_emulator.endpoint, region=oss_emulator.region).upload_file(
            src, oss_emulator.bucket, "env2.bin")
    assert exc.value.code == 403


def test_options_pass_through_and_secret_not_in_repr(oss_emulator, tmp_path):
    client = oss.Client(oss_emulator.endpoint, "AKIDEXAMPLE", "the-very-secret", "cn-hangzhou",
                        signature_version=1, max_retries=7, verify=False)
    assert client.options.config.signature_version == 1
    assert client.options.ctl.max_retries == 7 and client.options.ctl.verify is False
    assert "the-very-secret" not in repr(client)
    with pytest.raises(TypeError):
        oss.Client(oss_emulator.endpoint, no_such_option=1)


def test_v1_signature_works(oss_emulator, tmp_path):
    src = make_file(tmp_path / "v1.bin", 1000)
    assert client_for(oss_emulator, signature_version=1).upload_file(
        src, oss_emulator.bucket, "v1.bin").is_ok()


def test_upload_tree_returns_the_summary_or_raises_with_it(oss_emulator, tmp_path):
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    make_file(root / "d" / "one.txt", 10)
    make_file(root / "two.txt", 20)
    client = client_for(oss_emulator)
    summary = client.upload_tree(root, oss_emulator.bucket, "pre", checkpoint=tmp_path / "cp")
    assert isinstance(summary, TreeSummary)
    assert sorted(summary.uploaded) == ["pre/d/one.txt", "pre/two.txt"]
    with pytest.raises(oss.OssError) as exc:
        client.upload_tree(root, "no-such-bucket-abc", "pre", checkpoint=tmp_path / "cp")
    assert exc.value.error_code == "NoSuchBucket"
    assert len(exc.value.summary.failed) == 2


def test_upload_file_passes_verify_through(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1000, seed=3)
    with pytest.raises(ValueError):
        client_for(oss_emulator).upload_file(path, oss_emulator.bucket, "v", verify="maybe")
    client_for(oss_emulator).upload_file(path, oss_emulator.bucket, "v", verify="all")
    assert head(oss_emulator, "v")[1].crc64 == file_crc(path)
