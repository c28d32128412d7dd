"""Suite-wide settings: Hypothesis examples are not timed, and the header names the
ossresume_c under test (with OSSRESUME_TEST_INSTALLED=PREFIX, it must be the one
installed under PREFIX, as CI's per-Python runs of the wheel require)."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

import ossresume_c

# A per-example deadline fails at random on a shared, loaded CI machine.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


def pytest_report_header(config: pytest.Config) -> str:
    return f"ossresume_c: {os.path.dirname(os.path.abspath(ossresume_c.__file__))}"


def pytest_configure(config: pytest.Config) -> None:
    prefix = os.environ.get("OSSRESUME_TEST_INSTALLED")
    where = os.path.realpath(ossresume_c.__file__)
    if prefix and not where.startswith(os.path.realpath(prefix) + os.sep):
        raise pytest.UsageError(f"testing {where}, not the ossresume_c installed under {prefix}")
