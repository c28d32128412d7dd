"""A credentials-URI stand-in on loopback (``ALIBABA_CLOUD_CREDENTIALS_URI``): GET
answers ``{"Code": "Success", AccessKeyId, AccessKeySecret, SecurityToken,
Expiration}`` with ``tempkeys`` the emulator accepts."""
from __future__ import annotations

from typing import Dict

from . import tempkeys
from .standin import Answer, StandIn, json_answer


class CredentialsUriStandIn(StandIn):
    name = "credentials-uri"

    def __init__(self, access_key_secret: str, lifetime: float = 3600.0) -> None:
        super().__init__()
        self.master = access_key_secret
        self.lifetime = lifetime
        self.fail_with = 0      # an HTTP status to answer instead (tests)

    def handle(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str]) -> Answer:
        if self.fail_with:
            return json_answer(self.fail_with, {"Code": "Unavailable", "Message": "Refused by the test."})
        if method != "GET":
            return json_answer(405, {"Code": "MethodNotAllowed"})
        return json_answer(200, dict(tempkeys.issue(self.master, self.lifetime), Code="Success"))
