"""The demo's report lines claim only what the run measured."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as hs

from ossresume_c import status as st
from ossresume_c.demo import DemoReport
from ossresume_c.demo_lines import (Sent, first_run_outcome, resume_outcome, skipped_on_resume, summary,
                                    was_interrupted)

statuses = hs.builds(
    st.Status,
    hs.sampled_from([200, 403, 404, st.ABORT_CALLBACK, st.INTERNAL_ERROR, st.HTTP_IO_ERROR]),
    hs.sampled_from(["", "CallbackCancelled", "Interrupted", "SignatureDoesNotMatch", "InternalError"]),
    hs.just("message"))
sents = hs.builds(Sent, hs.integers(0, 20), hs.integers(0, 20), hs.integers(0, 1 << 30), hs.booleans())


@given(statuses, sents)
def test_the_first_run_is_called_interrupted_only_when_the_callback_cancelled_it(status, first):
    text = first_run_outcome(status, first)
    interrupted = status.code == st.ABORT_CALLBACK and status.error_code == "CallbackCancelled"
    assert was_interrupted(status) == interrupted
    assert ("interrupted by the progress callback" in text) == interrupted
    assert ("FAILED" in text) == (not interrupted and not status.is_ok())
    assert f"{first.parts_stored} parts" in text


@given(hs.integers(1, 20), sents, statuses)
def test_parts_are_called_skipped_only_after_a_resumed_run_that_completed(parts, resumed, status):
    text = resume_outcome(parts, resumed, status)
    skipped = skipped_on_resume(parts, resumed, status)
    if status.is_ok() and resumed.listed:
        assert skipped == max(0, parts - resumed.parts_stored)
        assert f"{skipped} of {parts} parts were already on the server" in text
    else:
        assert skipped == 0
        assert "skipped" not in text and "already on the server" not in text
    assert ("FAILED" in text) == (not status.is_ok())


@given(statuses, sents, statuses, sents, statuses, hs.booleans(), hs.booleans())
def test_the_summary_states_each_outcome_as_measured(first_status, first, resume_status, resumed,
                                                     download_status, crc_verified, identical):
    report = DemoReport(size=1 << 20, part_size=1 << 16, parts=16, threads=4,
                        interrupted_status=first_status, resume_status=resume_status,
                        download_status=download_status, identical=identical, file_crc=7,
                        first_sent=first, resume_sent=resumed, resume_seconds=0.5, download_seconds=0.5)
    if crc_verified:
        report.object_crc = 7
    lines = {line.split()[0]: line for line in summary(report)}
    assert ("FAILED" in lines["upload"]) == (not resume_status.is_ok())
    assert ("skipped" in lines["resume"]) == (resume_status.is_ok() and resumed.listed)
    assert ("interrupted by" in lines["first"]) == was_interrupted(first_status)
    assert ("MiB/s" in lines["download"]) == download_status.is_ok()
    assert ("identical" in lines["round"]) == (download_status.is_ok() and identical)
    assert ("NOT verified" in lines["CRC-64"]) != crc_verified


def test_a_run_that_never_resumed_says_so():
    text = resume_outcome(16, Sent(parts_stored=16, bytes_stored=16 << 16), st.Status(200))
    assert text == "nothing was resumed (no ListParts): all 16 parts sent again"
