"""Fault injection: rules that make matching requests fail, stall or lie.

A rule is a JSON object (``--fault`` flag, control API, ``add_fault(**rule)``)::

    {"op": "UploadPart", "action": "status", "status": 503, "nth": 3}
    {"op": "*", "action": "status", "status": 500, "fraction": 0.25, "seed": 1}
    {"action": "reset", "after_bytes": 65536}
    {"action": "delay", "seconds": 2}
    {"action": "bad_crc", "op": "UploadPart", "part_number": 2}
    {"action": "throttle", "bytes_per_sec": 1048576}

Actions:
  status    answer with ``status`` (default 503) and error ``code`` (default from the
            status: 500 InternalError, 503 ServiceUnavailable...). ``phase``: "before"
            (default; the operation is not performed) or "after" (it is performed,
            then its response is replaced by the error: a lost response).
  reset     drop the connection with a TCP RST: for GetObject after ``after_bytes``
            bytes of the response body, otherwise after ``after_bytes`` bytes of the
            request body (at once when the body is shorter or absent; the operation
            is then not performed).
  delay     sleep ``seconds`` before handling the request.
  bad_crc   send a wrong ``x-oss-hash-crc64ecma`` (and wrong HashCrc64ecma in ListParts).
  throttle  read the request body and write the response body at ``bytes_per_sec``.
  garble    perform the operation, then damage its response body (a lost or damaged
            InitiateMultipartUpload answer, say): ``mode`` "flip" (one seeded byte),
            "declaration" (``encoding="UUF-8"``), "html" (a proxy's error page) or
            "truncate" (half of it).

Which requests match: ``op`` (operation name, "*" or a list of names), ``method``,
``bucket``, ``key`` (exact), ``key_prefix``, ``part_number``. When a matching
request fires: ``nth`` = only the Nth match (then the next ones, while ``count``
allows; ``count`` defaults to 1 with ``nth``); ``fraction`` = each match with that
probability (``seed`` for a reproducible sequence); neither = every match.
``count`` caps the number of firings.
"""
from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Union

ACTIONS = ("status", "reset", "delay", "bad_crc", "throttle", "garble")
GARBLE_MODES = ("flip", "declaration", "html", "truncate")


