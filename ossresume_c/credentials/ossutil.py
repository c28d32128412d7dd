"""ossutil's configuration file (``~/.ossutilconfig``, or ``OSSUTIL_CONFIG_FILE``):
keys, endpoint and region for ossutil users.

ossutil 1.x writes ``[Credentials]`` with ``accessKeyID`` / ``accessKeySecret`` /
``stsToken`` / ``endpoint``; ossutil 2.x ``[default]`` or ``[profile NAME]`` with
``accessKeyId`` / ``accessKeySecret`` / ``region`` / ``endpoint``.  Key spellings are
matched without case, ``-`` or ``_``.
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

from ..auth import Credentials
from .base import CredentialsError, SourceAbsent, check_not_expired, require_keys
from .files import home, ini_value, read_ini

ENV_FILE = "OSSUTIL_CONFIG_FILE"


def default_path(env: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if env is None else env
    return env.get(ENV_FILE) or os.path.join(home(), ".ossutilconfig")


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def read_settings(profile: Optional[str] = None, path: Optional[str] = None,
                  env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The section's settings under normalised names (``accesskeyid``, ``accesskeysecret``,
    ``ststoken``, ``endpoint``, ``region``...).  SourceAbsent when the file or the
    section is missing."""
    path = path or default_path(env)
    parser = read_ini(path, "ossutil config")
    names = [f"profile {profile}", profile] if profile else ["default", "Credentials"]
    section = next((n for n in names if n and parser.has_section(n)), None)
    if section is None:
        raise SourceAbsent(f"no {' or '.join(f'[{n}]' for n in names if n)} section")
    settings = {_norm(k): ini_value(v) for k, v in parser.items(section)}
    settings = {k: v for k, v in settings.items() if v}
    settings["__section__"] = section
    return settings  # type: ignore[return-value]


class OssutilConfigProvider:
    def __init__(self, profile: Optional[str] = None, path: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.profile = profile
        self.path = path or default_path(env)
        self.env = env
        self.name = f"ossutil config ({self.path})"

    def __call__(self) -> Credentials:
        settings = read_settings(self.profile, self.path, self.env)
        where = f"ossutil config {self.path}, [{settings['__section__']}]"
        if "accesskeyid" not in settings and "accesskeysecret" not in settings:
            raise SourceAbsent(f"[{settings['__section__']}] holds no keys")
        token_name = "ststoken" if "ststoken" in settings else "securitytoken"
        creds = require_keys(settings, "accesskeyid", "accesskeysecret", where, token_name)
        if not creds.access_key_id:
            raise CredentialsError(f"{where}: accessKeyId is empty")
        return check_not_expired(creds, where)
