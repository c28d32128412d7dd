"""tls_context.py: one client SSLContext per trust setting, verifying exactly as
ssl.create_default_context does, rebuilt when its CA bundle file changes."""
from __future__ import annotations

import os
import shutil
import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as stt

import ossresume_c as oss
from ossresume_c import tls_context
from ossresume_c.small_put import SmallPutter
from ossresume_c.transport import Transport


@pytest.fixture(scope="module")
def ca_files(tmp_path_factory):
    pytest.importorskip("cryptography")
    from test_security_client import _self_signed_for_loopback
    first, _ = _self_signed_for_loopback(tmp_path_factory.mktemp("ca1"))
    second, _ = _self_signed_for_loopback(tmp_path_factory.mktemp("ca2"))
    return first, second


def test_one_context_per_setting(ca_files):
    cert, _ = ca_files
    system, insecure, bundle = (tls_context.client_context(v) for v in (True, False, cert))
    assert tls_context.client_context(True) is system
    assert tls_context.client_context(False) is insecure
    assert tls_context.client_context(cert) is bundle
    assert len({id(system), id(insecure), id(bundle)}) == 3
    assert system.verify_mode == ssl.CERT_REQUIRED and system.check_hostname
    assert bundle.verify_mode == ssl.CERT_REQUIRED and bundle.check_hostname
    assert bundle.cert_store_stats()["x509_ca"] == 1
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname


def test_a_changed_bundle_file_builds_a_new_context(ca_files, tmp_path):
    first, second = ca_files
    path = tmp_path / "ca.pem"
    shutil.copyfile(first, path)
    before = tls_context.client_context(str(path))
    assert tls_context.client_context(str(path)) is before
    shutil.copyfile(second, path)
    os.utime(path, ns=(1, 1))          # a different stamp even within one clock tick
    after = tls_context.client_context(str(path))
    assert after is not before
    der = {c["serialNumber"] for c in after.get_ca_certs()}
    assert der == {c["serialNumber"] for c in ssl.create_default_context(cafile=second).get_ca_certs()}


def test_what_create_default_context_refuses_is_refused_and_not_kept(tmp_path):
    with pytest.raises(OSError):
        tls_context.client_context(str(tmp_path))                 # a directory
    with pytest.raises(OSError):
        tls_context.client_context(str(tmp_path / "missing.pem"))
    assert ("file", str(tmp_path)) not in tls_context._built


def test_the_system_slot_follows_ssl_cert_file(ca_files, monkeypatch):
    cert, _ = ca_files
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    only_ours = tls_context.client_context(True)
    assert only_ours.cert_store_stats()["x509_ca"] == 1
    monkeypatch.delenv("SSL_CERT_FILE")
    assert tls_context.client_context(True) is not only_ours


@given(choices=stt.lists(stt.sampled_from([True, False, "first", "second"]), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None)
def test_same_setting_same_context_different_setting_different(ca_files, choices):
    paths = {"first": ca_files[0], "second": ca_files[1]}
    values = [paths.get(c, c) if isinstance(c, str) else c for c in choices]
    got = [tls_context.client_context(v) for v in values]
    for v, ctx in zip(values, got):
        for w, other in zip(values, got):
            assert (ctx is other) == (v == w)


def test_lean_connection_pools_share_the_context(ca_files):
    cert, _ = ca_files
    options = oss.request_options_create(endpoint="https://127.0.0.1:9", access_key_id="a",
                                         access_key_secret="b", verify=cert)
    with Transport(options) as t:
        one, two = SmallPutter(t), SmallPutter(t)
        assert one.tls is two.tls is tls_context.client_context(cert)
        one.close()
        two.close()
