"""A small HTTP service on a free 127.0.0.1 port, in a background thread: the
base of the credential stand-ins (STS, ECS metadata, credentials URI)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

Answer = Tuple[int, Dict[str, str], bytes]


def json_answer(status: int, payload: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode("utf-8")


class StandIn:
    """Subclasses implement ``handle``; ``calls`` records (method, path) in order."""

    name = "stand-in"

    def __init__(self) -> None:
        self.calls: List[Tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def handle(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str]) -> Answer:
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "not started"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def count(self, path_or_action: str) -> int:
        with self._lock:
            return sum(1 for _, p in self.calls if p == path_or_action)

    def start(self) -> "StandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with standin._lock:
                    standin.calls.append((self.command, query.get("Action") or parts.path))
                status, extra, body = standin.handle(self.command, parts.path, query, headers)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-standin",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "StandIn":
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
