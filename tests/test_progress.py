import pytest

from ossresume_c.progress import CallbackRaised, ProgressReporter


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_throttled_monotonic_and_final():
    calls, clock = [], Clock()
    rep = ProgressReporter(lambda c, t: calls.append((c, t)), 1000, 0.1, clock)
    rep.report()                      # nothing consumed: no call (C SDK: never called at 0)
    assert calls == []
    rep.add(100)
    rep.report()
    rep.add(100)
    clock.t = 0.05
    rep.report()                      # within 100 ms: coalesced
    clock.t = 0.2
    rep.report()
    rep.report()                      # nothing new: no call
    rep.report(final=True)
    assert calls == [(100, 1000), (200, 1000), (1000, 1000)]


def test_final_call_once_and_consumed_capped():
    calls = []
    rep = ProgressReporter(lambda c, t: calls.append(c), 10, 0.1, Clock())
    rep.add(25)
    assert rep.consumed == 10
    rep.report(final=True)
    rep.report(final=True)
    assert calls == [10]


def test_empty_transfer_reports_zero_of_zero_at_the_end():
    calls = []
    ProgressReporter(lambda c, t: calls.append((c, t)), 0).report(final=True)
    assert calls == [(0, 0)]


def test_callback_exception_is_wrapped():
    def boom(c, t):
        raise ValueError("stop")
    rep = ProgressReporter(boom, 10)
    rep.add(1)
    with pytest.raises(CallbackRaised) as info:
        rep.report()
    assert isinstance(info.value.original, ValueError) and "stop" in str(info.value)


def test_all_bytes_in_before_the_end_wait_for_the_closing_call():
    # a callback raising at consumed == total cancelled a finished transfer when the
    # scheduler's last tick reported it (the interval having passed): seen on 3.10
    calls, clock = [], Clock()

    def at_the_end_raises(c, t):
        calls.append(c)
        if c == t:
            raise RuntimeError("raised at the end")

    rep = ProgressReporter(at_the_end_raises, 10, 0.1, clock)
    rep.add(4)
    rep.report()
    rep.add(6)
    clock.t = 1.0
    rep.report()                      # everything in, but not the closing call
    assert calls == [4]
    rep.report_final()                # the closing call: its exception is logged only
    assert calls == [4, 10]
