"""The ECS instance RAM role, from the instance metadata service: a session token
first (``PUT /latest/api/token``, the token-protected mode), then the role's
credentials, renewed ahead of expiry.

Without a token (an old metadata service) the plain GETs are used, unless
``ALIBABA_CLOUD_IMDSV1_DISABLED=true``.  The role name comes from the profile,
``ALIBABA_CLOUD_ECS_METADATA``, or the service itself.  The service address is
``http://100.100.100.200``; ``OSSRESUME_ECS_METADATA_ENDPOINT`` (ours) overrides it.
"""
from __future__ import annotations

import os
from typing import Mapping, Optional

from .base import (CredentialsError, ExpiringCredentials, SourceAbsent, credentials_from_json,
                   env_flag, http_json, http_text)
from .refresh import RefreshingProvider

ENV_METADATA_ENDPOINT = "OSSRESUME_ECS_METADATA_ENDPOINT"
ENV_ROLE_NAME = "ALIBABA_CLOUD_ECS_METADATA"
ENV_DISABLED = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
ENV_IMDSV1_DISABLED = "ALIBABA_CLOUD_IMDSV1_DISABLED"
METADATA_HOST = "http://100.100.100.200"
TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL_HEADER = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aliyun-ecs-metadata-token"
TOKEN_TTL = 21600
TIMEOUT = 1.0


def metadata_endpoint(env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    return (env.get(ENV_METADATA_ENDPOINT) or METADATA_HOST).rstrip("/")


class EcsRamRoleProvider:
    name = "ECS RAM role (instance metadata service)"

    def __init__(self, role_name: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.env = os.environ if env is None else env
        self.role_name = role_name or self.env.get(ENV_ROLE_NAME) or None
        self.endpoint = metadata_endpoint(self.env)
        self.imdsv1_disabled = env_flag(ENV_IMDSV1_DISABLED, self.env)
        self._cache = RefreshingProvider(self._fetch, self.name)
        self._reached = False

    def __call__(self) -> ExpiringCredentials:
        return self._cache()

    def _token(self) -> Optional[str]:
        try:
            return http_text("PUT", self.endpoint + TOKEN_PATH, "ECS metadata token",
                             {TOKEN_TTL_HEADER: str(TOKEN_TTL)}, TIMEOUT,
                             unreachable_is_absent=not self._reached).strip()
        except SourceAbsent:
            raise
        except CredentialsError:
            if self.imdsv1_disabled:
                raise
            return None          # no token mode here: plain GETs

    def invalidate(self) -> bool:
        return self._cache.invalidate()

    def _fetch(self) -> ExpiringCredentials:
        token = self._token()
        self._reached = True
        headers = {TOKEN_HEADER: token} if token else {}
        role = self.role_name
        if not role:
            role = http_text("GET", self.endpoint + ROLE_PATH, "ECS metadata role name", headers,
                             TIMEOUT).strip()
            if not role:
                raise CredentialsError("ECS metadata: this instance has no RAM role attached")
        answer = http_json("GET", self.endpoint + ROLE_PATH + role,
                           f"ECS metadata credentials of role {role}", headers, TIMEOUT)
        if answer.get("Code") != "Success":
            raise CredentialsError(f"ECS metadata credentials of role {role}: Code {answer.get('Code')!r}")
        return credentials_from_json(answer, f"ECS metadata credentials of role {role}")
