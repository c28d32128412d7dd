"""Upload callbacks (ossresume_c.emulator.callback): the emulator POSTs the callback body,
variables substituted, to a loopback callbackUrl and relays the answer; any other address
is refused before the upload with no request sent."""
from __future__ import annotations

import base64
import http.server
import json
import re
import threading
from typing import Iterator, List
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ossresume_c.emulator import callback as cb
from ossresume_c.emulator.errors import OssError

from conformance.rawclient import RawClient


def b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


class Recorder:
    """A loopback HTTP server that records what it is sent and answers ``status``/``reply``."""

    def __init__(self, status: int = 200, reply: bytes = b'{"Status":"OK"}') -> None:
        self.received: List[dict] = []
        self.status = status
        self.reply = reply
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(recorder.reply)))
                self.end_headers()
                self.wfile.write(recorder.reply)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def client(emu) -> RawClient:
    return RawClient(emu.endpoint, emu.access_key_id, emu.access_key_secret, version=1)


SPEC_BODY = "bucket=${bucket}&object=${object}&size=${size}&mimeType=${mimeType}&etag=${etag}&v=${x:var1}"


def test_put_object_callback_is_posted_and_its_answer_relayed(oss_emulator, recorder):
    c = client(oss_emulator)
    spec = {"callbackUrl": recorder.url, "callbackHost": "cb.example.com", "callbackBody": SPEC_BODY}
    headers = {"x-oss-callback": b64(spec), "x-oss-callback-var": b64({"x:var1": "a b&c"}), "Content-Type": "text/plain"}
    reply = c.request("PUT", oss_emulator.bucket, "dir/k 1.txt", headers=headers, body=b"hello")
    assert reply.status == 200, reply
    assert reply.body == b'{"Status":"OK"}'
    assert reply.header("etag") == '"5D41402ABC4B2A76B9719D911017C592"'
    (call,) = recorder.received
    assert call["path"] == "/cb?x=1"
    assert call["headers"]["Host"] == "cb.example.com"
    assert call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(call["body"].decode(), keep_blank_values=True)
    assert form == {"bucket": [oss_emulator.bucket], "object": ["dir/k 1.txt"], "size": ["5"], "mimeType": ["text/plain"],
                    "etag": ["5D41402ABC4B2A76B9719D911017C592"], "v": ["a b&c"]}
    assert c.request("HEAD", oss_emulator.bucket, "dir/k 1.txt").status == 200
    c.close()


def test_complete_multipart_callback_uses_json_body(oss_emulator, recorder):
    c = client(oss_emulator)
    init = c.request("POST", oss_emulator.bucket, "mp", query=[("uploads", None)])
    upload_id = re.search(rb"<UploadId>(\w+)</UploadId>", init.body).group(1).decode()
    part = c.request("PUT", oss_emulator.bucket, "mp", query=[("partNumber", "1"), ("uploadId", upload_id)], body=b"x" * 10)
    xml = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{part.header('etag')}</ETag></Part></CompleteMultipartUpload>"
    spec = {"callbackUrl": recorder.url, "callbackBodyType": "application/json",
            "callbackBody": '{"object":${object},"size":${size},"etag":"${etag}"}'}
    done = c.request("POST", oss_emulator.bucket, "mp", query=[("uploadId", upload_id)],
                     headers={"x-oss-callback": b64(spec)}, body=xml.encode())
    assert done.status == 200 and done.body == b'{"Status":"OK"}'
    sent = json.loads(recorder.received[0]["body"])
    assert sent["object"] == "mp" and sent["size"] == 10 and sent["etag"].endswith("-1")
    c.close()


