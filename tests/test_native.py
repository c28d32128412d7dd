"""ossresume_c.native: CRC-64 (every CPU path), combine, MD5, the fused part reader/writer."""
from __future__ import annotations

import errno
import hashlib
import json
import mmap
import os
import platform
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crc64_reference as ref
from ossresume_c import native
from ossresume_c._native import ffi, lib

DATA = Path(__file__).parent / "data"
CSRC = Path(__file__).resolve().parent.parent / "csrc"
VECTORS = json.loads((DATA / "crc64.json").read_text())
IMPLS = native.implementations()
ALL_IMPLS = [ffi.string(lib.osr_crc64_impl_name(i)).decode() for i in range(lib.osr_crc64_impl_count())]
MASK64 = (1 << 64) - 1
CHUNK = 1 << 20  # the part reader's chunk (csrc/part_io.c)

VECTOR_INPUTS = {
    "empty": b"",
    "check": b"123456789",
    "ebs": b"This is a test of the emergency broadcast system.",
    "a": b"a",
    "zeros_100k": bytes(102400),
    "ramp_1MiB": bytes(range(256)) * 4096,
}

seeds = st.integers(min_value=0, max_value=MASK64)


def _every_vector() -> List[dict]:
    vectors = VECTORS["vectors"]
    assert {v["name"] for v in vectors} == set(VECTOR_INPUTS), "a vector this test cannot rebuild"
    return vectors


# ---- the implementations this machine has -------------------------------------


def test_portable_always_available_and_best_selected_by_default():
    assert IMPLS[-1] == "portable"
    assert set(IMPLS) <= set(ALL_IMPLS)
    assert native.implementation in IMPLS
    if not os.environ.get("OSSRESUME_CRC64_IMPL"):
        assert native.implementation == IMPLS[0]


def test_x86_paths_follow_cpu_flags():
    if platform.machine().lower() not in ("x86_64", "amd64") or not os.path.exists("/proc/cpuinfo"):
        pytest.skip("x86-64 Linux only (reads /proc/cpuinfo)")
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    assert ("pclmulqdq" in IMPLS) == ({"pclmulqdq", "sse4_1"} <= flags)
    assert ("avx2_vpclmulqdq" in IMPLS) == ({"avx2", "vpclmulqdq"} <= flags)
    assert ("avx512_vpclmulqdq" in IMPLS) == ({"avx512f", "avx512vl", "vpclmulqdq"} <= flags)


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError):
        native.crc64_with("no-such-path", b"x")
    # the C side never runs an unavailable path: it falls back to the portable one
    assert lib.osr_crc64_update_with(999, 0, b"123456789", 9) == VECTORS["vectors"][1]["crc64"]
    assert lib.osr_crc64_select(-1) == -1 and lib.osr_crc64_select(999) == -1
    assert ffi.NULL == lib.osr_crc64_impl_name(999)


# ---- published vectors ---------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_every_vector_on_every_path(impl):
    for vec in _every_vector():
        data = VECTOR_INPUTS[vec["name"]]
        assert int(vec["hex"], 16) == vec["crc64"]
        assert native.crc64_with(impl, data) == vec["crc64"], vec["name"]


def test_every_vector_through_the_public_api():
    for vec in _every_vector():
        data = VECTOR_INPUTS[vec["name"]]
        assert native.crc64(data) == vec["crc64"]
        assert native.Crc64(data).crcvalue == vec["crc64"]
        assert native.Crc64().update(data).hexdigest() == vec["hex"][2:].lower()
        assert native.Crc64(data).digest() == vec["crc64"].to_bytes(8, "big")


def test_vectors_against_the_bitwise_reference():
    for vec in _every_vector():
        data = VECTOR_INPUTS[vec["name"]]
        if len(data) <= 102400:
            assert ref.crc64(data) == vec["crc64"], vec["name"]


