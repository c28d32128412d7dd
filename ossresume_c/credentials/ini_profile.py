"""The Alibaba Cloud credentials file (``~/.alibabacloud/credentials.ini``, or
``ALIBABA_CLOUD_CREDENTIALS_FILE``): the section named by ``--profile`` /
``ALIBABA_CLOUD_PROFILE``, else ``[default]``.

A section with ``enable = false`` is skipped.  ``type`` is one of access_key,
sts (``security_token``; an optional ``expiration`` in ``2026-01-31T12:00:00Z``
form is checked before use), ram_role_arn, ecs_ram_role, oidc_role_arn.
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

from ..auth import Credentials
from . import roles
from .base import (CredentialsError, Provider, SourceAbsent, fixed, invalidate, parse_expiration,
                   require_keys)
from .ecs import EcsRamRoleProvider
from .files import home, ini_value, read_ini

ENV_FILE = "ALIBABA_CLOUD_CREDENTIALS_FILE"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
TYPES = ("access_key", "sts", "ram_role_arn", "ecs_ram_role", "oidc_role_arn")


def default_path(env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    return env.get(ENV_FILE) or os.path.join(home(), ".alibabacloud", "credentials.ini")


class CredentialsFileProvider:
    def __init__(self, profile: Optional[str] = None, path: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.env = os.environ if env is None else env
        self.path = path or default_path(self.env)
        self.profile = profile or self.env.get(ENV_PROFILE) or "default"
        self.name = f"credentials file ({self.path})"
        self._inner: Optional[Provider] = None

    def __call__(self) -> Credentials:
        if self._inner is None:
            parser = read_ini(self.path, "credentials file")
            if not parser.has_section(self.profile):
                raise SourceAbsent(f"no [{self.profile}] section")
            section = {k: ini_value(v) for k, v in parser.items(self.profile)}
            self._inner = self._provider(section)
        return self._inner()

    def invalidate(self) -> bool:
        return invalidate(self._inner)

    def _provider(self, section: Dict[str, Optional[str]]) -> Provider:
        where = f"credentials file {self.path}, [{self.profile}]"
        if (section.get("enable") or "true").lower() == "false":
            raise SourceAbsent(f"[{self.profile}] has enable = false")
        kind = section.get("type")
        if kind == "access_key":
            return fixed(require_keys(section, "access_key_id", "access_key_secret", where), where)
        if kind == "sts":
            creds = require_keys(section, "access_key_id", "access_key_secret", where, "security_token")
            if not creds.security_token:
                raise CredentialsError(f"{where}: type sts needs security_token")
            if section.get("expiration"):
                creds.expiration = parse_expiration(section["expiration"], where)
            return fixed(creds, where)
        if kind == "ram_role_arn":
            source = fixed(require_keys(section, "access_key_id", "access_key_secret", where), where)
            return roles.ram_role_arn(source, section.get("role_arn"), where,
                                      section.get("role_session_name"), None, section.get("policy"),
                                      env=self.env)
        if kind == "ecs_ram_role":
            return EcsRamRoleProvider(section.get("role_name"), self.env)
        if kind == "oidc_role_arn":
            return roles.oidc_role_arn(section.get("role_arn"), section.get("oidc_provider_arn"),
                                       section.get("oidc_token_file_path"), where,
                                       section.get("role_session_name"), None,
                                       section.get("policy"), env=self.env)
        raise CredentialsError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
