"""An STS stand-in on loopback: AssumeRole (RPC signature verified against the
emulator's key pair, or temporary keys with their token) and AssumeRoleWithOIDC
(the OIDC token compared with the expected one).  It issues ``tempkeys`` the
emulator accepts.

    with StsStandIn(emu.access_key_id, emu.access_key_secret, lifetime=4) as sts:
        os.environ["OSSRESUME_STS_ENDPOINT"] = sts.endpoint

``lifetime`` (seconds) replaces the requested DurationSeconds so that tests can
watch tokens expire; without it DurationSeconds must be 900..43200, as on STS.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Dict, Optional, Set

from ..credentials import rpcsign
from . import tempkeys
from .standin import Answer, StandIn, json_answer

MAX_SKEW = 900.0


def _error(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"RequestId": uuid.uuid4().hex.upper(), "HostId": "sts.aliyuncs.com",
                                "Code": code, "Message": message})


class StsStandIn(StandIn):
    name = "sts"

    def __init__(self, access_key_id: str, access_key_secret: str, lifetime: Optional[float] = None,
                 oidc_token: Optional[str] = None) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.master = access_key_secret
        self.lifetime = lifetime
        self.oidc_token = oidc_token
        self.refuse: Optional[str] = None      # set to a code to refuse every call (tests)
        self._nonces: Set[str] = set()

    def handle(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str]) -> Answer:
        if self.refuse:
            return _error(403, self.refuse, "Refused by the test.")
        action = query.get("Action")
        missing = [n for n in ("RoleArn", "RoleSessionName", "Version") if not query.get(n)]
        if action not in ("AssumeRole", "AssumeRoleWithOIDC"):
            return _error(400, "InvalidAction.NotFound", f"Unsupported action {action!r}.")
        if missing:
            return _error(400, "MissingParameter", f"{missing[0]} is mandatory for this action.")
        if not query["RoleArn"].startswith("acs:ram::"):
            return _error(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
        if action == "AssumeRole":
            refused = self._check_signature(method, query)
        else:
            refused = self._check_oidc(query)
        if refused is not None:
            return refused
        try:
            duration = int(query.get("DurationSeconds") or 3600)
        except ValueError:
            return _error(400, "InvalidParameter.DurationSeconds", "DurationSeconds is not a number.")
        if self.lifetime is None and not 900 <= duration <= 43200:
            return _error(400, "InvalidParameter.DurationSeconds",
                          "DurationSeconds must be within 900 and 43200.")
        creds = tempkeys.issue(self.master, self.lifetime if self.lifetime is not None else duration)
        role = query["RoleArn"].rsplit("/", 1)[-1]
        return json_answer(200, {
            "RequestId": uuid.uuid4().hex.upper(),
            "AssumedRoleUser": {"Arn": f"{query['RoleArn']}/{query['RoleSessionName']}",
                                "AssumedRoleId": f"{role}:{query['RoleSessionName']}"},
            "Credentials": creds,
        })

    def _check_signature(self, method: str, query: Dict[str, str]) -> Optional[Answer]:
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp"):
            if not query.get(name):
                return _error(400, "MissingParameter", f"{name} is mandatory for this action.")
        if query.get("SignatureMethod") != rpcsign.SIGNATURE_METHOD or \
                query.get("SignatureVersion") != rpcsign.SIGNATURE_VERSION:
            return _error(400, "InvalidParameter", "SignatureMethod must be HMAC-SHA1, SignatureVersion 1.0.")
        try:
            stamp = datetime.strptime(query["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return _error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(time.time() - stamp.timestamp()) > MAX_SKEW:
            return _error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        ak = query["AccessKeyId"]
        secret = self.master if ak == self.access_key_id else tempkeys.secret_for(self.master, ak)
        if secret is None:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if not rpcsign.verify(method, query, secret):
            return _error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        refused = tempkeys.token_check(self.master, ak, query.get("SecurityToken"))
        if refused is not None:
            return _error(400, *refused)
        with self._lock:
            if query["SignatureNonce"] in self._nonces:
                return _error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(query["SignatureNonce"])
        return None

    def _check_oidc(self, query: Dict[str, str]) -> Optional[Answer]:
        if not query.get("OIDCProviderArn") or not query.get("OIDCToken"):
            return _error(400, "MissingParameter", "OIDCProviderArn and OIDCToken are mandatory.")
        if self.oidc_token is not None and query["OIDCToken"] != self.oidc_token:
            return _error(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid.")
        return None
