"""The oldest Python this package supports, checked when the package is imported.

Kept in step with ``requires-python`` and the classifiers (pyproject.toml), the
abi3 tag (setup.py's ``py_limited_api``) and cibuildwheel's ``build``; a test
checks that they agree. Written for old interpreters too, so that they reach the
message instead of a syntax error.
"""
import sys
from typing import Optional, Sequence

OLDEST = (3, 9)


def check(version_info: Optional[Sequence] = None) -> None:
    """Raise ImportError naming the need when this interpreter is too old."""
    version = tuple(version_info or sys.version_info)
    if version[:2] < OLDEST:
        raise ImportError(
            "ossresume_c needs Python {}.{} or newer; this is Python {} ({})".format(
                OLDEST[0], OLDEST[1], ".".join(str(n) for n in version[:3]), sys.executable))
