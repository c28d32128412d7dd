"""Client security: TLS verification is on by default, checkpoint files are 0600 and hold no
secret, and nothing at DEBUG level (ours or urllib3's) or in a Status shows the secret or the
STS token."""
from __future__ import annotations

import base64
import json
import datetime
import ipaddress
import logging
import os
import secrets
from pathlib import Path

import pytest
from helpers import file_crc, make_file

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c.emulator import start_emulator

KB = 1024
TLS_BUCKET = "tls-client-bucket"
BUCKET = "secrets-bucket"
# Distinctive values, so that finding them anywhere cannot be a coincidence.
SECRET = "SecSk" + secrets.token_hex(14)
STS_TOKEN = "STS.Tok" + secrets.token_urlsafe(40)


def _self_signed_for_loopback(directory):
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ossresume client TLS test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = private.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=10))
        .not_valid_after(now + datetime.timedelta(hours=6))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert_path = directory / "loopback-cert.pem"
    key_path = directory / "loopback-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def https_emulator(tmp_path_factory):
    pytest.importorskip("cryptography")   # installed with oss2's dependencies; absent only elsewhere
    directory = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed_for_loopback(directory)
    with start_emulator(buckets=[TLS_BUCKET], tls_cert=cert, tls_key=key) as emu:
        yield emu, cert


def _tls_options(emu, **kw):
    return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=emu.access_key_secret, region=emu.region,
                                      backoff_base=0.01, backoff_cap=0.05, **kw)


# ----------------------------------------------------------------------------- (a) TLS
def test_tls_verification_is_on_by_default(https_emulator, tmp_path):
    emu, _cert = https_emulator
    assert emu.endpoint.startswith("https://127.0.0.1:")
    options = _tls_options(emu, max_retries=0)
    assert options.ctl.verify is True
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=1)
    emu.clear_request_log()
    params = oss.create_resumable_clt_params(100 * KB, 2, True, None)
    status = oss.resumable_upload_file(options, TLS_BUCKET, "refused", path, clt_params=params)
    assert not status.is_ok()
    assert (status.code, status.error_code) == (-998, "HttpIoError"), status
    text = status.error_msg.lower()
    assert "certificate" in text or "ssl" in text, status.error_msg
    # the handshake failed: no OSS request reached the server, nothing to resume
    assert emu.request_log() == []
    assert not os.path.exists(path + ".ucp")

    target = tmp_path / "never.bin"
    status = oss.resumable_download_file(options, TLS_BUCKET, "refused", str(target),
                                         clt_params=oss.create_resumable_clt_params(100 * KB, 2, True, None))
    assert (status.code, status.error_code) == (-998, "HttpIoError"), status
    text = status.error_msg.lower()
    assert "certificate" in text or "ssl" in text, status.error_msg
    assert not target.exists() and not os.path.exists(str(target) + ".tmp")


def test_tls_with_the_certificate_as_ca_bundle(https_emulator, tmp_path):
    emu, cert = https_emulator
    path = make_file(tmp_path / "f.bin", 450 * KB, seed=2)
    params = oss.create_resumable_clt_params(100 * KB, 3, True, None)
    options = _tls_options(emu, verify=cert)
    status = oss.resumable_upload_file(options, TLS_BUCKET, "trusted", path, clt_params=params)
    assert status.is_ok(), status
    target = tmp_path / "back.bin"
    status = oss.resumable_download_file(options, TLS_BUCKET, "trusted", str(target), clt_params=params)
    assert status.is_ok(), status
    assert file_crc(target) == file_crc(path) and target.read_bytes() == Path(path).read_bytes()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_verification_turned_off(https_emulator, tmp_path):
    emu, _cert = https_emulator
    path = make_file(tmp_path / "f.bin", 250 * KB, seed=3)
    params = oss.create_resumable_clt_params(100 * KB, 2, True, None)
    options = _tls_options(emu, verify=False)
    status = oss.resumable_upload_file(options, TLS_BUCKET, "unverified", path, clt_params=params)
    assert status.is_ok(), status
    target = tmp_path / "back.bin"
    status = oss.resumable_download_file(options, TLS_BUCKET, "unverified", str(target), clt_params=params)
    assert status.is_ok(), status
    assert target.read_bytes() == Path(path).read_bytes()


