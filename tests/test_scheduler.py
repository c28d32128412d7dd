"""PartRunner: the scheduling loop's ending, when SIGTERM arrives at its edges."""
from __future__ import annotations

import signal
import threading

import pytest

from ossresume_c import status as st
from ossresume_c.progress import ProgressReporter
from ossresume_c.scheduler import PartRunner


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="no SIGTERM on this platform")
def test_sigterm_after_the_last_check_still_ends_as_interrupted():
    # The handler runs in this thread between two bytecodes; here it runs in on_tick,
    # after the loop has looked for SIGTERM and once the only part in flight is
    # recorded.  The loop then ends with part 2 never sent: that must be -997
    # Interrupted (checkpoint kept), not a run with no failure (-996 "not every part
    # was sent" in the caller), which is what Python 3.13 hit.
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        pytest.skip("something else handles SIGTERM in this process")
    recorded, raised = [], []

    def on_tick():
        if recorded and not raised:
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
            raised.append(True)
            signal.raise_signal(signal.SIGTERM)

    runner = PartRunner(1, threading.Event(), ProgressReporter(None, 2), on_tick)
    failure = runner.run([0, 1], lambda index: (None, index), lambda index, result: recorded.append(index))
    assert raised and recorded == [0]
    assert runner.interrupted == "SIGTERM"
    assert failure is not None
    assert (failure.code, failure.error_code) == (st.ABORT_CALLBACK, "Interrupted")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_without_a_signal_every_part_is_recorded_and_nothing_fails():
    recorded = []
    runner = PartRunner(3, threading.Event(), ProgressReporter(None, 10), lambda: None)
    failure = runner.run(range(10), lambda index: (None, index * 2), lambda index, result: recorded.append(result))
    assert failure is None and runner.interrupted is None
    assert sorted(recorded) == [index * 2 for index in range(10)]
