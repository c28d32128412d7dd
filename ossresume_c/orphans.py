"""Finds and aborts the multipart uploads one upload call left behind without knowing their ids.

A server can create an upload and lose (or damage) the response that carries its
id: the client retries and creates another, or gives up, and the first one stays
on the server, billed, until someone aborts it.  A call records when it sent
InitiateMultipartUpload (its *windows*, local clock) and which aborts failed; at
its end, when something was uncertain, it lists the uploads of its key and aborts
those that are its own: the same key exactly, initiated (server clock) within one
of its windows, and not the upload it keeps for resuming.

With a checkpoint, the windows are also written to a journal beside it
(``{checkpoint}.initiates``) before each Initiate is sent, so that the call that
resumes after a crash or SIGKILL sweeps for the process that died; the journal
goes once a sweep found nothing left to abort.  A window whose end was never
written (killed during the Initiate) is taken to last ``OPEN_WINDOW`` seconds.

The server's clock is learned from the ``Date`` header of the listing itself, so
a skewed client clock does not widen or shift the windows.  Uploads that others
initiated outside these windows are never touched; one started for the same key
by another client during the very seconds of this call's Initiate cannot be told
apart, and would be aborted (its owner then sees NoSuchUpload and starts over).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Optional, Set, Tuple, cast

from . import ops, wire
from . import status as st
from .config import RequestOptions
from .transport import Transport

log = logging.getLogger("ossresume_c")

Window = Tuple[float, float]      # (first send, last answer), local epoch seconds

# Without a usable Date header the clocks are assumed equal, within this many seconds.
NO_DATE_SKEW = 5.0
# The sweep is the last chance to abort: it retries at least this often, and waits (full
# jitter) up to 0.25, 0.5, 1, 2, 4, 4 s between tries (~6 s in all on average), whatever the
# call's own settings, so that a server away for a few seconds still gets the abort.
SWEEP_RETRIES = 6
SWEEP_BACKOFF = (0.25, 4.0)
# A journaled window without an end (the process died during the Initiate) lasts this long.
OPEN_WINDOW = 60.0


def skew_bounds(date_header: Optional[str], sent: float, received: float
                ) -> Tuple[float, float]:
    """Bounds ``(low, high)`` of ``server clock - local clock`` from a response's
    ``Date`` (whole seconds, stamped by the server between ``sent`` and
    ``received`` on the local clock)."""
    server = wire.http_date(date_header)
    if server is None or received < sent:
        return -NO_DATE_SKEW, NO_DATE_SKEW
    return server - received, server + 1.0 - sent


def ours(listed: Iterable[ops.ListedUpload], key: str, windows: Iterable[Window],
         skew: Tuple[float, float], keep: Iterable[str] = (), margin: float = 1.0
         ) -> List[ops.ListedUpload]:
    """The listed uploads this call initiated and must abort (pure).

    An upload is ours when its key is ``key`` exactly, its id is not in ``keep``,
    and its ``Initiated`` time (server clock, whole or fractional seconds, so up
    to one second early) falls in a window moved onto the server clock by the
    skew bounds, widened by ``margin``.  An unreadable ``Initiated`` is never ours.
    """
    spans = [(start + skew[0] - margin - 1.0, end + skew[1] + margin) for start, end in windows]
    kept = set(keep)
    out = []
    for upload in listed:
        if upload.key != key or upload.upload_id in kept or not upload.upload_id:
            continue
        when = wire.iso8601(upload.initiated)
        if when is not None and any(lo <= when <= hi for lo, hi in spans):
            out.append(upload)
    return out


class _Counting:
    """A Transport stand-in that counts the attempts of what it sends."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.attempts = 0

    def send(self, *args: Any, **kwargs: Any) -> Any:
        reply = self._transport.send(*args, **kwargs)
        self.attempts += reply.attempts
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@dataclass
class Ledger:
    """What one upload call must clean up: its Initiate windows, whether one of
    them is in doubt (retried or failed), and the ids whose abort failed."""

    windows: List[Window] = field(default_factory=list)
    in_doubt: bool = False
    abandoned: Set[str] = field(default_factory=set)
    journal: Optional[str] = None

    def attach(self, checkpoint_path: Optional[str]) -> None:
        """Keep the windows in a journal beside this checkpoint, taking over those
        of a process that died before its sweep (they are all in doubt)."""
        if not checkpoint_path:
            return
        self.journal = checkpoint_path + ".initiates"
        try:
            with open(self.journal, "rb") as fh:
                entries = json.loads(fh.read().decode("utf-8"))
            old = [(float(e[0]), float(e[1]) if e[1] is not None else float(e[0]) + OPEN_WINDOW)
                   for e in entries]
        except (OSError, ValueError, TypeError, IndexError, KeyError):
            return   # none, or unreadable: nothing to take over
        if old:
            self.windows[:0] = old
            self.in_doubt = True

    def _write_journal(self, pending: Optional[float] = None) -> None:
        if not self.journal:
            return
        entries: List[Any] = [list(w) for w in self.windows]
        if pending is not None:
            entries.append([pending, None])
        try:
            tmp = self.journal + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(entries, fh)
            os.replace(tmp, self.journal)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.journal, exc)

    def _drop_journal(self) -> None:
        if self.journal:
            try:
                os.unlink(self.journal)
            except OSError:
                pass

    def initiate(self, transport: Transport, bucket: str, key: str,
                 headers: Optional[Mapping[str, str]] = None) -> Tuple[st.Status, Optional[str]]:
        """``ops.initiate_multipart_upload``, with its window recorded."""
        counting = _Counting(transport)
        start = time.time()
        self._write_journal(pending=start)
        status, upload_id = ops.initiate_multipart_upload(cast(Transport, counting), bucket, key, headers)
        if counting.attempts:
            self.windows.append((start, time.time()))
            self.in_doubt = self.in_doubt or counting.attempts > 1 or not upload_id
        self._write_journal()
        return status, upload_id

    def note_abort(self, upload_id: str, status: st.Status) -> None:
        """An abort that failed (other than "already gone") is retried by the sweep."""
        if upload_id and not status.is_ok() and status.error_code != "NoSuchUpload":
            self.abandoned.add(upload_id)

    def needs_sweep(self, id_refused: bool) -> bool:
        """Sweep when an abort failed, or this call initiated and an Initiate was
        retried or failed, or the server refused the id it got (or the call was
        interrupted before its outcome was known)."""
        return bool(self.abandoned) or bool(self.windows and (self.in_doubt or id_refused))

    def sweep(self, options: RequestOptions, bucket: str, key: str, keep: str,
              call_status: Optional[st.Status]) -> Optional[st.Status]:
        """Abort what this call left behind (when anything is in doubt); returns the
        first failure of the sweep itself, or None.  Never raises."""
        # An id damaged into another plausible one shows as NoSuchUpload on its first use.
        id_refused = call_status is None or call_status.error_code == "NoSuchUpload"
        if not self.needs_sweep(id_refused):
            self._drop_journal()   # every Initiate answered cleanly: nothing to take over
            return None
        ctl = dataclasses.replace(options.ctl, max_retries=max(SWEEP_RETRIES, options.ctl.max_retries),
                                  backoff_base=max(SWEEP_BACKOFF[0], options.ctl.backoff_base),
                                  backoff_cap=max(SWEEP_BACKOFF[1], options.ctl.backoff_cap))
        with Transport(dataclasses.replace(options, ctl=ctl)) as transport:
            failure = self._sweep(transport, bucket, key, keep)
        if failure is None:
            self._drop_journal()
        return failure

    def _sweep(self, transport: Transport, bucket: str, key: str, keep: str) -> Optional[st.Status]:
        failure: Optional[st.Status] = None
        for upload_id in sorted(self.abandoned):
            status = ops.abort_multipart_upload(transport, bucket, key, upload_id)
            if status.is_ok() or status.error_code == "NoSuchUpload":
                self.abandoned.discard(upload_id)
            else:
                failure = failure or status
        if not self.windows:
            return failure
        sent = time.time()
        status, listed = ops.list_multipart_uploads(transport, bucket, key)
        if not status.is_ok():
            log.warning("cannot list the uploads of %s/%s to abort lost ones: %s", bucket, key, status)
            return failure or status
        skew = skew_bounds(ops.header(status.resp_headers, "Date"), sent, time.time())
        for upload in ours(listed, key, self.windows, skew, {keep} - self.abandoned):
            gone = ops.abort_multipart_upload(transport, bucket, key, upload.upload_id)
            log.info("aborted upload %s of %s/%s, initiated by this call with its id lost: %s",
                     upload.upload_id, bucket, key, gone)
            if not gone.is_ok() and gone.error_code != "NoSuchUpload":
                failure = failure or gone
        return failure
