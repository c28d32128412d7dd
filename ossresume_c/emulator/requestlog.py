"""The JSON-lines request log and the per-operation counters."""
from __future__ import annotations

import collections
import json
import threading
from typing import Any, Deque, Dict, List, Optional, TextIO

MAX_ENTRIES = 100_000


class RequestLog:
    """Keeps the last ``MAX_ENTRIES`` entries in memory; appends every entry to ``path`` if given."""

    def __init__(self, path: Optional[str] = None) -> None:
        self._lock = threading.Lock()
        self._entries: Deque[Dict[str, Any]] = collections.deque(maxlen=MAX_ENTRIES)
        self._file: Optional[TextIO] = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115
        self.requests_by_op: Dict[str, int] = {}
        self.errors_by_code: Dict[str, int] = {}
        self.status_counts: Dict[str, int] = {}
        self.bytes_in = 0
        self.bytes_out = 0
        self.total = 0
        self.in_flight = 0
        self.in_flight_peak = 0

    def begin(self) -> None:
        """A request started (counts concurrent requests; see ``in_flight_peak``)."""
        with self._lock:
            self.in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self.in_flight)

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def record(self, entry: Dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) if self._file is not None else ""
        with self._lock:
            self._entries.append(entry)
            op = entry.get("op") or "?"
            self.total += 1
            self.requests_by_op[op] = self.requests_by_op.get(op, 0) + 1
            status = str(entry.get("status"))
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            code = entry.get("error_code")
            if code:
                self.errors_by_code[code] = self.errors_by_code.get(code, 0) + 1
            self.bytes_in += int(entry.get("bytes_in") or 0)
            self.bytes_out += int(entry.get("bytes_out") or 0)
            if self._file is not None:
                self._file.write(line + "\n")

    def entries(self) -> List[Dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def counters(self) -> Dict[str, Any]:
        with self._lock:
            return {
                "requests": self.total,
                "requests_by_op": dict(self.requests_by_op),
                "status": dict(self.status_counts),
                "errors_by_code": dict(self.errors_by_code),
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
                "in_flight": self.in_flight,
                "in_flight_peak": self.in_flight_peak,
            }

    def reset_counters(self) -> None:
        with self._lock:
            self.requests_by_op.clear()
            self.errors_by_code.clear()
            self.status_counts.clear()
            self.bytes_in = self.bytes_out = self.total = 0
            self.in_flight_peak = self.in_flight

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
