"""Credentials served by a URI (``ALIBABA_CLOUD_CREDENTIALS_URI``): a GET answering
``{"Code": "Success", "AccessKeyId", "AccessKeySecret", "SecurityToken",
"Expiration"}``, renewed ahead of expiry."""
from __future__ import annotations

import os
from typing import Mapping, Optional
from urllib.parse import urlsplit

from .base import CredentialsError, ExpiringCredentials, SourceAbsent, credentials_from_json, http_json
from .refresh import RefreshingProvider

ENV_URI = "ALIBABA_CLOUD_CREDENTIALS_URI"


class CredentialsUriProvider:
    name = f"credentials URI ({ENV_URI})"

    def __init__(self, uri: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> None:
        self.uri = uri or (os.environ if env is None else env).get(ENV_URI) or ""
        self._cache = RefreshingProvider(self._fetch, self.name)

    def __call__(self) -> ExpiringCredentials:
        if not self.uri:
            raise SourceAbsent("not set")
        return self._cache()

    def invalidate(self) -> bool:
        return self._cache.invalidate()

    def _fetch(self) -> ExpiringCredentials:
        parts = urlsplit(self.uri)
        what = f"credentials URI {parts.scheme}://{parts.netloc}{parts.path}"  # no query: it may hold a secret
        answer = http_json("GET", self.uri, what, timeout=10.0)
        if answer.get("Code") != "Success":
            raise CredentialsError(f"{what}: Code {answer.get('Code')!r}")
        return credentials_from_json(answer, what)
