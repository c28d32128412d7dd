"""The aliyun CLI's profiles (``~/.aliyun/config.json``): the profile named by
``--profile`` / ``ALIBABA_CLOUD_PROFILE``, else the file's ``current`` one.

Modes read: AK, StsToken (refused with its expiry once ``sts_expiration`` has
passed), RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC.
``ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`` turns the source off.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from ..auth import Credentials
from . import roles
from .base import CredentialsError, Provider, SourceAbsent, env_flag, fixed, invalidate, require_keys
from .ecs import EcsRamRoleProvider
from .files import home, read_json

ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_DISABLED = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"


def default_path() -> str:
    return os.path.join(home(), ".aliyun", "config.json")


class CliProfileProvider:
    def __init__(self, profile: Optional[str] = None, path: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.env = os.environ if env is None else env
        self.path = path or default_path()
        self.profile = profile or self.env.get(ENV_PROFILE) or None
        self.name = f"aliyun CLI profile ({self.path})"
        self._inner: Optional[Provider] = None

    def __call__(self) -> Credentials:
        if self._inner is None:
            if env_flag(ENV_DISABLED, self.env):
                raise SourceAbsent(f"{ENV_DISABLED}=true")
            config = read_json(self.path, "aliyun CLI config")
            if not isinstance(config, dict):
                raise CredentialsError(f"aliyun CLI config {self.path}: not a JSON object")
            name = self.profile or config.get("current")
            if not name:
                raise SourceAbsent("no profile named and no 'current' one")
            self._inner = self._provider(config, str(name), depth=0)
        return self._inner()

    def invalidate(self) -> bool:
        return invalidate(self._inner)

    def _provider(self, config: Dict[str, Any], name: str, depth: int) -> Provider:
        where = f"aliyun CLI config {self.path}, profile {name!r}"
        if depth > 5:
            raise CredentialsError(f"{where}: source_profile chain too long (a loop?)")
        profiles = [p for p in config.get("profiles") or [] if isinstance(p, dict)]
        profile = next((p for p in profiles if p.get("name") == name), None)
        if profile is None:
            raise SourceAbsent(f"no profile {name!r}")
        mode = profile.get("mode")
        if mode == "AK":
            return fixed(require_keys(profile, "access_key_id", "access_key_secret", where), where)
        if mode == "StsToken":
            creds = require_keys(profile, "access_key_id", "access_key_secret", where, "sts_token")
            if profile.get("sts_expiration"):
                creds.expiration = float(profile["sts_expiration"])
            return fixed(creds, where)
        if mode in ("RamRoleArn", "ChainableRamRoleArn"):
            if mode == "RamRoleArn":
                source: Provider = fixed(require_keys(profile, "access_key_id", "access_key_secret", where), where)
            else:
                source = self._provider(config, str(profile.get("source_profile") or ""), depth + 1)
            return _role_from(source, profile, where, self.env)
        if mode == "EcsRamRole":
            return EcsRamRoleProvider(profile.get("ram_role_name") or None, self.env)
        if mode == "OIDC":
            return roles.oidc_role_arn(profile.get("ram_role_arn"), profile.get("oidc_provider_arn"),
                                       profile.get("oidc_token_file"), where,
                                       profile.get("role_session_name"), profile.get("expired_seconds"),
                                       profile.get("policy"), profile.get("sts_region"), self.env)
        raise CredentialsError(f"{where}: mode {mode!r} is not supported (AK, StsToken, RamRoleArn, "
                               f"ChainableRamRoleArn, EcsRamRole, OIDC are)")


def _role_from(source: Provider, profile: Dict[str, Any], where: str,
               env: Mapping[str, str]) -> Provider:
    return roles.ram_role_arn(source, profile.get("ram_role_arn"), where,
                              profile.get("ram_session_name"), profile.get("expired_seconds"),
                              profile.get("policy"), profile.get("external_id"),
                              profile.get("sts_region"), env)