def test_failed_callback_keeps_the_object_and_answers_203(oss_emulator):
    failing = Recorder(status=500, reply=b"{}")
    try:
        c = client(oss_emulator)
        spec = {"callbackUrl": failing.url, "callbackBody": "k=${object}"}
        reply = c.request("PUT", oss_emulator.bucket, "k", headers={"x-oss-callback": b64(spec)}, body=b"data")
        assert reply.status == 203
        assert b"<Code>CallbackFailed</Code>" in reply.body
        assert len(failing.received) == 1
        assert c.request("HEAD", oss_emulator.bucket, "k").status == 200
        c.close()
    finally:
        failing.close()


@pytest.mark.parametrize("url", ["http://192.0.2.10/cb", "http://example.com:8080/cb", "10.0.0.1/cb",
                                 "ftp://127.0.0.1/cb", "http://127.0.0.1.example.com/cb"])
def test_non_loopback_callback_is_refused_before_the_upload(oss_emulator, recorder, url):
    c = client(oss_emulator)
    spec = {"callbackUrl": f"{recorder.url};{url}", "callbackBody": "k=${object}"}
    reply = c.request("PUT", oss_emulator.bucket, "refused", headers={"x-oss-callback": b64(spec)}, body=b"data")
    assert reply.status == 400
    assert b"<Code>InvalidArgument</Code>" in reply.body
    assert b"only calls back loopback addresses" in reply.body or b"Invalid callbackUrl" in reply.body
    assert recorder.received == []  # nothing sent, not even to the loopback URL listed first
    assert c.request("HEAD", oss_emulator.bucket, "refused").status == 404
    c.close()


def test_malformed_callback_parameters():
    for raw, raw_vars in (("not base64!", None), (base64.b64encode(b"[1]").decode(), None),
                          (b64({"callbackBody": "x"}), None),
                          (b64({"callbackUrl": "127.0.0.1/x"}), None),
                          (b64({"callbackUrl": "127.0.0.1/x", "callbackBody": "", "callbackBodyType": "text/xml"}), None),
                          (b64({"callbackUrl": "127.0.0.1/x", "callbackBody": ""}), b64({"var": "1"}))):
        with pytest.raises(OssError) as caught:
            cb.parse(raw, raw_vars)
        assert caught.value.code == "InvalidArgument"
    assert cb.parse(None, None) is None
    parsed = cb.parse(b64({"callbackUrl": "localhost:9/a; [::1]:8/b", "callbackBody": "b"}), None)
    assert parsed is not None and parsed.urls == ["http://localhost:9/a", "http://[::1]:8/b"]


def test_loopback_hosts():
    for host in ("127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "LOCALHOST", "a.localhost"):
        assert cb.is_loopback_host(host), host
    for host in ("10.0.0.1", "0.0.0.0", "example.com", "localhost.example.com", "::", "169.254.1.1"):
        assert not cb.is_loopback_host(host), host


text = st.text(max_size=20)


@settings(max_examples=100, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["bucket", "object", "etag", "mimeType"]), text),
       custom=st.dictionaries(st.text(alphabet="abcxyz019_", min_size=1, max_size=5).map(lambda s: "x:" + s), text,
                              max_size=3))
def test_render_form_round_trips(values, custom):
    names = sorted(values) + sorted(custom)
    spec = cb.Callback(["http://127.0.0.1/"], "&".join(f"f{i}=${{{n}}}" for i, n in enumerate(names)), variables=custom)
    form = parse_qs(cb.render(spec, values), keep_blank_values=True)
    expected = {**values, **custom}
    assert {f"f{i}": [expected[n]] for i, n in enumerate(names)} == form


@settings(max_examples=100, deadline=None)
@given(values=st.fixed_dictionaries({"object": text, "etag": text, "size": st.integers(0, 10**12).map(str)}))
def test_render_json_is_valid_json(values):
    spec = cb.Callback(["http://127.0.0.1/"], '{"o":${object},"e":"${etag}","s":${size},"m":${missing}}',
                       body_type="application/json")
    assert json.loads(cb.render(spec, values)) == {"o": values["object"], "e": values["etag"],
                                                     "s": int(values["size"]), "m": ""}
