"""The C core under AddressSanitizer + UndefinedBehaviorSanitizer.

Builds a second copy of the cffi module with OSSRESUME_SANITIZE=1 into a temp
dir, then runs the CRC/MD5/part-I/O vector checks against *that* module in a
fresh interpreter with libasan preloaded.  Any out-of-bounds access, use after
free or undefined behaviour aborts the child, and the test fails.
Runs in the normal test command whenever gcc and libasan are present;
select it alone with ``-m sanitize``.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sanitize

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

BUILD = """
import os, sys
os.environ["OSSRESUME_SANITIZE"] = "1"
from ossresume_c._build_ffi import build_ffi
print(build_ffi().compile(tmpdir=sys.argv[1]))
"""

CHECK = r"""
import errno, hashlib, importlib.util, json, os, random, sys, tempfile

so_path, data_dir = sys.argv[1], sys.argv[2]
with open("/proc/self/maps") as f:
    assert "libasan" in f.read(), "ASan runtime not loaded"
spec = importlib.util.spec_from_file_location("ossresume_c._native", so_path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
sys.modules["ossresume_c._native"] = mod
from ossresume_c import native
assert native.lib is mod.lib, "not the sanitized module"
sys.path.insert(0, os.path.dirname(data_dir))
import crc64_reference as ref

vectors = json.load(open(os.path.join(data_dir, "crc64.json")))
inputs = {"empty": b"", "check": b"123456789",
          "ebs": b"This is a test of the emergency broadcast system.", "a": b"a",
          "zeros_100k": bytes(102400), "ramp_1MiB": bytes(range(256)) * 4096}
impls = native.implementations()
for vec in vectors["vectors"]:
    for impl in impls:
        assert native.crc64_with(impl, inputs[vec["name"]]) == vec["crc64"], (impl, vec["name"])
c = vectors["combine"]
assert native.crc64_combine(c["crc_a"], c["crc_b"], c["len_b"]) == c["crc_ab"]

ffi = native.ffi


def exact(data):
    # a malloc'd block holding exactly these bytes at its very end (PYTHONMALLOC=malloc,
    # cffi puts array data last): one byte read too far hits ASan's redzone.  Python's
    # bytes would not do: they carry a trailing NUL inside the allocation.
    block = ffi.new("unsigned char[]", len(data))
    ffi.memmove(block, data, len(data))
    return block, ffi.buffer(block)


# every length 0..1100 at odd alignments
rnd = random.Random(1)
blob = rnd.randbytes(1200)
for n in range(0, 1100):
    keep, piece = exact(blob[3:3 + n])
    want = ref.crc64_fast(bytes(piece), n) if n < 64 else native.crc64_with("portable", piece, n)
    for impl in impls:
        assert native.crc64_with(impl, piece, n) == want, (impl, n)
        assert native.crc64_with(impl, memoryview(piece)[n % 5:], n) == \
            native.crc64_with("portable", memoryview(piece)[n % 5:], n), (impl, n)
big = rnd.randbytes((1 << 20) + 333)
keep, piece = exact(big)
results = {native.crc64_with(impl, memoryview(piece)[1:]) for impl in impls}
assert len(results) == 1, results

for n in list(range(0, 200)) + [4096, (1 << 20) + 7]:
    keep, piece = exact(big[:n])
    assert native.md5(piece).digest() == hashlib.md5(big[:n]).digest(), n
    h = native.md5()
    for lo in range(0, n, 37):
        h.update(memoryview(piece)[lo:lo + 37])
    assert h.digest() == hashlib.md5(big[:n]).digest(), n

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "f.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    data = rnd.randbytes(2 * (1 << 20) + 99)
    assert native.write_part(fd, 0, data) == native.crc64(data)
    for off, length in [(0, 0), (0, len(data)), (7, (1 << 20) + 3), (len(data) - 5, 100),
                        (len(data) + 10, 10)]:
        want = data[off:off + length]
        keep, buf = exact(bytes(length))
        got = native.read_part(fd, off, length, buf, want_md5=True)
        assert got == native.PartRead(len(want), native.crc64(want), hashlib.md5(want).digest())
        assert bytes(buf[:len(want)]) == want
        assert native.read_part(fd, off, length).crc64 == native.crc64(want)
    os.close(fd)
    try:
        native.read_part(fd, 0, 10)
        raise AssertionError("no error on a closed fd")
    except OSError as exc:
        assert exc.errno == errno.EBADF
print("SANITIZED-OK")
"""


def _needs(what: str, why: str) -> None:
    message = f"needs {what}: {why}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _libasan() -> str:
    if importlib.util.find_spec("setuptools") is None:
        # venvs carry no setuptools from Python 3.12 on; the test extras bring it
        _needs("setuptools", "cffi compiles with it on Python 3.12+ (pip install -e '.[test]')")
    gcc = shutil.which("gcc")
    if gcc is None or not sys.platform.startswith("linux"):
        pytest.skip("needs gcc and Linux")
    path = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True, text=True,
                          check=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        pytest.skip("gcc has no libasan")
    return path


def test_vectors_under_asan_and_ubsan(tmp_path):
    libasan = _libasan()
    env = dict(os.environ)
    env.pop("OSSRESUME_CFLAGS", None)
    env.pop("OSSRESUME_CRC64_IMPL", None)
    # cffi compiles from inside tmpdir and the builder names sources relative to the
    # project root, so the sources go next to the build
    shutil.copytree(ROOT / "csrc", tmp_path / "csrc")
    build = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stderr[-4000:]
    so_path = build.stdout.strip().splitlines()[-1]
    assert Path(so_path).exists()
    env.update(LD_PRELOAD=libasan, PYTHONMALLOC="malloc",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    run = subprocess.run([sys.executable, "-c", CHECK, so_path, str(TESTS / "data")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0 and "SANITIZED-OK" in run.stdout, (run.stdout[-2000:], run.stderr[-6000:])
    assert "runtime error" not in run.stderr, run.stderr[-6000:]
