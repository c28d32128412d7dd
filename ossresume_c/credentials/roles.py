"""The sources that ask STS for a role's temporary credentials: RAM role ARN
(AssumeRole signed with an AccessKey) and OIDC role ARN (AssumeRoleWithOIDC with
a token file), both renewed ahead of expiry."""
from __future__ import annotations

import os
import time
from typing import Callable, Mapping, Optional

from ..auth import Credentials
from . import sts
from .base import CredentialsError, ExpiringCredentials, SourceAbsent, invalidate
from .refresh import RefreshingProvider

ENV_ROLE_ARN = "ALIBABA_CLOUD_ROLE_ARN"
ENV_OIDC_PROVIDER_ARN = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
ENV_OIDC_TOKEN_FILE = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
ENV_ROLE_SESSION_NAME = "ALIBABA_CLOUD_ROLE_SESSION_NAME"


def _session_name(explicit: Optional[str], env: Mapping[str, str]) -> str:
    return explicit or env.get(ENV_ROLE_SESSION_NAME) or f"ossresume-{int(time.time())}"


def _duration(value: object, where: str) -> int:
    try:
        duration = int(value) if value not in (None, "") else sts.DEFAULT_DURATION  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise CredentialsError(f"{where}: duration {value!r} is not a number of seconds") from None
    if duration < 900:
        raise CredentialsError(f"{where}: duration must be at least 900 seconds, got {duration}")
    return duration


def ram_role_arn(source: Callable[[], Credentials], role_arn: Optional[str], where: str,
                 session_name: Optional[str] = None, duration: object = None,
                 policy: Optional[str] = None, external_id: Optional[str] = None,
                 sts_region: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None) -> RefreshingProvider:
    env = os.environ if env is None else env
    if not role_arn:
        raise CredentialsError(f"{where}: role_arn is required")
    endpoint = sts.sts_endpoint(env, sts_region)
    name, seconds = _session_name(session_name, env), _duration(duration, where)

    def fetch() -> ExpiringCredentials:
        return sts.assume_role(source(), role_arn, name, endpoint, seconds, policy, external_id)
    return RefreshingProvider(fetch, f"{where} (AssumeRole {role_arn})")


def oidc_role_arn(role_arn: Optional[str], provider_arn: Optional[str], token_file: Optional[str],
                  where: str, session_name: Optional[str] = None, duration: object = None,
                  policy: Optional[str] = None, sts_region: Optional[str] = None,
                  env: Optional[Mapping[str, str]] = None) -> RefreshingProvider:
    env = os.environ if env is None else env
    for value, label in ((role_arn, "role_arn"), (provider_arn, "oidc_provider_arn"),
                         (token_file, "oidc_token_file")):
        if not value:
            raise CredentialsError(f"{where}: {label} is required")
    endpoint = sts.sts_endpoint(env, sts_region)
    name, seconds = _session_name(session_name, env), _duration(duration, where)

    def fetch() -> ExpiringCredentials:
        try:   # read at every refresh: the platform rotates the token file
            with open(str(token_file), encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as exc:
            raise CredentialsError(f"{where}: cannot read the OIDC token file {token_file}: "
                                   f"{exc.strerror}") from None
        return sts.assume_role_with_oidc(str(role_arn), str(provider_arn), token, name, endpoint,
                                         seconds, policy)
    return RefreshingProvider(fetch, f"{where} (AssumeRoleWithOIDC {role_arn})")


class OidcEnvironmentProvider:
    """The chain's OIDC source: the three ``ALIBABA_CLOUD_*`` variables, all set."""

    name = f"OIDC role ({ENV_ROLE_ARN}, {ENV_OIDC_PROVIDER_ARN}, {ENV_OIDC_TOKEN_FILE})"

    def __init__(self, env: Optional[Mapping[str, str]] = None) -> None:
        self.env = os.environ if env is None else env
        self._inner: Optional[RefreshingProvider] = None

    def __call__(self) -> Credentials:
        if self._inner is None:
            env = self.env
            values = [env.get(n) for n in (ENV_ROLE_ARN, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE)]
            if not all(values):
                raise SourceAbsent("not all three variables are set")
            self._inner = oidc_role_arn(values[0], values[1], values[2], "OIDC role from the environment",
                                        env=env)
        return self._inner()

    def invalidate(self) -> bool:
        return invalidate(self._inner)
