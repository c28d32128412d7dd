"""Emulator security: keys never escape the store root, ids never reach paths,
requests must be signed, the control API is loopback-only, optional TLS."""
from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import socket
import ssl

import pytest
from conformance.rawclient import RawClient

from ossresume_c import auth
from ossresume_c.emulator import start_emulator

TRAVERSAL_KEYS = [
    "../escape.txt",
    "../../../../../../tmp/escape.txt",
    "a/../../escape.txt",
    "..",
    "./.",
    "..\\..\\escape.txt",
    "C:\\escape.txt",
    "~/.ssh/authorized_keys",
    "dir/" + "x" * 250 + "/y" * 300,  # longer than any file name, still <= 1023 bytes
]


def _all_paths(top):
    out = set()
    for dirpath, dirs, files in os.walk(top):
        out.update(os.path.join(dirpath, n) for n in dirs + files)
    return out


def test_keys_cannot_escape_the_root(tmp_path):
    outer = tmp_path / "outer"
    root = outer / "root"
    outer.mkdir()
    with start_emulator(root=str(root), buckets=["sec-bucket"]) as emu:
        c = RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
        for key in TRAVERSAL_KEYS:
            assert c.request("PUT", "sec-bucket", key, body=key.encode()).status == 200, key
            assert c.request("GET", "sec-bucket", key).body == key.encode()
            init = c.request("POST", "sec-bucket", key, [("uploads", "")])
            assert init.status == 200
        # percent-encoded dots and slashes in the raw path decode to a plain key
        raw = c.request("PUT", "sec-bucket", "../../enc.txt", body=b"enc", raw_path="/sec-bucket/%2e%2e%2f%2e%2e%2fenc.txt")
        assert raw.status == 200
        assert c.request("GET", "sec-bucket", "../../enc.txt").body == b"enc"
        # NUL, over-long and absolute keys are refused
        for key, raw_path in [
            ("a\x00b", "/sec-bucket/a%00b"),
            ("x" * 1024, "/sec-bucket/" + "x" * 1024),
            ("/etc/passwd", "/sec-bucket//etc/passwd"),
        ]:
            reply = c.request("PUT", "sec-bucket", key, body=b"no", raw_path=raw_path)
            assert reply.status == 400 and b"<Code>InvalidObjectName</Code>" in reply.body, key
        too_long = c.request("PUT", "sec-bucket", "x" * 1024, body=b"no", raw_path="/sec-bucket/" + "x" * 1024)
        assert too_long.header("x-oss-ec") == "0016-00000003" and b"<EC>0016-00000003</EC>" in too_long.body
        ok = c.request("PUT", "sec-bucket", "x" * 1023, body=b"max")
        assert ok.status == 200
        # hostile upload ids and bucket names never name a directory
        for upload_id in ("../../../etc", "..", "0" * 31 + "/", "a" * 32):
            reply = c.request("PUT", "sec-bucket", "k", [("partNumber", "1"), ("uploadId", upload_id)], body=b"1")
            assert reply.status == 404 and b"NoSuchUpload" in reply.body
        for bucket in ("..", "_emulator", "a/../b"):
            reply = c.request("PUT", bucket, "k", body=b"1", raw_path="/" + bucket + "/k")
            assert reply.status in (400, 404), bucket
        c.close()
        # nothing was created next to the root, and no stored name contains a key
        assert sorted(os.listdir(outer)) == ["root"]
        for path in _all_paths(root):
            name = os.path.basename(path)
            assert "escape" not in name and "enc" not in name and ".." not in name
            assert os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)
    assert not (tmp_path / "escape.txt").exists()


def test_unsigned_and_badly_signed_requests_are_refused(oss_emulator):
    c = RawClient(oss_emulator.endpoint, oss_emulator.access_key_id, oss_emulator.access_key_secret)
    bucket = oss_emulator.bucket
    assert c.request("PUT", bucket, "s", body=b"1", sign=False).status == 403
    assert c.request("GET", bucket, "", [("uploads", "")], sign=False).status == 403
    assert c.request("GET", "", sign=False).status == 403
    headers = {}
    auth.sign_v4("GET", bucket, "s", [], headers, auth.Credentials(oss_emulator.access_key_id, oss_emulator.access_key_secret), "cn-hangzhou")
    # a signature for one key does not open another
    assert c.request("GET", bucket, "other", headers=headers, sign=False).status == 403
    c.close()


def test_anonymous_mode():
    with start_emulator(buckets=["public-bucket"], anonymous=True) as emu:
        c = RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
        assert c.request("PUT", "public-bucket", "k", body=b"anon", sign=False).status == 200
        assert c.request("GET", "public-bucket", "k", sign=False).body == b"anon"
        # a request that does carry a signature must still be right
        bad = RawClient(emu.endpoint, emu.access_key_id, "wrong")
        assert bad.request("GET", "public-bucket", "k").status == 403
        c.close()
        bad.close()


def _non_loopback_address():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


def test_control_api_is_loopback_only():
    address = _non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback interface on this machine (the check itself is unit-tested)")
    with start_emulator(host="0.0.0.0") as emu:
        local = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
        local.request("GET", "/_emulator/health")
        assert local.getresponse().status == 200
        remote = http.client.HTTPConnection(address, emu.port, timeout=10)
        remote.request("POST", "/_emulator/faults", body=b'{"action": "delay", "seconds": 1}')
        assert remote.getresponse().status == 403
        assert emu.faults() == []


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ossresume emulator test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_tls_mode(tmp_path):
    pytest.importorskip("cryptography")
    cert, key = _self_signed(tmp_path)
    with start_emulator(buckets=["tls-bucket"], tls_cert=cert, tls_key=key) as emu:
        assert emu.endpoint.startswith("https://127.0.0.1:")
        assert emu.health()["status"] == "ok"
        # default verification refuses the self-signed certificate
        untrusted = http.client.HTTPSConnection("127.0.0.1", emu.port, timeout=10, context=ssl.create_default_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusted.request("GET", "/_emulator/health")
        untrusted.close()
        trusted = http.client.HTTPSConnection("127.0.0.1", emu.port, timeout=10, context=ssl.create_default_context(cafile=cert))
        data = os.urandom(300_000)
        headers = {}
        creds = auth.Credentials(emu.access_key_id, emu.access_key_secret)
        auth.sign_v4("PUT", "tls-bucket", "k", [], headers, creds, emu.region)
        trusted.request("PUT", "/tls-bucket/k", body=data, headers=headers)
        assert trusted.getresponse().read() == b""
        headers = {}
        auth.sign_v4("GET", "tls-bucket", "k", [], headers, creds, emu.region)
        trusted.request("GET", "/tls-bucket/k", headers=headers)
        response = trusted.getresponse()
        assert response.status == 200 and response.read() == data
        trusted.close()
