"""cffi build script (API, out-of-line mode) for ``ossresume_c._native``.

The C surface is declared once, in ``csrc/ossresume.h``: the text between its
``CDEF BEGIN``/``CDEF END`` markers is the cdef.  Build switches come from the
environment:

* ``OSSRESUME_SANITIZE=1`` builds with ``-fsanitize=address,undefined``
  (used by CI to run the vector tests against an instrumented module);
* ``OSSRESUME_CFLAGS`` adds compiler flags (space separated).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI

CSRC = Path(__file__).resolve().parent.parent / "csrc"
HEADER = CSRC / "ossresume.h"


def read_cdef(header: Path = HEADER) -> str:
    text = header.read_text(encoding="utf-8")
    match = re.search(r"/\* CDEF BEGIN \*/(.*?)/\* CDEF END \*/", text, re.S)
    if match is None:
        raise RuntimeError(f"{header}: no CDEF BEGIN/END markers")
    return match.group(1)


def _compile_args() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2"], []
    cflags = ["-O3", "-std=c99", "-Wall", "-Wextra", "-fno-strict-aliasing"]
    ldflags: list[str] = []
    if os.environ.get("OSSRESUME_SANITIZE") == "1":
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
        cflags += san
        ldflags += ["-fsanitize=address,undefined"]
    cflags += os.environ.get("OSSRESUME_CFLAGS", "").split()
    return cflags, ldflags


def build_ffi() -> FFI:
    ffi = FFI()
    ffi.cdef(read_cdef())
    cflags, ldflags = _compile_args()
    sources = sorted(str(p.relative_to(CSRC.parent)) for p in CSRC.glob("*.c"))
    ffi.set_source(
        "ossresume_c._native",
        '#include "ossresume.h"',
        sources=sources,
        include_dirs=[str(CSRC.relative_to(CSRC.parent))],
        extra_compile_args=cflags,
        extra_link_args=ldflags,
        define_macros=[("_FILE_OFFSET_BITS", "64"), ("_GNU_SOURCE", "1")],
    )
    return ffi


ffibuilder = build_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
