"""TreeSummary bookkeeping: exact counts always, key lists only with keep_keys."""
from __future__ import annotations

from ossresume_c import status as st
from ossresume_c.tree_types import FileOutcome, TreeSummary


def outcomes():
    yield FileOutcome("/a", "a", 10, "uploaded", st.Status(200))
    yield FileOutcome("/b", "b", 20, "skipped")
    yield FileOutcome("/c", "c", 5, "failed", st.Status(-985, "OpenFileFail", "no"))
    yield FileOutcome("", "d", 1, "deleted")
    yield FileOutcome("/e", "e", 0, "noted", note="not a regular file")


def test_counts_bytes_and_lists():
    s = TreeSummary()
    for o in outcomes():
        s.add(o)
    assert dict(s.counts) == {"uploaded": 1, "skipped": 1, "failed": 1, "deleted": 1, "noted": 1}
    assert (s.uploaded, s.skipped, s.deleted, list(s.failed)) == (["a"], ["b"], ["d"], ["c"])
    assert (s.bytes_uploaded, s.bytes_skipped, len(s.files)) == (10, 20, 5)
    assert not s.ok
    text = str(s)
    assert "1 uploaded (10 bytes)" in text and "1 deleted" in text and "1 not regular files" in text


def test_without_keep_keys_memory_stays_flat_but_counts_stay_exact():
    s = TreeSummary(keep_keys=False)
    for i in range(3000):
        s.add(FileOutcome(f"/{i}", f"k{i}", 1, "failed", st.Status(403, "AccessDenied")))
        s.add(FileOutcome(f"/{i}", f"u{i}", 1, "uploaded"))
    assert s.counts["failed"] == 3000 and s.counts["uploaded"] == 3000
    assert len(s.failed) == 1000 and s.uploaded == [] and s.files == []
    assert s.bytes_uploaded == 3000