@dataclass
class FaultRule:
    action: str
    op: Union[str, List[str]] = "*"
    method: Optional[str] = None
    bucket: Optional[str] = None
    key: Optional[str] = None
    key_prefix: Optional[str] = None
    part_number: Optional[int] = None
    nth: Optional[int] = None
    fraction: Optional[float] = None
    seed: Optional[int] = None
    count: Optional[int] = None
    status: int = 503
    code: Optional[str] = None
    phase: str = "before"
    after_bytes: int = 0
    seconds: float = 0.0
    bytes_per_sec: float = 0.0
    mode: str = "flip"
    id: int = 0
    matched: int = 0
    fired: int = 0
    _rng: Optional[random.Random] = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls) if not f.name.startswith("_")} - {"id", "matched", "fired"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        if "action" not in data:
            raise ValueError("a fault rule needs an 'action'")
        rule = cls(**data)
        rule.validate()
        return rule

    def validate(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {', '.join(ACTIONS)}")
        if self.nth is not None and (not isinstance(self.nth, int) or self.nth < 1):
            raise ValueError("nth must be an integer >= 1")
        if self.fraction is not None and not 0.0 <= float(self.fraction) <= 1.0:
            raise ValueError("fraction must be within [0, 1]")
        if self.count is not None and (not isinstance(self.count, int) or self.count < 0):
            raise ValueError("count must be an integer >= 0")
        if self.action == "status" and not 400 <= int(self.status) <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        if self.phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        if self.action == "reset" and self.after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")
        if self.action == "delay" and not 0 <= self.seconds <= 3600:
            raise ValueError("seconds must be within [0, 3600]")
        if self.action == "throttle" and self.bytes_per_sec <= 0:
            raise ValueError("bytes_per_sec must be > 0")
        if self.action == "garble" and self.mode not in GARBLE_MODES:
            raise ValueError(f"mode must be one of {', '.join(GARBLE_MODES)}")
        if self.nth is not None and self.count is None:
            self.count = 1
        self._rng = random.Random(self.seed)

    def to_dict(self) -> Dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return {k: v for k, v in out.items() if v is not None}

    def matches(self, op: str, method: str, bucket: str, key: str, part_number: Optional[int]) -> bool:
        ops = [self.op] if isinstance(self.op, str) else list(self.op)
        if "*" not in ops and op not in ops:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.bucket is not None and self.bucket != bucket:
            return False
        if self.key is not None and self.key != key:
            return False
        if self.key_prefix is not None and not key.startswith(self.key_prefix):
            return False
        return self.part_number is None or self.part_number == part_number

    def should_fire(self) -> bool:
        """Called once per matching request (``matched`` already counted it)."""
        if self.count is not None and self.fired >= self.count:
            return False
        if self.nth is not None and self.matched < self.nth:
            return False
        if self.fraction is not None:
            assert self._rng is not None
            return self._rng.random() < float(self.fraction)
        return True


@dataclass
class FaultPlan:
    """What the faults that fired ask of one request."""

    status: Optional[FaultRule] = None
    reset_after: Optional[int] = None
    delay: float = 0.0
    bad_crc: bool = False
    bytes_per_sec: Optional[float] = None
    garble: Optional[FaultRule] = None
    names: List[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.names)


class FaultSet:
    def __init__(self, rules: Sequence[Dict[str, Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: List[FaultRule] = []
        self._next_id = 1
        self.fired_by_action: Dict[str, int] = {}
        for rule in rules:
            self.add(rule)

    def add(self, data: Dict[str, Any]) -> FaultRule:
        rule = FaultRule.from_dict(dict(data))
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def rules(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def plan(self, op: str, method: str, bucket: str, key: str, part_number: Optional[int]) -> FaultPlan:
        plan = FaultPlan()
        with self._lock:
            if not self._rules:
                return plan
            for rule in self._rules:
                if not rule.matches(op, method, bucket, key, part_number):
                    continue
                rule.matched += 1
                if not rule.should_fire():
                    continue
                if rule.action == "status" and plan.status is not None:
                    continue  # one status per request; the first rule wins
                rule.fired += 1
                self.fired_by_action[rule.action] = self.fired_by_action.get(rule.action, 0) + 1
                plan.names.append(f"{rule.action}#{rule.id}")
                if rule.action == "status":
                    plan.status = rule
                elif rule.action == "reset":
                    plan.reset_after = rule.after_bytes if plan.reset_after is None else min(plan.reset_after, rule.after_bytes)
                elif rule.action == "delay":
                    plan.delay += rule.seconds
                elif rule.action == "bad_crc":
                    plan.bad_crc = True
                elif rule.action == "garble":
                    plan.garble = rule
                elif rule.action == "throttle":
                    rate = rule.bytes_per_sec
                    plan.bytes_per_sec = rate if plan.bytes_per_sec is None else min(plan.bytes_per_sec, rate)
        return plan

    def reset_counters(self) -> None:
        with self._lock:
            self.fired_by_action.clear()

    def fired_total(self) -> int:
        with self._lock:
            return sum(self.fired_by_action.values())


def garbled(body: bytes, rule: FaultRule) -> bytes:
    """``body`` damaged the way the garble ``rule`` says."""
    if rule.mode == "declaration":
        return b'<?xml version="1.0" encoding="UUF-8"?>\n' + body.split(b"?>", 1)[-1].lstrip()
    if rule.mode == "html":
        return b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    if rule.mode == "truncate":
        return body[: len(body) // 2]
    if not body:
        return body
    assert rule._rng is not None
    pos = rule._rng.randrange(len(body))
    return body[:pos] + bytes([body[pos] ^ (1 << rule._rng.randrange(8))]) + body[pos + 1:]
