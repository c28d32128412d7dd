"""Runs part tasks on worker threads, ``threads`` at a time, while the
caller's thread reports progress, writes checkpoints and handles interruption.

The first failure stops scheduling; parts in flight finish and are recorded.
KeyboardInterrupt and SIGTERM stop scheduling the same way; the caller then
saves its checkpoint and re-raises (or returns a Status).
"""
from __future__ import annotations

import logging
import signal
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from . import status as st
from .progress import CallbackRaised, ProgressReporter

log = logging.getLogger("ossresume_c")

SKIPPED = object()   # a worker's result when it saw the cancellation before starting

WorkResult = Tuple[Optional[st.Status], Any]


def batch_size(limit: int, remaining: int, threads: int) -> int:
    """How many parts a worker takes at once: up to ``limit``, but no more than its
    share of what is left, so the last parts are spread over the threads."""
    return max(1, min(limit, remaining // max(1, threads)))


class PartRunner:
    """``pull``: the workers take the next index themselves and leave their results
    for this thread, which wakes on a failure, when a progress callback is due, at
    the end, or every tick (0.1 s) to record them; otherwise (the default) this thread hands each index to a
    worker and wakes for each result.  Pulling saves two thread wake-ups and a
    future per part, which is most of the engine's cost when parts take ~100 us."""

    TICK = 0.1

    def __init__(self, threads: int, cancel: threading.Event, progress: ProgressReporter,
                 on_tick: Callable[[], None], name: str = "ossresume", pull: bool = False) -> None:
        self.pull = pull
        self.threads = max(1, threads)
        self.cancel = cancel
        self.progress = progress
        self.on_tick = on_tick
        self.name = name
        self.interrupted: Optional[str] = None   # "KeyboardInterrupt" or "SIGTERM"

    def run(self, todo: Iterable[int], work: Callable[[int], WorkResult],
            record: Callable[[int, Any], None],
            work_many: Optional[Callable[[List[int]], List[WorkResult]]] = None,
            batch: int = 1) -> Optional[st.Status]:
        """Run ``work(index)`` for every index; ``record(index, result)`` runs in
        this thread for each success.  Returns the first failure, or None.

        With ``work_many`` (pull mode only) a worker takes up to ``batch`` indexes at
        once (``batch_size``) and ``work_many(indexes)`` returns their results in
        order; it stops at the first failure, and the indexes it returns no result
        for are neither recorded nor retried (the run fails anyway)."""
        if self.pull:
            return self._run_pulled(deque(todo), work, record, work_many, batch)
        pending = deque(todo)
        inflight: Dict[Future, int] = {}
        failure: Optional[st.Status] = None
        restore_sigterm = self._catch_sigterm()
        try:
            self.progress.report()
            with ThreadPoolExecutor(self.threads, thread_name_prefix=self.name) as pool:
                while inflight or (pending and failure is None and not self.cancel.is_set()):
                    try:
                        while pending and len(inflight) < self.threads and failure is None \
                                and not self.cancel.is_set():
                            index = pending.popleft()
                            inflight[pool.submit(self._guarded, work, index)] = index
                        finished, _ = wait(inflight, timeout=0.1, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            index = inflight.pop(fut)
                            failure = self._take(index, fut.result(), record, failure)
                        failure = self._tick(failure)
                    except (KeyboardInterrupt, CallbackRaised) as exc:
                        failure = self._stop(exc, failure)
            # SIGTERM handled after the loop's last look (its handler runs between any two
            # bytecodes of this thread) must still end the run as interrupted
            failure = self._sigterm_failure(failure)
        finally:
            restore_sigterm()
        if self.interrupted == "SIGTERM" and failure is None:   # the signal came after the last check
            failure = st.Status(st.ABORT_CALLBACK, "Interrupted",
                                "terminated by SIGTERM; the checkpoint was kept")
        return failure

    def _run_pulled(self, pending: "deque[int]", work: Callable[[int], WorkResult],
                    record: Callable[[int, Any], None],
                    work_many: Optional[Callable[[List[int]], List[WorkResult]]] = None,
                    batch: int = 1) -> Optional[st.Status]:
        """``run`` with workers that pull (see the class)."""
        results: "deque[Tuple[int, WorkResult]]" = deque()
        wake = threading.Event()
        lock = threading.Lock()
        running = [min(self.threads, len(pending))]

        def take() -> List[int]:
            taken: List[int] = []
            want = batch_size(batch, len(pending), self.threads) if work_many is not None else 1
            try:
                while len(taken) < want:
                    taken.append(pending.popleft())
            except IndexError:
                pass
            return taken

        def worker() -> None:
            try:
                while not self.cancel.is_set():
                    taken = take()
                    if not taken:
                        return
                    if len(taken) == 1 or work_many is None:
                        outcomes = [self._guarded(work, taken[0])]
                    else:
                        outcomes = self._guarded_many(work_many, taken)
                    for index, result in zip(taken, outcomes):
                        results.append((index, result))
                        if result[0] is not None:   # the first failure stops scheduling, now
                            self.cancel.set()
                            wake.set()
                    if not self.cancel.is_set() and self.progress.due():   # heard of promptly
                        wake.set()
            finally:
                with lock:
                    running[0] -= 1
                wake.set()

        failure: Optional[st.Status] = None
        restore_sigterm = self._catch_sigterm()
        workers = [threading.Thread(target=worker, name=f"{self.name}_{i}", daemon=True)
                   for i in range(running[0])]
        started: List[threading.Thread] = []
        try:
            self.progress.report()
            for thread in workers:
                thread.start()
                started.append(thread)
            while True:
                try:
                    wake.wait(self.TICK)
                    wake.clear()
                    with lock:
                        finished = running[0] == 0    # read before draining: nothing comes after
                    while results:
                        index, outcome = results.popleft()
                        failure = self._take(index, outcome, record, failure)
                    failure = self._tick(failure)
                    if finished:
                        break
                except (KeyboardInterrupt, CallbackRaised) as exc:
                    failure = self._stop(exc, failure)
            failure = self._sigterm_failure(failure)
        except BaseException:
            self.cancel.set()    # what escapes (a bug in record): the workers stop too
            raise
        finally:
            for thread in started:
                thread.join()
            restore_sigterm()
        if self.interrupted == "SIGTERM" and failure is None:
            failure = st.Status(st.ABORT_CALLBACK, "Interrupted",
                                "terminated by SIGTERM; the checkpoint was kept")
        return failure

    def _take(self, index: int, outcome: WorkResult, record: Callable[[int, Any], None],
              failure: Optional[st.Status]) -> Optional[st.Status]:
        """One worker's result: recorded, or the first failure (which stops scheduling)."""
        status, result = outcome
        if status is not None:
            self.cancel.set()
            return status if failure is None else failure
        if result is not SKIPPED:
            record(index, result)
        return failure

    def _tick(self, failure: Optional[st.Status]) -> Optional[st.Status]:
        """After each look at the workers: SIGTERM, progress, the caller's tick."""
        failure = self._sigterm_failure(failure)
        self.progress.report()
        self.on_tick()
        return failure

    def _stop(self, exc: BaseException, failure: Optional[st.Status]) -> Optional[st.Status]:
        """Ctrl-C or a raising progress callback: no new parts; those in flight finish."""
        self.cancel.set()
        if isinstance(exc, KeyboardInterrupt):
            self.interrupted = "KeyboardInterrupt"
            return failure
        return failure if failure is not None else \
            st.Status(st.ABORT_CALLBACK, "CallbackCancelled", str(exc))

    def _sigterm_failure(self, failure: Optional[st.Status]) -> Optional[st.Status]:
        if self.interrupted == "SIGTERM" and failure is None:
            return st.Status(st.ABORT_CALLBACK, "Interrupted", "terminated by SIGTERM; the checkpoint was kept")
        return failure

    def _guarded(self, work: Callable[[int], WorkResult], index: int) -> WorkResult:
        if self.cancel.is_set():
            return None, SKIPPED
        try:
            return work(index)
        except Exception as exc:  # noqa: BLE001 - a bug in a worker must still end as a Status
            log.exception("part %d failed unexpectedly", index + 1)
            return st.Status(st.INTERNAL_ERROR, "InternalError", f"part {index + 1}: {exc!r}"), None

    def _guarded_many(self, work_many: Callable[[List[int]], List[WorkResult]],
                      indexes: List[int]) -> List[WorkResult]:
        """``work_many(indexes)`` with ``_guarded``'s promise; a batch that ends early
        without a failure is one (nothing may go unrecorded silently)."""
        if self.cancel.is_set():
            return [(None, SKIPPED)] * len(indexes)
        try:
            outcomes = list(work_many(indexes))
        except Exception as exc:  # noqa: BLE001 - a bug in a worker must still end as a Status
            log.exception("parts %d..%d failed unexpectedly", indexes[0] + 1, indexes[-1] + 1)
            return [(st.Status(st.INTERNAL_ERROR, "InternalError",
                               f"parts {indexes[0] + 1}..{indexes[-1] + 1}: {exc!r}"), None)]
        if len(outcomes) < len(indexes) and not any(o[0] is not None for o in outcomes):
            outcomes.append((st.Status(st.INTERNAL_ERROR, "InternalError",
                                       f"part {indexes[len(outcomes)] + 1} was not sent"), None))
        return outcomes[:len(indexes)]

    def _catch_sigterm(self) -> Callable[[], None]:
        """SIGTERM becomes a clean stop (main thread only, and only when nobody
        else handles SIGTERM)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
            return lambda: None
        try:
            if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
                return lambda: None

            def on_term(_signo: int, _frame: object) -> None:
                self.interrupted = "SIGTERM"
                self.cancel.set()

            previous = signal.signal(signal.SIGTERM, on_term)
        except (ValueError, OSError):
            return lambda: None

        def restore() -> None:
            try:
                signal.signal(signal.SIGTERM, previous)
            except (ValueError, OSError):
                pass
        return restore