def test_combine_vector():
    case = VECTORS["combine"]
    ramp = VECTOR_INPUTS["ramp_1MiB"]
    a, b = ramp[:300000], ramp[300000:]
    assert len(b) == case["len_b"]
    assert native.crc64(a) == case["crc_a"] and native.crc64(b) == case["crc_b"]
    assert native.crc64_combine(case["crc_a"], case["crc_b"], case["len_b"]) == case["crc_ab"]


def test_constants_in_the_c_sources_are_the_derived_ones():
    """The fold and Barrett constants written in the SIMD files, recomputed from P."""
    expected = {}
    for bits in (128, 256, 512, 1024, 2048, 4096):
        lo, hi = ref.fold_constants(bits)
        expected[f"K{bits}_LO"], expected[f"K{bits}_HI"] = lo, hi
    expected["BARRETT_MU"], expected["BARRETT_P"] = ref.barrett_constants()
    for name in ("crc64_x86.c", "crc64_arm.c"):
        found = dict(re.findall(r"#define (K\d+_(?:LO|HI)|BARRETT_\w+) 0x([0-9a-fA-F]+)ULL",
                                (CSRC / name).read_text()))
        assert len(found) >= 8, name
        for key, value in found.items():
            assert int(value, 16) == expected[key], (name, key)


def test_folding_model_matches_the_definition():
    rnd = random.Random(7)
    for n in list(range(70)) + [127, 128, 129, 1000]:
        data = rnd.randbytes(n)
        seed = rnd.getrandbits(64)
        assert ref.crc64_folding_model(data, seed) == ref.crc64(data, seed)


# ---- every path == the reference ------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2500), seed=seeds)
def test_every_path_matches_reference(data, seed):
    want = ref.crc64_fast(data, seed)
    for impl in IMPLS:
        assert native.crc64_with(impl, data, seed) == want, impl


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=6000), cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=5),
       seed=seeds)
def test_random_splits_chain_on_every_path(data, cuts, seed):
    bounds = sorted({0, len(data), *[min(c, len(data)) for c in cuts]})
    want = native.crc64_with("portable", data, seed)
    for impl in IMPLS:
        crc = seed
        for lo, hi in zip(bounds, bounds[1:]):
            crc = native.crc64_with(impl, memoryview(data)[lo:hi], crc)
        assert crc == want, impl
    h = native.Crc64(crc=seed)
    for lo, hi in zip(bounds, bounds[1:]):
        h.update(data[lo:hi])
    assert h.crcvalue == want


def test_every_length_and_alignment_up_to_4096():
    """Lengths 0..4096 at 8 alignments cross every fold/loop boundary of every path
    (16-byte blocks, 64/128/256/512-byte loops and their set-up thresholds)."""
    rnd = random.Random(4096)
    blob = rnd.randbytes(4096 + 64)
    for align in (0, 1, 3, 7, 8, 15, 31, 63):
        seed = rnd.getrandbits(64)
        window = blob[align:align + 4096]
        prefix = [seed]  # prefix[n] = crc of window[:n], by the reference, one byte at a time
        reg = seed ^ MASK64
        for byte in window:
            reg = ref._TABLE[(reg ^ byte) & 0xFF] ^ (reg >> 8)
            prefix.append(reg ^ MASK64)
        buf = memoryview(bytearray(blob))[align:align + 4096]
        for impl in IMPLS:
            index = ALL_IMPLS.index(impl)
            bad = [n for n in range(4097)
                   if lib.osr_crc64_update_with(index, seed, ffi.from_buffer(buf[:n]), n) != prefix[n]]
            assert not bad, (impl, align, bad[:10])


@pytest.mark.parametrize("center", [1 << 16, CHUNK, 3 * CHUNK])
def test_long_lengths_around_big_boundaries(center):
    rnd = random.Random(center)
    blob = rnd.randbytes(center + 600)
    for n in (center - 513, center - 17, center - 1, center, center + 1, center + 15, center + 511):
        view = memoryview(blob)[5:5 + n]
        results = {impl: native.crc64_with(impl, view, 12345) for impl in IMPLS}
        assert len(set(results.values())) == 1, (n, results)
    # and the common value is right: chained from 4 KiB pieces, a size the
    # length-by-length test checks against the reference
    n = center + 1
    crc = 12345
    for lo in range(5, 5 + n, 4096):
        crc = native.crc64_with("portable", blob[lo:min(lo + 4096, 5 + n)], crc)
    assert native.crc64_with(IMPLS[0], memoryview(blob)[5:5 + n], 12345) == crc


