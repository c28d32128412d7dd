"""Every operation in ops.py, and both engines, under arbitrary and damaged responses:
a Status comes back, never an exception (responses built at the requests adapter level)."""
from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import ossresume_c as oss
from ossresume_c import ops
from ossresume_c import status as st
from wire_fakes import FakeOss, damage, damaging, fake_transport, installed

HEADER_NAMES = ["Content-Length", "Content-Range", "ETag", "Last-Modified", "x-oss-hash-crc64ecma",
                "x-oss-request-id", "x-oss-err", "Content-Type", "Date", "Transfer-Encoding"]
header_value = hs.text(hs.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=40)
xml_text = hs.text(hs.characters(codec="utf-8", blacklist_categories=("Cs", "Cc")), max_size=20)


@hs.composite
def xml_bodies(draw) -> bytes:
    """Documents shaped like OSS answers (any root, the tags ops reads, any text)."""
    root = draw(hs.sampled_from(["InitiateMultipartUploadResult", "ListPartsResult",
                                 "ListMultipartUploadsResult", "Error", "html", "Other"]))
    inner = []
    for _ in range(draw(hs.integers(0, 4))):
        tag = draw(hs.sampled_from(["UploadId", "IsTruncated", "NextPartNumberMarker", "NextKeyMarker",
                                    "NextUploadIdMarker", "Code", "Message", "Part", "Upload"]))
        if tag in ("Part", "Upload"):
            fields = "".join(f"<{t}>{ET_escape(draw(xml_text))}</{t}>" for t in
                             draw(hs.lists(hs.sampled_from(["PartNumber", "Size", "ETag", "HashCrc64ecma",
                                                            "Key", "UploadId", "Initiated"]), max_size=4)))
            inner.append(f"<{tag}>{fields}</{tag}>")
        else:
            inner.append(f"<{tag}>{ET_escape(draw(xml_text))}</{tag}>")
    enc = draw(hs.sampled_from(["UTF-8", "UUF-8", "utf-16", "latin-1", "x-bogus"]))
    doc = f'<?xml version="1.0" encoding="{enc}"?><{root}>{"".join(inner)}</{root}>'.encode("utf-8")
    if draw(hs.booleans()):
        cut = draw(hs.integers(0, len(doc)))
        doc = doc[:cut]
    return doc


def ET_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


responses = hs.tuples(
    hs.one_of(hs.sampled_from([200, 204, 206, 404, 500, 503]), hs.integers(100, 599)),
    hs.dictionaries(hs.sampled_from(HEADER_NAMES), header_value, max_size=6),
    hs.one_of(xml_bodies(), hs.binary(max_size=200), hs.just(b"")))


def _call_every_op(t) -> list:
    out = []
    out.append(ops.put_object(t, "bucket", "k", b"data", expect_crc=1)[0])
    out.append(ops.head_object(t, "bucket", "k")[0])
    out.append(ops.get_object(t, "bucket", "k", (0, 3))[0])
    out.append(ops.delete_object(t, "bucket", "k"))
    status, uid = ops.initiate_multipart_upload(t, "bucket", "k")
    assert (not status.is_ok()) or (isinstance(uid, str) and uid)
    out.append(status)
    out.append(ops.upload_part(t, "bucket", "k", "u", 1, b"part", expect_crc=2)[0])
    out.append(ops.complete_multipart_upload(t, "bucket", "k", "u", [(1, '"E"')])[0])
    out.append(ops.abort_multipart_upload(t, "bucket", "k", "u"))
    out.append(ops.list_parts(t, "bucket", "k", "u")[0])
    out.append(ops.list_multipart_uploads(t, "bucket", "k")[0])
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.data())
def test_every_op_gives_a_status_for_any_response(data):
    def respond(_request):
        return data.draw(responses)

    t = fake_transport(respond)
    try:
        for status in _call_every_op(t):
            assert isinstance(status, st.Status)
            assert status.is_ok() or status.code != 0
    finally:
        t.close()


