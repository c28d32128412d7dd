"""The response parsers are total: any input gives a value or None, and valid input round-trips."""
from __future__ import annotations

import calendar
import logging
import random
import time
from email.utils import formatdate

from hypothesis import given, settings
from hypothesis import strategies as hs

import ossresume_c as oss
from ossresume_c import wire
from wire_fakes import FakeOss, installed

anything = hs.one_of(hs.none(), hs.text(max_size=60), hs.binary(max_size=60), hs.integers(),
                     hs.floats(allow_nan=True))


@settings(deadline=None)   # timing varies on a loaded machine
@given(anything)
def test_parsers_never_raise(value):
    assert wire.uint(value) is None or isinstance(wire.uint(value), int)
    assert wire.content_range(value) is None or len(wire.content_range(value)) == 3
    assert wire.http_date(value) is None or isinstance(wire.http_date(value), float)
    assert wire.iso8601(value) is None or isinstance(wire.iso8601(value), float)
    assert wire.etag(value) is None or isinstance(wire.etag(value), str)
    assert wire.xml_root(value) is None or wire.xml_root(value).tag


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.binary(max_size=300))
def test_xml_root_never_raises_on_bytes(body):
    wire.xml_root(body)
    wire.xml_root(b'<?xml version="1.0" encoding="UUF-8"?>' + body)


def test_xml_root_rejects_a_damaged_declaration_and_html():
    assert wire.xml_root(b'<?xml version="1.0" encoding="UUF-8"?><a/>') is None
    assert wire.xml_root(b"<html><body>502<br></body></html>") is None
    assert wire.xml_root(b"<a><b>1</b></a>").find("b").text == "1"


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.integers(0, wire.UINT64_MAX))
def test_uint_round_trips(n):
    assert wire.uint(str(n)) == n


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.text(max_size=25))
def test_uint_accepts_only_ascii_digits(text):
    got = wire.uint(text)
    if got is not None:
        assert text.isascii() and text.isdigit() and int(text) == got <= wire.UINT64_MAX


def test_uint_refuses_what_int_would_take():
    for text in ("1_000", " 12", "+3", "-1", "\u0663", "18446744073709551616", ""):
        assert wire.uint(text) is None


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.integers(0, 2**40), hs.integers(0, 2**40), hs.integers(1, 2**41))
def test_content_range_round_trips(first, length, extra):
    last, total = first + length, first + length + extra
    assert wire.content_range(f"bytes {first}-{last}/{total}") == (first, last, total)
    assert wire.content_range(f"bytes {first}-{last}/*") == (first, last, None)
    assert wire.content_range(f"bytes {last + 1}-{first}/{total}") is None
    assert wire.content_range(f"bytes {first}-{last}/{last}") is None


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.integers(0, 2**33))
def test_http_date_round_trips(epoch):
    assert wire.http_date(formatdate(epoch, usegmt=True)) == float(epoch)


@settings(deadline=None)   # timing varies on a loaded machine
@given(hs.integers(0, 2**33), hs.integers(0, 999))
def test_iso8601_round_trips(epoch, ms):
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{ms:03d}Z"
    assert wire.iso8601(text) == epoch + ms / 1000


def test_iso8601_refuses_impossible_dates():
    assert wire.iso8601("2026-13-01T00:00:00.000Z") is None
    assert wire.iso8601("2026-11-30T25:00:00Z") is None
    assert wire.iso8601("2026-11-30T10:00:00.000Z") == calendar.timegm((2026, 11, 30, 10, 0, 0))


def test_etag_takes_oss_etags_and_refuses_garbage():
    assert wire.etag('"5B3C1A"') == '"5B3C1A"'
    assert wire.etag('W/"x"') == 'W/"x"'
    for bad in ("", '""', '"a"b"', "\x7f", "\u00e9", "a\tb"):
        assert wire.etag(bad) is None


@settings(deadline=None)   # timing varies on a loaded machine
@given(first=hs.integers(0, 10**6), size=hs.integers(1, 10**6), tail=hs.integers(0, 10**6),
       code=hs.sampled_from([200, 206, 204, 416, 500]), length=hs.one_of(hs.none(), hs.text(max_size=12)),
       crange=hs.one_of(hs.none(), hs.text(max_size=30)))
def test_range_reply_problem_is_total(first, size, tail, code, length, crange):
    last, total = first + size - 1, first + size + tail
    problem = wire.range_reply_problem(code, length, crange, first, last, total)
    assert isinstance(problem, str)
    if not problem:   # accepted: it really is the part
        assert code in (200, 206)
        assert length is None or wire.uint(length) == size
        if code == 206:
            assert wire.content_range(crange)[:2] == (first, last)
        else:
            assert size == total


@settings(deadline=None)   # timing varies on a loaded machine
@given(first=hs.integers(0, 10**6), size=hs.integers(1, 10**6), tail=hs.integers(0, 10**6))
def test_range_reply_problem_accepts_the_right_answer(first, size, tail):
    last, total = first + size - 1, first + size + tail
    assert wire.range_reply_problem(206, str(size), f"bytes {first}-{last}/{total}", first, last, total) == ""
    assert wire.range_reply_problem(206, None, f"bytes {first}-{last}/*", first, last, total) == ""
    assert wire.range_reply_problem(206, str(size + 1), f"bytes {first}-{last}/{total}", first, last, total)
    assert wire.range_reply_problem(206, str(size), f"bytes {first}-{last + 1}/{total + 1}", first, last, total)
    assert wire.range_reply_problem(200, str(size), None, first, last, total) == ("" if tail == 0 and first == 0
                                                                                   else "HTTP 200 instead of 206")


def test_download_worker_retries_a_broken_content_length(tmp_path, caplog):
    """The issue's ValueError: a damaged Content-Length in a ranged GET is retried, no traceback."""
    content = random.Random(1).randbytes(300 * 1024)
    fake = FakeOss(content)
    broken = {"n": 0}

    def respond(request):
        code, headers, body = fake.answer(request)
        if request.method == "GET" and broken["n"] < 2:
            broken["n"] += 1
            headers["Content-Length"] = "1x" + headers["Content-Length"]
            headers["Content-Range"] = "bytes garbage"
        return code, headers, body

    options = oss.request_options_create(endpoint="http://127.0.0.1:9", access_key_id="AK",
                                         access_key_secret="SK", region="cn-hangzhou",
                                         max_retries=3, backoff_base=0.0, backoff_cap=0.0)
    clt = oss.create_resumable_clt_params(100 * 1024, 1, False, None)
    caplog.set_level(logging.INFO, logger="ossresume_c")
    with installed(respond):
        status = oss.resumable_download_file(options, "bucket", "k", str(tmp_path / "out"), clt_params=clt)
    assert status.is_ok(), status
    assert (tmp_path / "out").read_bytes() == content
    assert broken["n"] == 2
    assert "unexpectedly" not in caplog.text