# ---- combine ----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(a=st.binary(max_size=700), b=st.binary(max_size=700), x=seeds)
def test_combine_laws(a, b, x):
    ca, cb = native.crc64(a), native.crc64(b)
    assert native.crc64_combine(ca, cb, len(b)) == native.crc64(a + b) == ref.crc64_fast(a + b)
    assert native.crc64_combine(ca, cb, len(b)) == ref.crc64_combine(ca, cb, len(b))
    assert native.crc64_combine(x, ca, 0) == x


@settings(max_examples=150, deadline=None)
@given(a=seeds, b=seeds, c=seeds, n=st.integers(0, 1 << 62), m=st.integers(0, 1 << 62))
def test_combine_is_associative_and_linear_for_huge_lengths(a, b, c, n, m):
    if n == 0:
        b = 0  # the only CRC a zero-length piece can have
    if m == 0:
        c = 0
    combine = native.crc64_combine
    assert combine(combine(a, b, n), c, m) == combine(a, combine(b, c, m), n + m)
    assert combine(a, 0, n) ^ combine(b, 0, n) == combine(a ^ b, 0, n)


def test_combine_matches_appending_zeros():
    for n in (1, 7, 8, 9, 100, 4096, 65537):
        zeros = bytes(n)
        assert native.crc64_combine(0xDEADBEEF12345678, native.crc64(zeros), n) == \
            native.crc64(zeros, 0xDEADBEEF12345678)


# ---- hashlib-style objects ------------------------------------------------------------


def test_crc64_object_behaves_like_hashlib():
    h = native.Crc64(b"1234")
    g = h.copy()
    h.update(b"56789")
    assert g.crcvalue == native.crc64(b"1234")
    assert h.crcvalue == int(VECTORS["vectors"][1]["hex"], 16)
    assert h.digest_size == len(h.digest()) == 8 and h.name == "crc64"
    assert h.hexdigest() == h.digest().hex()
    assert native.Crc64().crcvalue == 0 and native.Crc64().hexdigest() == "0" * 16
    with pytest.raises(TypeError):
        native.crc64("text")  # type: ignore[arg-type]


def test_buffers_of_every_kind_are_accepted(tmp_path):
    data = bytes(range(256)) * 40
    want = native.crc64(data)
    assert native.crc64(bytearray(data)) == want
    assert native.crc64(memoryview(data)) == want
    assert native.crc64(memoryview(data).cast("I")) == want
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert native.crc64(mm) == want
        assert native.md5(mm).digest() == hashlib.md5(data).digest()


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=6))
def test_md5_matches_hashlib(data, cuts):
    h = native.Md5()
    bounds = sorted({0, len(data), *[min(c, len(data)) for c in cuts]})
    for lo, hi in zip(bounds, bounds[1:]):
        h.update(memoryview(data)[lo:hi])
    assert h.digest() == hashlib.md5(data).digest()
    assert h.hexdigest() == hashlib.md5(data).hexdigest()
    assert native.md5(data).digest() == hashlib.md5(data).digest()


def test_md5_block_boundaries_copy_and_repeatable_digest():
    rnd = random.Random(5)
    blob = rnd.randbytes(300)
    for n in range(300):
        assert native.md5(blob[:n]).digest() == hashlib.md5(blob[:n]).digest(), n
    big = rnd.randbytes(3 << 20)
    assert native.md5(big).hexdigest() == hashlib.md5(big).hexdigest()
    h = native.md5(b"abc")
    g = h.copy()
    assert h.digest() == h.digest() == hashlib.md5(b"abc").digest()
    g.update(b"def")
    assert g.digest() == hashlib.md5(b"abcdef").digest()
    assert h.digest() == hashlib.md5(b"abc").digest()
    assert h.digest_size == 16 and h.block_size == 64 and h.name == "md5"


