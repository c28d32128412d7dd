"""The C++ SDK's checkpoint records (ossresume_c.cpp_checkpoint).

Byte-exact against jsoncpp itself (tests/data/cpp/jsoncpp_vectors.json, written
by ci/cpp_interop/jsoncpp_vectors.cc with the SDK's own jsoncpp) and against
records a real C++ SDK run left behind (tests/data/cpp/, see its README);
hypothesis for round trips and for corruption, which must be rejected cleanly.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ossresume_c import cpp_checkpoint as cc
from ossresume_c.cpp_checkpoint import (CppCheckpointInvalid, DownloadedPart, DownloadRecord,
                                        UploadRecord)
from ossresume_c.testing.strategies import corrupt

DATA = Path(__file__).parent / "data" / "cpp"
UINT64 = 2**64 - 1
INT64 = 2**63 - 1
FAST = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# jsoncpp 1.8.4 writes code points from U+40000 up wrongly (see _next_codepoint),
# and a str cannot hold lone surrogates in a file: the lossless alphabet is the rest.
lossless_text = st.text(st.characters(max_codepoint=0x3FFFF, blacklist_categories=["Cs"]),
                        max_size=40)
any_text = st.text(max_size=40)
upload_ids = st.text("0123456789ABCDEF", min_size=32, max_size=32)


@st.composite
def upload_records(draw, text=lossless_text) -> UploadRecord:
    part_size = draw(st.one_of(st.sampled_from([100 * 1024, 8 << 20]), st.integers(1, 5 << 30)))
    size = draw(st.integers(0, min(INT64, part_size * cc.MAX_PARTS)))
    return UploadRecord(upload_id=draw(upload_ids), file_path=draw(text), bucket=draw(text),
                        key=draw(text), mtime=cc.http_date(draw(st.integers(0, 2**33))),
                        size=size, part_size=part_size)


@st.composite
def download_records(draw, text=lossless_text) -> DownloadRecord:
    part_size = draw(st.one_of(st.sampled_from([100 * 1024, 64]), st.integers(1, 1 << 40)))
    count = draw(st.integers(0, 40))
    size = 0 if count == 0 else (count - 1) * part_size + draw(st.integers(1, part_size))
    numbers = draw(st.lists(st.integers(1, count), unique=True)) if count else []
    parts = [DownloadedPart(n, min(part_size, size - (n - 1) * part_size), draw(st.integers(0, UINT64)))
             for n in numbers]
    return DownloadRecord(bucket=draw(text), key=draw(text), file_path=draw(text), mtime="",
                          size=size, part_size=part_size, parts=parts)


def same(a, b) -> bool:
    return dataclasses.replace(a, md5sum="") == dataclasses.replace(b, md5sum="")


# -- round trips -------------------------------------------------------------------

@FAST
@given(upload_records())
def test_upload_record_round_trip(rec):
    data = cc.dump_upload(rec)
    loaded = cc.load(data)
    assert isinstance(loaded, UploadRecord) and same(loaded, rec)
    assert cc.dump_upload(loaded) == data
    assert data.isascii() and not data.endswith(b"\n")


@FAST
@given(download_records())
def test_download_record_round_trip(rec):
    data = cc.dump_download(rec)
    loaded = cc.load(data)
    assert isinstance(loaded, DownloadRecord) and same(loaded, rec)
    assert cc.dump_download(loaded) == data


@FAST
@given(st.one_of(upload_records(text=any_text), download_records(text=any_text)))
def test_any_text_loads_back_or_is_refused_as_the_sdk_would(rec):
    """Outside the lossless alphabet the SDK cannot read its own record back
    (its md5Sum no longer matches); neither do we, but we never crash."""
    data = cc.dump_upload(rec) if isinstance(rec, UploadRecord) else cc.dump_download(rec)
    try:
        loaded = cc.load(data)
    except CppCheckpointInvalid as exc:
        assert "md5Sum" in exc.reason or "unencodable" in exc.reason
    else:
        assert same(loaded, rec)


def test_ranged_download_records_are_read_with_the_sdks_validation_rule():
    """The SDK writes md5Sum without the range keys but validates with them, so
    it never resumes its own ranged downloads; we read by its validation rule."""
    rec = DownloadRecord("b", "k", "/f", "", 1000, 100, [DownloadedPart(1, 100, 5)], 0, 499)
    written = cc.dump_download(rec)
    assert b'"rangeStart" : 0' in written and b'"rangeEnd" : 499' in written
    with pytest.raises(CppCheckpointInvalid, match="md5Sum"):
        cc.load(written)
    doc = json.loads(written)
    doc["md5Sum"] = hashlib.md5(cc.jsoncpp_dumps({k: v for k, v in doc.items() if k != "md5Sum"})
                                ).hexdigest().upper()
    loaded = cc.load(cc.jsoncpp_dumps(doc))
    assert isinstance(loaded, DownloadRecord) and loaded.has_range and loaded.range_end == 499


# -- corruption ----------------------------------------------------------------------

@FAST
@given(st.data(), st.one_of(upload_records(), download_records()))
def test_corrupt_records_are_rejected_cleanly(data, rec):
    document = cc.dump_upload(rec) if isinstance(rec, UploadRecord) else cc.dump_download(rec)
    mutated = data.draw(corrupt(document))
    try:
        loaded = cc.load(mutated)
    except CppCheckpointInvalid as exc:
        assert exc.reason and "\n" not in exc.reason
    else:
        # md5Sum covers every value: whatever still loads is the same record.
        assert same(loaded, rec)


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(blob):
    with pytest.raises(CppCheckpointInvalid):
        cc.load(blob)


@pytest.mark.parametrize("doc, reason", [
    ({"opType": "ResumableCopy"}, "opType"),
    ({"opType": "ResumableUpload", "size": "10"}, "size is not an integer"),
    ({"opType": "ResumableUpload", "size": True}, "size is not an integer"),
    ({"opType": "ResumableUpload", "size": 1.5}, "size is not an integer"),
    ({"opType": "ResumableUpload", "size": -1}, "out of range"),
    ({"opType": "ResumableUpload", "uploadID": 7}, "uploadID is not a string"),
    ({"opType": "ResumableDownload", "parts": {}}, "parts is not an array"),
    ({"opType": "ResumableDownload", "parts": [1]}, "not an object"),
    ({"opType": "ResumableDownload", "rangeStart": 1}, "together"),
])
def test_wrong_types_are_refused(doc, reason):
    with pytest.raises(CppCheckpointInvalid, match=reason):
        cc.load(json.dumps(doc).encode())


def _signed(doc: dict) -> bytes:
    """A document with a correct md5Sum, to reach the checks after it."""
    doc = dict(doc)
    doc["md5Sum"] = hashlib.md5(cc.jsoncpp_dumps(doc)).hexdigest().upper()
    return cc.jsoncpp_dumps(doc)


@pytest.mark.parametrize("changes, reason", [
    ({"partSize": 0}, "not positive"),
    ({"size": 10001, "partSize": 1}, "more than 10000"),
    ({"parts": [{"partNumber": 3, "size": 100, "crc64": 1}]}, "outside 1..2"),
    ({"parts": [{"partNumber": 1, "size": 100, "crc64": 1}] * 2}, "twice"),
    ({"parts": [{"partNumber": 2, "size": 100, "crc64": 1}]}, "not 50"),
])
def test_layouts_the_engine_cannot_use_are_refused_even_with_a_good_md5(changes, reason):
    doc = {"opType": "ResumableDownload", "bucket": "b", "key": "k", "filePath": "/f", "mtime": "",
           "size": 150, "partSize": 100, "parts": []}
    doc.update(changes)
    with pytest.raises(CppCheckpointInvalid, match=reason):
        cc.load(_signed(doc))


def test_upload_record_without_upload_id_is_refused():
    doc = {"opType": "ResumableUpload", "bucket": "b", "key": "k", "filePath": "/f",
           "mtime": cc.http_date(0), "size": 10, "partSize": 5, "uploadID": ""}
    with pytest.raises(CppCheckpointInvalid, match="no uploadID"):
        cc.load(_signed(doc))


# -- the SDK's own bytes -------------------------------------------------------------

def _vectors():
    path = DATA / "jsoncpp_vectors.json"
    return json.loads(path.read_text())["vectors"] if path.exists() else []


def _record_from_vector(inp):
    text = [bytes.fromhex(h).decode("utf-8", "surrogateescape") for h in inp[1:5]]
    if inp[0] == "u":
        return UploadRecord(upload_id=bytes.fromhex(inp[5]).decode("utf-8", "surrogateescape"),
                            file_path=text[2], bucket=text[0], key=text[1], mtime=text[3],
                            size=inp[6], part_size=inp[7])
    return DownloadRecord(bucket=text[0], key=text[1], file_path=text[2], mtime=text[3],
                          size=inp[5], part_size=inp[6],
                          parts=[DownloadedPart(n, s, c) for n, s, c in inp[7]])


def test_jsoncpp_vectors_are_present():
    assert len(_vectors()) >= 200


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["name"])
def test_dump_is_byte_exact_with_the_sdks_jsoncpp(vector):
    rec = _record_from_vector(vector["input"])
    expected = bytes.fromhex(vector["output"])
    # Unchecked: the vectors reach values no valid record holds.
    doc = cc.upload_document(rec) if isinstance(rec, UploadRecord) else cc.download_document(rec)
    assert cc.signed_bytes(doc) == expected


def test_record_names():
    assert cc.upload_record_name("b", "k", "/f") == (
        hashlib.md5(b"/f").hexdigest().upper() + "--" + hashlib.md5(b"oss://b/k").hexdigest().upper())
    assert cc.download_record_name("b", "k", "/f") == (
        hashlib.md5(b"oss://b/k").hexdigest().upper() + "--" + hashlib.md5(b"/f").hexdigest().upper())
    assert cc.download_record_name("b", "k", "/f", "v1").startswith(
        hashlib.md5(b"oss://b/k?versionId=v1").hexdigest().upper())
    # Undecodable bytes of a POSIX path (os.fsdecode) hash as the bytes themselves.
    assert cc.upload_record_name("b", "k", b"/\xff".decode("utf-8", "surrogateescape")).startswith(
        hashlib.md5(b"/\xff").hexdigest().upper())


@given(st.integers(-(2**31), 2**37))
def test_http_date_round_trip(seconds):
    text = cc.http_date(seconds)
    assert text.endswith(" GMT") and cc.http_date_seconds(text) == seconds


def test_http_date_matches_to_gmt_time():
    assert cc.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert cc.http_date(1795247754) == "Sat, 21 Nov 2026 07:55:54 GMT"
    with pytest.raises(ValueError):
        cc.http_date_seconds("Thu, 1 Jan 1970 00:00:00 GMT")
