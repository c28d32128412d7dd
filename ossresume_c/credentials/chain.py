"""The default credential chain: the sources of the official
``alibabacloud-credentials`` default chain, in its order, with ours added.

1. explicit keys (``Config.access_key_id`` / ``access_key_secret`` / ``sts_token``)
2. the environment (``ALIBABA_CLOUD_*``, then ``OSS_*``)
3. the OIDC role, when ``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN``
   and ``ALIBABA_CLOUD_OIDC_TOKEN_FILE`` are all set
4. the aliyun CLI profile (``~/.aliyun/config.json``)
5. the credentials file (``~/.alibabacloud/credentials.ini``)
6. ossutil's config (``~/.ossutilconfig``) -- ours, between the files and the network
7. the ECS RAM role (instance metadata service), unless ``ALIBABA_CLOUD_ECS_METADATA_DISABLED=true``
8. the credentials URI, when ``ALIBABA_CLOUD_CREDENTIALS_URI`` is set

The first source that gives credentials is remembered and asked from then on (the
official chain does the same).  With an explicit profile (``--profile``) only the
three profile files are read, in the same order.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from typing import Any, Callable, List, Mapping, Optional, Sequence

from ..auth import Credentials
from .base import (CredentialsError, NoCredentialsError, Provider, SourceAbsent, env_flag, fixed,
                   invalidate)

log = logging.getLogger("ossresume_c")


class ExplicitProvider:
    name = "explicit keys (access_key_id / access_key_secret in the options)"

    def __init__(self, access_key_id: Optional[str], access_key_secret: Optional[str],
                 security_token: Optional[str] = None) -> None:
        self._get: Optional[Provider] = None
        if access_key_id and access_key_secret:
            self._get = fixed(Credentials(access_key_id, access_key_secret, security_token),
                              "explicit keys")

    def __call__(self) -> Credentials:
        if self._get is None:
            raise SourceAbsent("not given")
        return self._get()


class Disabled:
    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def __call__(self) -> Credentials:
        raise SourceAbsent(self.reason)


class Deferred:
    """A source made when the chain first asks it: its module is imported then.  With
    explicit keys (the usual case) the chain never asks the other sources, and importing
    them all (the profile files' parsers, the role and STS clients) costs ~20 ms of
    every process's start-up."""

    def __init__(self, make: Callable[[], Provider]) -> None:
        self._make = make
        self._made: Optional[Provider] = None
        self._lock = threading.Lock()

    @property
    def source(self) -> Provider:
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._make()
                made = self._made
        return made

    @property
    def name(self) -> str:
        return _name(self.source)

    def invalidate(self) -> bool:
        return invalidate(self.source)

    def __call__(self) -> Credentials:
        return self.source()


def deferred(module: str, cls: str, *args: Any, **kwargs: Any) -> Deferred:
    """``Deferred`` for ``cls(*args, **kwargs)`` of this package's ``module``."""
    def make() -> Provider:
        found = importlib.import_module(f"{__package__}.{module}")
        return getattr(found, cls)(*args, **kwargs)  # type: ignore[no-any-return]
    return Deferred(make)


class CredentialsChain:
    """Asks each source in turn; remembers the first that answers."""

    def __init__(self, providers: Sequence[Provider]) -> None:
        self.providers = list(providers)
        self.chosen: Optional[Provider] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CredentialsChain({[_name(p) for p in self.providers]})"

    def invalidate(self) -> bool:
        return invalidate(self.chosen)

    def __call__(self) -> Credentials:
        chosen = self.chosen
        if chosen is not None:
            return chosen()
        with self._lock:
            if self.chosen is not None:
                return self.chosen()
            looked: List[str] = []
            for provider in self.providers:
                try:
                    creds = provider()
                except SourceAbsent as exc:
                    looked.append(f"{_name(provider)}: {exc}")
                    continue
                except CredentialsError as exc:
                    log.warning("credentials: %s: %s", _name(provider), exc)
                    looked.append(f"{_name(provider)}: {exc}")
                    continue
                self.chosen = provider
                log.info("credentials from %s", _name(provider))
                return creds
        places = "\n".join(f"  {i}. {text}" for i, text in enumerate(looked, 1))
        raise NoCredentialsError(
            "no credentials found. Looked, in order:\n" + places + "\nSet OSS_ACCESS_KEY_ID and "
            "OSS_ACCESS_KEY_SECRET, or configure one of these sources (see the README, Credentials).")


def _name(provider: object) -> str:
    return str(getattr(provider, "name", None) or type(provider).__name__)


def default_chain(profile: Optional[str] = None, explicit: Optional[ExplicitProvider] = None,
                  env: Optional[Mapping[str, str]] = None) -> CredentialsChain:
    env = os.environ if env is None else env
    explicit = explicit or ExplicitProvider(None, None)
    files: List[Provider] = [deferred("cli_profile", "CliProfileProvider", profile, env=env),
                             deferred("ini_profile", "CredentialsFileProvider", profile, env=env),
                             deferred("ossutil", "OssutilConfigProvider", profile, env=env)]
    if profile:
        return CredentialsChain([explicit, *files])
    return CredentialsChain([explicit, deferred("env", "EnvironmentProvider", env),
                             deferred("roles", "OidcEnvironmentProvider", env),
                             *files, Deferred(lambda: _ecs(env)),
                             deferred("uri", "CredentialsUriProvider", env=env)])


def _ecs(env: Mapping[str, str]) -> Provider:
    """The ECS RAM role, or a stand-in saying why it is not asked."""
    from .ecs import ENV_DISABLED, EcsRamRoleProvider
    if env_flag(ENV_DISABLED, env):
        return Disabled(EcsRamRoleProvider.name, f"{ENV_DISABLED}=true")
    return EcsRamRoleProvider(env=env)
