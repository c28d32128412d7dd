"""Credentials from the environment: ``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` / ``ALIBABA_CLOUD_SECURITY_TOKEN`` (the official
chain's names), else ``OSS_ACCESS_KEY_ID`` / ``OSS_ACCESS_KEY_SECRET`` /
``OSS_SESSION_TOKEN`` (the OSS SDKs' names).  A pair is never mixed across the two."""
from __future__ import annotations

import os
from typing import Mapping, Optional

from .base import ExpiringCredentials, SourceAbsent

NAMES = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"),
)


class EnvironmentProvider:
    name = "environment"

    def __init__(self, env: Optional[Mapping[str, str]] = None) -> None:
        self.env = env

    def __call__(self) -> ExpiringCredentials:
        env = os.environ if self.env is None else self.env
        for id_name, secret_name, token_name in NAMES:
            ak, sk = env.get(id_name, ""), env.get(secret_name, "")
            if ak and sk:
                return ExpiringCredentials(ak, sk, env.get(token_name) or None)
        raise SourceAbsent("none of ALIBABA_CLOUD_ACCESS_KEY_ID+ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
                           "OSS_ACCESS_KEY_ID+OSS_ACCESS_KEY_SECRET is set")
