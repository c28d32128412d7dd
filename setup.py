"""Build glue: cffi compiles csrc/ into ossresume_c._native (metadata is in pyproject.toml)."""
import sys

from setuptools import setup

# One abi3 wheel per platform serves CPython 3.9+ (cffi modules support the limited API
# except on debug builds and free-threaded interpreters).
options = {}
if not hasattr(sys, "gettotalrefcount") and not getattr(sys, "_is_gil_enabled", lambda: True)() is False:
    options = {"bdist_wheel": {"py_limited_api": "cp39"}}

setup(
    cffi_modules=["ossresume_c/_build_ffi.py:ffibuilder"],
    options=options,
)
