"""The oldest supported Python: refused clearly at import time, and declared the
same way everywhere the packaging states it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ossresume_c.python_version import OLDEST, check

ROOT = Path(__file__).resolve().parent.parent
OLDEST_TEXT = f"{OLDEST[0]}.{OLDEST[1]}"


def test_an_older_python_gets_a_clear_message_at_import_time():
    older = (OLDEST[0], OLDEST[1] - 1, 18, "final", 0)
    code = f"import sys; sys.version_info = {older!r}; import ossresume_c"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last == (f"ImportError: ossresume_c needs Python {OLDEST_TEXT} or newer; "
                    f"this is Python {OLDEST[0]}.{OLDEST[1] - 1}.18 ({sys.executable})"), res.stderr


def test_this_python_and_the_oldest_pass():
    check()
    check(OLDEST + (0,))
    with pytest.raises(ImportError, match=f"needs Python {OLDEST_TEXT} or newer"):
        check((3, 8, 18))


def test_the_packaging_declares_the_same_oldest_python():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    setup_py = (ROOT / "setup.py").read_text(encoding="utf-8")
    tag = f"cp{OLDEST[0]}{OLDEST[1]}"
    assert re.search(r'^requires-python = ">=(\S+)"$', pyproject, re.M).group(1) == OLDEST_TEXT
    minors = [int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', pyproject)]
    assert min(minors) == OLDEST[1] and minors == list(range(OLDEST[1], OLDEST[1] + len(minors)))
    assert re.search(r'^build = "(\S+)"$', pyproject, re.M).group(1) == f"{tag}-*"
    assert re.findall(r'"py_limited_api": "(\w+)"', setup_py) == [tag]
