"""An ECS instance metadata stand-in on loopback: the session token
(``PUT /latest/api/token``) and the RAM role's temporary credentials, issued as
``tempkeys`` the emulator accepts.

``require_token`` refuses plain GETs (a metadata service in token-protected
mode); ``token_mode=False`` answers 404 to the token request (an old service).
"""
from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Dict

from . import tempkeys
from .standin import Answer, StandIn, json_answer

ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_PATH = "/latest/api/token"


def _text(status: int, text: str) -> Answer:
    return status, {"Content-Type": "text/plain"}, text.encode("utf-8")


class MetadataStandIn(StandIn):
    name = "metadata"

    def __init__(self, access_key_secret: str, role_name: str = "ossresume-test-role",
                 lifetime: float = 3600.0, require_token: bool = True, token_mode: bool = True) -> None:
        super().__init__()
        self.master = access_key_secret
        self.role_name = role_name
        self.lifetime = lifetime
        self.require_token = require_token
        self.token_mode = token_mode
        self._tokens: Dict[str, float] = {}
        self._token_lock = threading.Lock()

    def handle(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str]) -> Answer:
        if path == TOKEN_PATH:
            return self._issue_token(method, headers)
        if not path.startswith(ROLE_PATH) or method != "GET":
            return _text(404, "Not Found")
        token = headers.get("x-aliyun-ecs-metadata-token")
        with self._token_lock:
            valid = token is not None and self._tokens.get(token, 0.0) > time.time()
        if (token is not None and not valid) or (token is None and self.require_token):
            return _text(401, "Unauthorized")
        role = path[len(ROLE_PATH):]
        if not role:
            return _text(200, self.role_name)
        if role != self.role_name:
            return _text(404, "Not Found")
        creds = tempkeys.issue(self.master, self.lifetime)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json_answer(200, dict(creds, Code="Success", LastUpdated=now))

    def _issue_token(self, method: str, headers: Dict[str, str]) -> Answer:
        if not self.token_mode:
            return _text(404, "Not Found")
        if method != "PUT":
            return _text(405, "Method Not Allowed")
        ttl_text = headers.get("x-aliyun-ecs-metadata-token-ttl-seconds", "")
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= 21600:
            return _text(400, "Bad Request")
        token = secrets.token_urlsafe(24)
        with self._token_lock:
            self._tokens[token] = time.time() + int(ttl_text)
        return _text(200, token)