@settings(max_examples=200, deadline=None)
@given(hs.integers(0, 2**32), hs.floats(0.2, 1.0))
def test_every_op_gives_a_status_for_damaged_plausible_responses(seed, rate):
    t = fake_transport(damaging(FakeOss(b"0123456789"), seed, rate))
    try:
        statuses = _call_every_op(t)
    finally:
        t.close()
    assert all(isinstance(s, st.Status) for s in statuses)


def test_a_damaged_xml_declaration_is_a_retried_980():
    # the LookupError: encoding="UUF-8"
    answers = iter([(200, {}, b'<?xml version="1.0" encoding="UUF-8"?><InitiateMultipartUploadResult/>')] * 2)
    t = fake_transport(lambda _r: next(answers))
    status, uid = ops.initiate_multipart_upload(t, "bucket", "k")
    assert (status.code, status.error_code, uid) == (st.XML_PARSE_ERROR, "XmlParseError", None)


def test_a_proxy_page_then_the_real_answer_succeeds_on_retry():
    fake = FakeOss()
    answers = iter([(200, {"Content-Type": "text/html"}, b"<html><body>proxy</body></html>")])
    t = fake_transport(lambda r: next(answers, None) or fake.answer(r))
    status, uid = ops.initiate_multipart_upload(t, "bucket", "k")
    assert status.is_ok() and uid == "UPLOAD0001"


@pytest.mark.parametrize("name,value", [("Content-Length", "1x3"), ("Content-Length", "-5"),
                                        ("x-oss-hash-crc64ecma", "12ab"), ("ETag", ""),
                                        ("Last-Modified", "yesterday")])
def test_a_broken_head_header_is_a_996(name, value):
    good = FakeOss(b"abc").answer

    def respond(request):
        code, headers, body = good(request)
        headers[name] = value
        return code, headers, body

    t = fake_transport(respond)
    status, meta = ops.head_object(t, "bucket", "k")
    assert (status.code, meta) == (st.INTERNAL_ERROR, None)
    assert name in status.error_msg


def test_an_error_body_with_a_damaged_declaration_is_still_a_status():
    body = b'<?xml version="1.0" encoding="UUF-8"?><Error><Code>NoSuchKey</Code></Error>'
    status = st.status_from_response(404, {}, body)
    assert (status.code, status.error_code) == (404, "UnknownError")


def _options(**kw):
    return oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="AK",
                                      access_key_secret="SK", region="cn-hangzhou", max_retries=1,
                                      backoff_base=0.0, backoff_cap=0.0, **kw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=hs.integers(0, 2**32), rate=hs.floats(0.0, 0.6), checkpoint=hs.booleans())
def test_upload_engine_returns_a_status_under_damaged_responses(tmp_path_factory, seed, rate, checkpoint):
    d = tmp_path_factory.mktemp("up")
    path = d / "f.bin"
    path.write_bytes(random.Random(seed).randbytes(300 * 1024))
    clt = oss.create_resumable_clt_params(100 * 1024, 2, checkpoint, str(d / "cp") if checkpoint else None)
    with installed(damaging(FakeOss(), seed, rate)):
        status = oss.resumable_upload_file(_options(), "bucket", "k", str(path), clt_params=clt)
    assert isinstance(status, st.Status)
    assert status.is_ok() or status.error_code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=hs.integers(0, 2**32), rate=hs.floats(0.0, 0.6), checkpoint=hs.booleans())
def test_download_engine_returns_a_status_under_damaged_responses(tmp_path_factory, seed, rate, checkpoint):
    d = tmp_path_factory.mktemp("down")
    content = random.Random(seed).randbytes(250 * 1024)
    clt = oss.create_resumable_clt_params(100 * 1024, 2, checkpoint, str(d / "cp") if checkpoint else None)
    with installed(damaging(FakeOss(content), seed, rate)):
        status = oss.resumable_download_file(_options(), "bucket", "k", str(d / "out"), clt_params=clt)
    assert isinstance(status, st.Status)
    assert status.is_ok() or status.error_code


def test_damage_changes_the_answer():
    rng = random.Random(3)
    base = (200, {"ETag": '"x"', "Content-Length": "3"}, b"abc")
    assert any(damage(base, rng) != base for _ in range(20))