# ----------------------------------------------------------------------------- secrets
@pytest.fixture(scope="module")
def secret_emulator():
    with start_emulator(buckets=[BUCKET], access_key_id="LTAI" + secrets.token_hex(8),
                        access_key_secret=SECRET) as emu:
        yield emu


@pytest.fixture
def emu(secret_emulator):
    secret_emulator.clear_faults()
    secret_emulator.clear_request_log()
    yield secret_emulator
    secret_emulator.clear_faults()


def _options(emu, signature_version=4, **kw):
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=SECRET, sts_token=STS_TOKEN, region=emu.region,
                                      signature_version=signature_version, **kw)


def _secret_forms():
    forms = []
    for value in (SECRET, STS_TOKEN):
        raw = value.encode()
        forms += [raw, base64.b64encode(raw), raw.hex().encode()]
    return forms


def _assert_no_secret(data: bytes, where: str):
    for form in _secret_forms():
        assert form not in data, f"{where} contains a secret ({form[:12]!r}...)"


def _assert_status_clean(status):
    for text in (str(status), repr(status), status.error_msg, status.error_code, str(status.to_dict())):
        assert SECRET not in text and STS_TOKEN not in text, text


@pytest.fixture
def open_umask():
    """Files the engine creates must be 0600 by themselves, not thanks to the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.parametrize("in_directory", [False, True], ids=["beside-file", "checkpoint-dir"])
def test_upload_checkpoint_is_0600_and_free_of_secrets(emu, tmp_path, open_umask, in_directory):
    path = make_file(tmp_path / "up.bin", 800 * KB, seed=4)
    cp_dir = tmp_path / "cps"
    cp_dir.mkdir()
    emu.add_fault(op="UploadPart", action="status", status=500, part_number=5)
    params = oss.create_resumable_clt_params(100 * KB, 2, True, str(cp_dir) if in_directory else None)
    status = oss.resumable_upload_file(_options(emu, max_retries=0), BUCKET, "up", path, clt_params=params)
    assert status.code == 500 and status.error_code == "InternalError", status
    _assert_status_clean(status)
    written = sorted(cp_dir.iterdir()) if in_directory else [tmp_path / "up.bin.ucp"]
    written = [p for p in written if p.name.endswith(".ucp")]
    assert len(written) == 1 and written[0].exists()
    checkpoint = written[0]
    assert checkpoint.stat().st_mode & 0o777 == 0o600
    data = checkpoint.read_bytes()
    cp = codec.load(data)                       # a real checkpoint, with the upload in it
    assert cp.type == codec.UPLOAD and cp.upload_id and cp.object_key == "up"
    _assert_no_secret(data, "the upload checkpoint")
    assert emu.access_key_id.encode() not in data
    for extra in checkpoint.parent.iterdir():   # lock file, temp files: none holds a secret
        if extra.is_file() and extra != checkpoint and checkpoint.name in extra.name:
            assert extra.stat().st_mode & 0o077 == 0, extra
            _assert_no_secret(extra.read_bytes(), extra.name)
    emu.clear_faults()
    status = oss.resumable_upload_file(_options(emu), BUCKET, "up", path, clt_params=params)
    assert status.is_ok(), status
    assert not checkpoint.exists()


def test_download_checkpoint_is_0600_and_free_of_secrets(emu, tmp_path, open_umask):
    source = make_file(tmp_path / "src.bin", 700 * KB, seed=5)
    params = oss.create_resumable_clt_params(100 * KB, 1, True, None)
    assert oss.resumable_upload_file(_options(emu), BUCKET, "down", source, clt_params=params).is_ok()
    emu.add_fault(op="GetObject", action="status", status=503, nth=3)
    target = tmp_path / "dst.bin"
    status = oss.resumable_download_file(_options(emu, max_retries=0), BUCKET, "down", str(target),
                                         clt_params=params)
    assert status.code == 503 and status.error_code == "ServiceUnavailable", status
    _assert_status_clean(status)
    checkpoint = tmp_path / "dst.bin.dcp"
    assert checkpoint.stat().st_mode & 0o777 == 0o600
    data = checkpoint.read_bytes()
    cp = codec.load(data)
    assert cp.type == codec.DOWNLOAD and cp.object_key == "down" and any(p.completed for p in cp.parts)
    _assert_no_secret(data, "the download checkpoint")
    emu.clear_faults()
    status = oss.resumable_download_file(_options(emu), BUCKET, "down", str(target), clt_params=params)
    assert status.is_ok(), status
    assert target.read_bytes() == Path(source).read_bytes() and not checkpoint.exists()


@pytest.mark.parametrize("signature_version", [4, 1])
def test_nothing_logged_at_debug_shows_a_secret(emu, tmp_path, caplog, signature_version):
    caplog.set_level(logging.DEBUG, logger="ossresume_c")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    opts = _options(emu, signature_version)
    path = make_file(tmp_path / "f.bin", 500 * KB, seed=6)
    params = oss.create_resumable_clt_params(100 * KB, 2, True, None)
    statuses = []
    # a full upload and download, with a retried 503 in each (logged at INFO by the retry loop)
    emu.add_fault(op="UploadPart", action="status", status=503, nth=2)
    emu.add_fault(op="GetObject", action="status", status=503, nth=2)
    statuses.append(oss.resumable_upload_file(opts, BUCKET, "logged", path, clt_params=params))
    target = tmp_path / "back.bin"
    statuses.append(oss.resumable_download_file(opts, BUCKET, "logged", str(target), clt_params=params))
    assert all(s.is_ok() for s in statuses), statuses
    assert target.read_bytes() == Path(path).read_bytes()
    # failing requests: retries exhausted, a missing object, and a wrong secret with the token
    emu.add_fault(op="InitiateMultipartUpload", action="status", status=500)
    failed = [oss.resumable_upload_file(_options(emu, signature_version, max_retries=1), BUCKET, "fails",
                                        path, clt_params=params)]
    emu.clear_faults()
    failed.append(oss.resumable_download_file(opts, BUCKET, "missing", str(tmp_path / "m.bin"),
                                              clt_params=params))
    wrong = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                       access_key_secret=SECRET[::-1], sts_token=STS_TOKEN, region=emu.region,
                                       signature_version=signature_version, max_retries=0)
    failed.append(oss.resumable_upload_file(wrong, BUCKET, "denied", path, clt_params=params))
    assert [s.code for s in failed] == [500, 404, 403], failed
    assert failed[2].error_code == "SignatureDoesNotMatch"
    for status in statuses + failed:
        _assert_status_clean(status)

    records = caplog.records
    ours = [r for r in records if r.name.startswith("ossresume_c")]
    theirs = [r for r in records if r.name.startswith("urllib3")]
    # the logs are not empty: retries, errors and every request were logged
    assert any(r.levelno == logging.DEBUG for r in ours) and any("retry" in r.getMessage() for r in ours)
    # (first attempts of parts go on sockets of our own, part_put/part_get: urllib3 sees the retries)
    assert len(theirs) >= 4 and any(r.levelno == logging.DEBUG for r in theirs)
    for record in records:
        rendered = record.getMessage() + repr(record.args) + (record.exc_text or "") + str(record.__dict__)
        assert SECRET not in rendered and STS_TOKEN not in rendered, (record.name, record.getMessage())
    assert SECRET not in caplog.text and STS_TOKEN not in caplog.text


# ----------------------------------------------------------------------------- credential sources
OIDC_TOKEN = "eyJOidc" + secrets.token_urlsafe(30)
URI_KEY = "UriKey" + secrets.token_hex(12)
SOURCES = ["environment", "cli_profile", "credentials_file_sts", "ossutil", "ram_role_arn", "oidc_role_arn",
           "ecs_ram_role", "credentials_uri", "malformed_ini", "malformed_json", "expired_token",
           "sts_refused"]


def _configure_source(source, emu, tmp_path, monkeypatch, stack):
    """Set up ``source`` holding SECRET/STS_TOKEN (or issuing keys derived from SECRET)."""
    from ossresume_c.emulator.creduri import CredentialsUriStandIn
    from ossresume_c.emulator.metadata import MetadataStandIn
    from ossresume_c.emulator.sts import StsStandIn
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN",
                 "ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "ALIBABA_CLOUD_CREDENTIALS_FILE", "OSSUTIL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    ak = emu.access_key_id
    ini = tmp_path / ".alibabacloud" / "credentials.ini"
    cli = tmp_path / ".aliyun" / "config.json"
    ini.parent.mkdir()
    cli.parent.mkdir()
    role = "acs:ram::1:role/r"
    if source == "environment":
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ak)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
        monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
    elif source in ("cli_profile", "expired_token"):
        expiry = 1 if source == "expired_token" else 0
        cli.write_text(json.dumps({"current": "p", "profiles": [
            {"name": "p", "mode": "StsToken", "access_key_id": ak, "access_key_secret": SECRET,
             "sts_token": STS_TOKEN, "sts_expiration": expiry}]}))
    elif source == "credentials_file_sts":
        ini.write_text(f"[default]\ntype = sts\naccess_key_id = {ak}\naccess_key_secret = {SECRET}\n"
                       f"security_token = {STS_TOKEN}\n")
    elif source == "ossutil":
        (tmp_path / ".ossutilconfig").write_text(f"[Credentials]\naccessKeyID = {ak}\naccessKeySecret = {SECRET}\n"
                                                 f"stsToken = {STS_TOKEN}\n")
    elif source in ("ram_role_arn", "sts_refused"):
        sts = stack.enter_context(StsStandIn(ak, SECRET if source == "ram_role_arn" else SECRET[::-1]))
        monkeypatch.setenv("OSSRESUME_STS_ENDPOINT", sts.endpoint)
        ini.write_text(f"[default]\ntype = ram_role_arn\naccess_key_id = {ak}\naccess_key_secret = {SECRET}\n"
                       f"role_arn = {role}\n")
    elif source == "oidc_role_arn":
        sts = stack.enter_context(StsStandIn(ak, SECRET, oidc_token=OIDC_TOKEN))
        monkeypatch.setenv("OSSRESUME_STS_ENDPOINT", sts.endpoint)
        (tmp_path / "token").write_text(OIDC_TOKEN)
        monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", role)
        monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1:oidc-provider/p")
        monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(tmp_path / "token"))
    elif source == "ecs_ram_role":
        metadata = stack.enter_context(MetadataStandIn(SECRET))
        monkeypatch.setenv("OSSRESUME_ECS_METADATA_ENDPOINT", metadata.endpoint)
        monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    elif source == "credentials_uri":
        uri = stack.enter_context(CredentialsUriStandIn(SECRET))
        monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"{uri.endpoint}/creds?key={URI_KEY}")
    elif source == "malformed_ini":
        ini.write_text(f"[default]\ntype = access_key\naccess_key_secret {SECRET}\n")
    elif source == "malformed_json":
        cli.write_text('{"current": "p", "profiles": [{"access_key_secret": "%s" "sts_token": "%s"}]}'
                       % (SECRET, STS_TOKEN))
    return source not in ("malformed_ini", "malformed_json", "expired_token", "sts_refused")


@pytest.mark.parametrize("source", SOURCES)
def test_no_credential_source_shows_a_secret(source, emu, tmp_path, monkeypatch, caplog):
    import contextlib
    caplog.set_level(logging.DEBUG, logger="ossresume_c")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    path = make_file(tmp_path / "f.bin", 250 * KB, seed=8)
    params = oss.create_resumable_clt_params(100 * KB, 2, True, None)
    with contextlib.ExitStack() as stack:
        works = _configure_source(source, emu, tmp_path, monkeypatch, stack)
        options = oss.request_options_create(endpoint=emu.endpoint, region=emu.region, max_retries=0)
        provider = options.config.credentials_source()
        issued = []
        if works:
            issued.append(provider())
        status = oss.resumable_upload_file(options, BUCKET, f"src-{source}", path, clt_params=params)
    assert status.is_ok() == works, status
    if not works:
        assert status.error_code == "CredentialsError" and status.code == -994, status
    secrets_here = [SECRET, STS_TOKEN, OIDC_TOKEN, URI_KEY]
    for creds in issued:
        secrets_here += [creds.access_key_secret, creds.security_token]
    texts = [caplog.text, str(status), repr(status), str(status.to_dict()), repr(options), repr(provider)]
    texts += [repr(c) for c in issued]
    for record in caplog.records:
        texts.append(record.getMessage() + repr(record.args) + (record.exc_text or "") + str(record.__dict__))
    for text in texts:
        for value in secrets_here:
            assert value not in text, (source, text[:300])
