"""A loopback callback server for the C SDK's callback tests (ci/csdk_suite.sh).

Answers every POST with ``{"Status":"OK"}`` (what the suite expects OSS to relay)
and appends what it received, one JSON line per callback, to the file given as
the second argument. Prints ``listening on http://127.0.0.1:PORT/`` once ready.

    python ci/csdk_callback_server.py PORT_OR_0 LOG_FILE
"""
from __future__ import annotations

import http.server
import json
import sys
import threading


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    log_path = sys.argv[2] if len(sys.argv) > 2 else None
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if log_path:
                record = {"path": self.path, "headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace")}
                with lock, open(log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
            reply = b'{"Status":"OK"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
