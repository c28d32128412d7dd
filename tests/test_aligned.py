"""aligned.py: buffers that start on a page boundary, hold what a plain bytearray holds,
and take the same pread + CRC-64 (native.read_part) with the same result."""
from __future__ import annotations

import ctypes
import mmap
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as stt

from ossresume_c import aligned, native

BLOB = 3 << 20


def _address(buf) -> int:
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


@pytest.fixture(scope="module")
def blob_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("aligned") / "blob.bin"
    data = os.urandom(BLOB)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


@given(size=stt.integers(min_value=0, max_value=4 << 20))
@settings(max_examples=60, deadline=None)
def test_page_aligned_buffers_start_on_a_page_and_are_zeroed_and_writable(size):
    buf = aligned.page_aligned(size)
    assert len(buf) == max(size, 1)
    assert _address(buf) % mmap.PAGESIZE == 0
    view = memoryview(buf)
    assert not view.readonly
    assert view[:64].tobytes() == bytes(min(len(buf), 64)) and view[-1] == 0
    view[-1] = 0xA5
    assert buf[len(buf) - 1] == 0xA5
    view.release()


@given(offset=stt.integers(min_value=0, max_value=BLOB), length=stt.integers(min_value=0, max_value=1 << 20),
       seed=stt.integers(min_value=0, max_value=(1 << 64) - 1))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_read_part_into_an_aligned_buffer_equals_a_bytearray(blob_file, offset, length, seed):
    fd, data = blob_file
    page, heap = aligned.page_aligned(1 << 20), bytearray(1 << 20)
    a = native.read_part(fd, offset, length, page, crc_seed=seed)
    b = native.read_part(fd, offset, length, heap, crc_seed=seed)
    assert a == b
    assert a.bytes_read == len(data[offset:offset + length])
    assert page[:a.bytes_read] == heap[:b.bytes_read] == data[offset:offset + length]
    assert a.crc64 == native.crc64(data[offset:offset + length], seed)


PRINTABLE = stt.text(alphabet=stt.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@given(value=stt.one_of(stt.none(), PRINTABLE, stt.sampled_from(["heap", " HEAP ", "page", "Page"])))
@settings(max_examples=60, deadline=None)
def test_the_buffer_mode_from_the_environment(value):
    before = os.environ.get("OSSRESUME_PART_BUFFER")
    try:
        if value is None:
            os.environ.pop("OSSRESUME_PART_BUFFER", None)
        else:
            os.environ["OSSRESUME_PART_BUFFER"] = value
        expect = "heap" if value is not None and value.strip().lower() == "heap" else "page"
        assert aligned.mode_from_env() == expect
        buf = aligned.scratch(4096)
        assert len(buf) == 4096
        assert isinstance(buf, bytearray) == (expect == "heap")
        assert isinstance(buf, mmap.mmap) == (expect == "page")
    finally:
        if before is None:
            os.environ.pop("OSSRESUME_PART_BUFFER", None)
        else:
            os.environ["OSSRESUME_PART_BUFFER"] = before


def test_an_explicit_mode_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("OSSRESUME_PART_BUFFER", "heap")
    assert isinstance(aligned.scratch(10, "page"), mmap.mmap)
    monkeypatch.setenv("OSSRESUME_PART_BUFFER", "page")
    assert isinstance(aligned.scratch(10, "heap"), bytearray)
