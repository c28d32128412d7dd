"""Credential sources and the default chain over them (see ``chain.py`` for the order).

A provider is any callable returning the current ``Credentials``; the signer calls
it for every request, so temporary credentials are renewed during a transfer::

    options = oss.request_options_create(endpoint=..., profile="dev")
    options = oss.request_options_create(endpoint=..., credentials_provider=my_vault_lookup)
"""
from __future__ import annotations

from typing import Any, Optional

from ..auth import Credentials
from .base import (CredentialsError, ExpiringCredentials, NoCredentialsError, Provider,
                   SourceAbsent)
from .chain import CredentialsChain, ExplicitProvider, default_chain
from .refresh import RefreshingProvider

__all__ = ["Credentials", "CredentialsError", "ExpiringCredentials", "NoCredentialsError",
           "Provider", "SourceAbsent", "CredentialsChain", "ExplicitProvider", "default_chain",
           "RefreshingProvider", "anonymous", "provider_for"]


def anonymous() -> Credentials:
    """A provider for unsigned requests (public-read buckets)."""
    return Credentials("", "")


def provider_for(config: Any) -> Provider:
    """The provider a ``Config`` signs with: its ``credentials_provider``, else the
    default chain (explicit keys first), built once per key/profile setting."""
    if config.credentials_provider is not None:
        return config.credentials_provider
    key = (config.access_key_id, config.access_key_secret, config.sts_token, config.profile)
    cached: Optional[tuple] = getattr(config, "_chain", None)
    if cached is None or cached[0] != key:
        explicit = ExplicitProvider(config.access_key_id, config.access_key_secret, config.sts_token)
        cached = (key, default_chain(config.profile, explicit))
        object.__setattr__(config, "_chain", cached)
    return cached[1]
