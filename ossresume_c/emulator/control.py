"""The control API under ``/_emulator/`` (loopback only, no signature).

Bucket names cannot start with ``_``, so these paths never collide with OSS
requests in path style; virtual-host requests never reach here.

    GET    /_emulator/health              {"status": "ok", ...}
    GET    /_emulator/faults              the rules with their matched/fired counts
    POST   /_emulator/faults              add a rule (JSON object) or rules (JSON list)
    DELETE /_emulator/faults              remove every rule
    DELETE /_emulator/faults/<id>         remove one rule
    GET    /_emulator/counters            requests per operation, errors, faults fired, bytes
    DELETE /_emulator/counters            reset the counters
    GET    /_emulator/log                 the request log (JSON list, oldest first)
    DELETE /_emulator/log                 clear it
    GET    /_emulator/buckets             bucket names
    PUT    /_emulator/buckets/<name>      create a bucket (201, or 200 when it exists)
    DELETE /_emulator/buckets/<name>[?force]  delete a bucket (force: with its contents)
    POST   /_emulator/shutdown            stop the server
"""
from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .errors import OssError
from .exchange import Response
from .routing import check_bucket

if TYPE_CHECKING:  # pragma: no cover
    from .server import Emulator


def _json(status: int, payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, [("Content-Type", "application/json")], body)


class ControlAPI:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.shutdown_hook: Optional[Any] = None

    def handle(self, method: str, path: str, query: List[Tuple[str, Optional[str]]], body: bytes) -> Response:
        parts = [p for p in path.split("/") if p]
        try:
            return self._dispatch(method, parts, query, body)
        except ValueError as exc:
            return _json(400, {"error": str(exc)})
        except OssError as exc:
            return _json(exc.status, {"error": exc.code, "message": exc.message})

    def _dispatch(self, method: str, parts: List[str], query: List[Tuple[str, Optional[str]]], body: bytes) -> Response:
        emulator = self.emulator
        if parts == ["health"] and method in ("GET", "HEAD"):
            return _json(
                200,
                {
                    "status": "ok",
                    "pid": os.getpid(),
                    "root": emulator.config.root,
                    "benchmark_mode": emulator.config.benchmark_mode,
                    "anonymous": emulator.config.anonymous,
                    "threads": threading.active_count(),
                    "thread_names": sorted(t.name for t in threading.enumerate()),
                },
            )
        if parts[:1] == ["faults"]:
            if len(parts) == 1 and method == "GET":
                return _json(200, emulator.faults.rules())
            if len(parts) == 1 and method == "POST":
                payload = json.loads(body.decode("utf-8") or "null")
                rules = payload if isinstance(payload, list) else [payload]
                if not all(isinstance(r, dict) for r in rules):
                    raise ValueError("a fault rule is a JSON object")
                added = [emulator.faults.add(r) for r in rules]
                return _json(200, {"ids": [r.id for r in added]})
            if len(parts) == 1 and method == "DELETE":
                emulator.faults.clear()
                return _json(200, {"cleared": True})
            if len(parts) == 2 and method == "DELETE":
                return _json(200 if emulator.faults.remove(int(parts[1])) else 404, {"id": int(parts[1])})
        if parts == ["counters"]:
            if method == "GET":
                counters = emulator.log.counters()
                counters["faults_fired"] = dict(emulator.faults.fired_by_action)
                counters["faults_fired_total"] = emulator.faults.fired_total()
                counters["fault_rules"] = emulator.faults.rules()
                return _json(200, counters)
            if method == "DELETE":
                emulator.log.reset_counters()
                emulator.faults.reset_counters()
                return _json(200, {"cleared": True})
        if parts == ["log"]:
            if method == "GET":
                return _json(200, emulator.log.entries())
            if method == "DELETE":
                emulator.log.clear()
                return _json(200, {"cleared": True})
        if parts[:1] == ["buckets"]:
            if len(parts) == 1 and method == "GET":
                return _json(200, [name for name, _ in emulator.store.bucket_names()])
            if len(parts) == 2 and method == "PUT":
                check_bucket(parts[1])
                created = emulator.store.create_bucket(parts[1])
                return _json(201 if created else 200, {"bucket": parts[1], "created": created})
            if len(parts) == 2 and method == "DELETE":
                force = any(name == "force" for name, _ in query)
                emulator.store.delete_bucket(parts[1], force=force)
                return _json(200, {"bucket": parts[1], "deleted": True})
        if parts == ["shutdown"] and method == "POST":
            hook = self.shutdown_hook
            if hook is not None:
                threading.Thread(target=hook, name="emulator-shutdown", daemon=True).start()
            return _json(200, {"stopping": hook is not None})
        return _json(404, {"error": f"no control endpoint {method} /{'/'.join(parts)}"})