# ---- the environment variable forces a path -----------------------------------------


PROBE = ("from ossresume_c import native; "
         "print(native.implementation); print(native.crc64(bytes(range(256)) * 4096))")


def _probe(value):
    env = dict(os.environ)
    env.pop("OSSRESUME_CRC64_IMPL", None)
    if value is not None:
        env["OSSRESUME_CRC64_IMPL"] = value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    return out[0], int(out[1])


def test_env_var_forces_each_path():
    ramp_crc = VECTORS["vectors"][-1]["crc64"]
    for impl in IMPLS:
        assert _probe(impl) == (impl, ramp_crc)
    assert _probe(None) == (IMPLS[0], ramp_crc)
    assert _probe("not-a-path") == (IMPLS[0], ramp_crc)  # unknown: the best available


# ---- fused part reader / writer --------------------------------------------------------


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("native") / "sample.bin"
    data = random.Random(99).randbytes(3 * CHUNK + 4321)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


def _expected(data, offset, length, seed=0):
    got = data[offset:offset + length]
    return len(got), native.crc64_with("portable", got, seed), hashlib.md5(got).digest()


RANGES = [(0, 0), (5, 0), (0, 1), (0, CHUNK), (1, CHUNK), (CHUNK - 1, 2), (CHUNK - 7, CHUNK + 14),
          (0, 3 * CHUNK + 4321), (100, 3 * CHUNK + 4321),            # runs past EOF
          (3 * CHUNK, 10 * CHUNK), (3 * CHUNK + 4321, 10), (10 * CHUNK, 5)]  # at / beyond EOF


@pytest.mark.parametrize("offset,length", RANGES)
def test_read_part_equals_read_then_hash(sample_file, offset, length):
    fd, data = sample_file
    n, crc, md5 = _expected(data, offset, length, 42)
    buf = bytearray(length + 3)
    got = native.read_part(fd, offset, length, buf, crc_seed=42, want_md5=True)
    assert got == native.PartRead(n, crc, md5)
    assert bytes(buf[:n]) == data[offset:offset + n]
    assert native.read_part(fd, offset, length, buf, crc_seed=42) == native.PartRead(n, crc, None)
    # hash-only: no buffer, an internal 1 MiB scratch
    assert native.read_part(fd, offset, length, crc_seed=42, want_md5=True) == native.PartRead(n, crc, md5)
    assert native.crc64_file_range(fd, offset, length) == (n, native.crc64(data[offset:offset + n]))


@settings(max_examples=40, deadline=None)
@given(offset=st.integers(0, 3 * CHUNK + 5000), length=st.integers(0, 2 * CHUNK + 3))
def test_read_part_random_ranges(sample_file, offset, length):
    fd, data = sample_file
    n, crc, md5 = _expected(data, offset, length)
    got = native.read_part(fd, offset, length, want_md5=True)
    assert got == native.PartRead(n, crc, md5)


def test_read_part_into_views_and_chunk_sized_scratch(sample_file):
    fd, data = sample_file
    big = bytearray(2 * CHUNK + 100)
    view = memoryview(big)[50:50 + CHUNK + 9]
    got = native.read_part(fd, CHUNK - 3, CHUNK + 9, view)
    assert bytes(view) == data[CHUNK - 3:2 * CHUNK + 6]
    assert got.crc64 == native.crc64(view)
    assert big[:50] == bytes(50)  # nothing written outside the view
    # the C hash-only mode with a small caller scratch buffer
    scratch = bytearray(1000)
    nread, crc = ffi.new("int64_t *"), ffi.new("uint64_t *")
    err = lib.osr_read_part(fd, 7, 5000, ffi.from_buffer(scratch), len(scratch), 0, ffi.NULL, nread, crc)
    assert (err, nread[0], crc[0]) == (0, 5000, native.crc64(data[7:5007]))


