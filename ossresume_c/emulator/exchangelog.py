"""One request's log entry, filled in as the request is served and recorded exactly once."""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

from .bodyio import BodyReader
from .exchange import Response
from .faults import FaultPlan
from .requestlog import RequestLog


class ExchangeRecord:
    """What the request log says about one request.

    ``record`` is called *before* the response is sent, so that a client that
    has its answer also finds it in the log and the counters; later calls (the
    connection broke, the handler's ``finally``) do nothing.
    """

    def __init__(self, log: RequestLog, request_id: str, method: str, raw_path: str, raw_query: str) -> None:
        self.log = log
        self.request_id = request_id
        self.method = method
        self.started = time.monotonic()
        self.entry: Dict[str, Any] = {
            "time": time.time(),
            "request_id": request_id,
            "method": method,
            "path": raw_path,
            "op": "Unknown",  # until routed (a malformed request keeps it)
            "bucket": None,
            "key": None,
            "query": raw_query,
            "part_number": None,
            "upload_id": None,
            "status": None,
            "error_code": None,
            "bytes_in": 0,
            "bytes_out": 0,
            "fault": None,
        }
        self.body: Optional[BodyReader] = None
        self.response: Optional[Response] = None
        self.plan = FaultPlan()
        self._counted = False
        self._recorded = False

    def count(self) -> None:
        """The request is OSS traffic: it counts as in flight until recorded."""
        self.log.begin()
        self._counted = True

    def record(self, status: Any = None, bytes_out: Optional[int] = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        if self._counted:
            self.log.end()
        entry = self.entry
        if self.response is not None:
            entry["status"] = self.response.status
            entry["error_code"] = self.response.error_code
            entry["bytes_out"] = 0 if self.method == "HEAD" else self.response.content_length
        if status is not None:
            entry["status"] = status
        if bytes_out is not None:
            entry["bytes_out"] = bytes_out
        entry["bytes_in"] = self.body.bytes_read if self.body is not None else 0
        entry["duration"] = round(time.monotonic() - self.started, 6)
        if entry["op"] != "Control":  # the log and counters describe OSS traffic only
            self.log.record(entry)
