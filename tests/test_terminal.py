"""terminal: the progress bar, the log handler above it, human sizes."""
from __future__ import annotations

import io
import logging

from hypothesis import example, given, settings
from hypothesis import strategies as hs

from ossresume_c.terminal import LogAboveBar, ProgressBar, human, setup_logging


def test_human_sizes():
    assert human(0) == "0 B" and human(1023) == "1023 B"
    assert human(1536) == "1.5 KiB" and human(5 << 20) == "5.0 MiB" and human(3 << 40) == "3.0 TiB"
    assert human(2048 << 40) == "2048.0 TiB"


@settings(deadline=None)   # a loaded machine must not fail a property
@given(hs.integers(min_value=0, max_value=1 << 60))
@example(1048525)          # 1023.95 KiB: rounds to 1024.0, so it is 1.0 MiB
@example(1280)             # 1.25 KiB shows as 1.2: exactly half a step off
def test_human_reads_back_to_within_a_rounding(n):
    number, unit = human(n).split()
    scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
    assert abs(float(number) * scale - n) <= 0.05 * scale * (1 + 1e-9)   # half a step, float-exact
    assert unit == "TiB" or float(number) < 1024


def test_a_resumed_transfer_starts_the_bar_at_the_restored_bytes():
    out = io.StringIO()
    bar = ProgressBar("x", 1000, True, resuming=True, stream=out)
    bar(600, 1000)                     # the first call: what the checkpoint restored
    bar(800, 1000)
    bar(1000, 1000)
    bar.close()
    assert bar.restored == 600 and bar.bar.initial == 600 and bar.bar.n == 1000
    assert "100%" in out.getvalue()


def test_a_fresh_transfer_counts_everything_and_an_idle_bar_leaves_nothing():
    out = io.StringIO()
    bar = ProgressBar("x", None, True, stream=out)
    bar(300, 500)
    bar(500, 500)
    bar.close()
    assert bar.restored == 0 and bar.bar.total == 500 and bar.bar.n == 500
    idle = io.StringIO()
    ProgressBar("y", 10, True, stream=idle).close()
    assert "y" not in idle.getvalue().split("\r")[-1]


def test_log_lines_go_above_the_bar(capsys):
    setup_logging(verbose=True)
    logger = logging.getLogger("ossresume_c")
    try:
        assert sum(isinstance(h, LogAboveBar) for h in logger.handlers) == 1
        setup_logging(verbose=True)                      # idempotent
        assert sum(isinstance(h, LogAboveBar) for h in logger.handlers) == 1
        logger.info("resuming %s", "k")
        assert capsys.readouterr().err == "ossresume: info: resuming k\n"
    finally:
        for h in [h for h in logger.handlers if isinstance(h, LogAboveBar)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
