"""What a tree upload reports: one :class:`FileOutcome` per file and the :class:`TreeSummary`."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import status as st

# FileOutcome.action values
ACTIONS = ("uploaded", "skipped", "failed", "cancelled", "deleted", "noted", "would-upload",
           "would-delete")
# Failures kept by name when keep_keys is off (the count is always exact).
_FAILED_KEPT = 1000


@dataclass
class FileOutcome:
    """What happened to one file (or, for ``deleted``, one object)."""

    path: str
    key: str
    size: int
    action: str                       # one of ACTIONS
    status: Optional[st.Status] = None
    note: str = ""


@dataclass
class TreeSummary:
    """Result of :func:`upload_tree`.  ``failed`` maps keys to their Status.

    ``counts`` has the number of files per action and is always exact; the key
    lists are filled only with ``keep_keys`` (the default), so that a run over
    millions of files can keep its memory flat."""

    uploaded: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, st.Status] = field(default_factory=dict)
    cancelled: List[str] = field(default_factory=list)
    deleted: List[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    seconds: float = 0.0
    files: List[FileOutcome] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    requests: int = 0
    list_pages: int = 0
    error: Optional[st.Status] = None      # a run-level failure (listing out of order...)
    keep_keys: bool = True

    @property
    def ok(self) -> bool:
        return not self.counts["failed"] and not self.counts["cancelled"] and self.error is None

    def add(self, outcome: FileOutcome) -> None:
        action = outcome.action
        self.counts[action] += 1
        if action == "uploaded":
            self.bytes_uploaded += outcome.size
        elif action == "skipped":
            self.bytes_skipped += outcome.size
        if action == "failed" and (self.keep_keys or len(self.failed) < _FAILED_KEPT):
            self.failed[outcome.key] = outcome.status or st.Status(st.INTERNAL_ERROR, "InternalError")
        if not self.keep_keys:
            return
        self.files.append(outcome)
        named = {"uploaded": self.uploaded, "skipped": self.skipped, "cancelled": self.cancelled,
                 "deleted": self.deleted}.get(action)
        if named is not None:
            named.append(outcome.key)

    def __str__(self) -> str:
        c = self.counts
        text = (f"{c['uploaded']} uploaded ({self.bytes_uploaded} bytes), "
                f"{c['skipped']} skipped as already there, {c['failed']} failed")
        for action, words in (("deleted", "deleted"), ("noted", "not regular files, skipped"),
                              ("would-upload", "would be uploaded"),
                              ("would-delete", "would be deleted"),
                              ("cancelled", "interrupted or not started")):
            if c[action]:
                text += f", {c[action]} {words}"
        if self.error is not None:
            text += f"; stopped: {self.error}"
        return text + f" in {self.seconds:.2f} s"


class TreeInterrupted(KeyboardInterrupt):
    """KeyboardInterrupt raised by :func:`upload_tree` once every running file
    has stopped and written its checkpoint; ``summary`` says what was done."""

    def __init__(self, summary: TreeSummary) -> None:
        super().__init__("upload_tree interrupted")
        self.summary = summary
