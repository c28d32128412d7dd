"""What the command line and the demo show on a terminal: the progress bar,
the log handler that writes above it, and human-readable sizes.

Only these widgets talk to tqdm, so a line printed by either front end never
tears a bar that is being drawn.
"""
from __future__ import annotations

import logging
import sys
from typing import Optional, TextIO

from tqdm import tqdm


def human(nbytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``: binary units, one decimal (bytes as a whole number)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(round(nbytes, 1)) < 1024 or unit == "TiB":   # 1023.95 KiB shows as 1.0 MiB
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover


def write_above(text: str, stream: Optional[TextIO] = None) -> None:
    """Print a line above any progress bar being drawn (stderr by default)."""
    tqdm.write(text, file=stream or sys.stderr)


class LogAboveBar(logging.Handler):
    """Log lines printed above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_above(f"ossresume: {record.levelname.lower()}: {self.format(record)}")
        except Exception:  # noqa: BLE001 - logging must never break the copy
            self.handleError(record)


def setup_logging(verbose: bool) -> None:
    """The ``ossresume_c`` logger writes above the bar: warnings, or with
    ``verbose`` what the engine does."""
    logger = logging.getLogger("ossresume_c")
    if not any(isinstance(h, LogAboveBar) for h in logger.handlers):
        logger.addHandler(LogAboveBar())
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


class ProgressBar:
    """A tqdm bar (bytes, rate, ETA) fed by ``callback(consumed, total)``.
    When the transfer resumes, the bytes restored from the checkpoint (the
    first call) become the bar's starting point, so the rate stays honest."""

    def __init__(self, desc: str, total: Optional[int], enabled: bool, resuming: bool = False,
                 stream: Optional[TextIO] = None) -> None:
        self.bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                        disable=not enabled, file=stream or sys.stderr, dynamic_ncols=True,
                        miniters=1, leave=True)
        self.resuming = resuming
        self.calls = 0
        self.restored = 0

    def __call__(self, consumed: int, total: int) -> None:
        self.calls += 1
        if self.bar.total != total:
            self.bar.total = total
        if self.calls == 1 and self.resuming and consumed > 0:
            self.restored = consumed
            self.bar.initial = self.bar.n = consumed
            self.bar.refresh()
            return
        if consumed > self.bar.n:
            self.bar.update(consumed - self.bar.n)

    def close(self) -> None:
        if self.calls == 0:
            self.bar.leave = False   # nothing moved: no empty bar left behind
        self.bar.close()