def test_read_part_errors(sample_file, tmp_path):
    fd, _ = sample_file
    closed = os.dup(fd)
    os.close(closed)
    with pytest.raises(OSError) as bad:
        native.read_part(closed, 0, 10)
    assert bad.value.errno == errno.EBADF
    if sys.platform != "win32":
        r, w = os.pipe()
        try:
            with pytest.raises(OSError) as bad:
                native.read_part(r, 0, 10, bytearray(10))
            assert bad.value.errno == errno.ESPIPE
        finally:
            os.close(r)
            os.close(w)
        dfd = os.open(tmp_path, os.O_RDONLY)
        try:
            with pytest.raises(OSError) as bad:
                native.read_part(dfd, 0, 10)
            assert bad.value.errno == errno.EISDIR
        finally:
            os.close(dfd)
    with pytest.raises(ValueError):
        native.read_part(fd, -1, 10)
    with pytest.raises(ValueError):
        native.read_part(fd, 0, 10, bytearray(9))
    with pytest.raises(BufferError):
        native.read_part(fd, 0, 3, b"abc")  # read-only buffer
    nread, crc = ffi.new("int64_t *"), ffi.new("uint64_t *")
    assert lib.osr_read_part(fd, 0, 10, ffi.NULL, 0, 0, ffi.NULL, nread, crc) == errno.EINVAL
    assert lib.osr_read_part(fd, (1 << 63) - 5, 10, ffi.new("char[10]"), 10, 0, ffi.NULL, nread, crc) \
        == errno.EINVAL


def test_write_part_round_trip(tmp_path):
    rnd = random.Random(3)
    path = tmp_path / "w.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        first = rnd.randbytes(CHUNK + 77)
        second = rnd.randbytes(1234)
        crc = native.write_part(fd, 0, first, 0)
        assert crc == native.crc64(first)
        crc2 = native.write_part(fd, len(first), memoryview(bytearray(second)), crc)
        assert crc2 == native.crc64(first + second)
        assert native.write_part(fd, 0, b"", 99) == 99
        gap = native.write_part(fd, len(first) + len(second) + 10, b"end")
        assert gap == native.crc64(b"end")
    finally:
        os.close(fd)
    assert path.read_bytes() == first + second + bytes(10) + b"end"
    ro = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as bad:
            native.write_part(ro, 0, b"x")
        assert bad.value.errno in (errno.EBADF, errno.EACCES)  # POSIX / Windows
    finally:
        os.close(ro)
    with open(path, "r+b") as f:  # objects with fileno() work too
        assert native.write_part(f, 1, b"Z") == native.crc64(b"Z")
        assert native.read_part(f, 0, 2, bytearray(2)).crc64 == native.crc64(first[:1] + b"Z")
    with pytest.raises(ValueError):
        native.write_part(0, -1, b"x")


# ---- the GIL is released around the C calls ---------------------------------------------


def test_long_c_call_lets_other_threads_run():
    """While one thread is inside a ~0.2 s CRC call, the main thread keeps running bytecode.

    Were the GIL held, the main thread's timestamps would show one gap as long as the
    C call; released, the gaps stay tiny.  Timestamps, not counts, so the check does
    not depend on machine speed."""
    data = bytes(512 << 20)  # calloc'd zero pages: no RAM is touched to read them
    started, finished = threading.Event(), threading.Event()
    span = []

    def worker():
        started.set()
        t0 = time.perf_counter()
        native.crc64_with("portable", data)
        span.extend((t0, time.perf_counter()))
        finished.set()

    thread = threading.Thread(target=worker)
    stamps = []
    thread.start()
    started.wait()
    while not finished.is_set():
        stamps.append(time.perf_counter())
    thread.join()
    t0, t1 = span
    inside = [t0] + [t for t in stamps if t0 < t < t1] + [t1]
    longest_gap = max(b - a for a, b in zip(inside, inside[1:]))
    assert t1 - t0 > 0.05, "the C call was too short to tell anything"
    assert len(inside) > 1000
    assert longest_gap < 0.5 * (t1 - t0), (longest_gap, t1 - t0)
