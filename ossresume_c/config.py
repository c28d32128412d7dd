"""Options of a call: the Python forms of ``oss_config_t``, ``aos_http_controller_t``
and ``oss_request_options_t``.

Credentials not given come from the default chain (``ossresume_c.credentials``:
the environment, profiles, roles...); no repr, log line or error message shows them.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from .auth import Credentials


@dataclass(repr=False)
class Config:
    """``oss_config_t``: where to send requests and how to sign them."""

    endpoint: str = ""
    access_key_id: Optional[str] = None
    access_key_secret: Optional[str] = None
    sts_token: Optional[str] = None
    region: Optional[str] = None
    signature_version: int = 4
    is_cname: bool = False
    product: str = "oss"
    profile: Optional[str] = None          # a profile of the credential files (--profile)
    credentials_provider: Optional[Callable[[], Credentials]] = None  # any callable

    def credentials(self) -> Credentials:
        """The credentials for the next request (raises ``CredentialsError`` when
        none can be found: the message lists the places looked, in order)."""
        return self.credentials_source()()

    def credentials_source(self) -> Callable[[], Credentials]:
        from .credentials import provider_for
        return provider_for(self)

    def __getstate__(self) -> dict:
        # the resolved chain holds locks and caches: a pickled or copied config resolves its own
        return {k: v for k, v in self.__dict__.items() if k != "_chain"}

    def endpoint_parts(self) -> "Endpoint":
        return Endpoint.parse(self.endpoint)

    def __repr__(self) -> str:
        ak = self.access_key_id or ""
        shown = (ak[:4] + "***") if ak else "<env>"
        return (f"Config(endpoint={self.endpoint!r}, access_key_id={shown!r}, "
                f"access_key_secret='***', sts_token={'***' if self.sts_token else None}, "
                f"region={self.region!r}, signature_version={self.signature_version}, "
                f"is_cname={self.is_cname}, profile={self.profile!r})")

    __str__ = __repr__


@dataclass
class HttpController:
    """``aos_http_controller_t``: transport behaviour."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 3
    enable_crc: bool = True
    enable_md5: bool = False
    proxy: Optional[str] = None
    verify: Any = True                 # bool or a CA bundle path, as in requests
    backoff_base: float = 0.2          # seconds; first retry waits up to this
    backoff_cap: float = 20.0          # seconds; no retry waits longer
    user_agent_suffix: str = ""
    max_bandwidth: int = 0             # bytes per second over all threads and files; 0 = no cap

    def __getstate__(self) -> dict:
        # the token bucket is per process: a pickled or copied controller makes its own
        return {k: v for k, v in self.__dict__.items() if k != "_bucket"}

    def __repr__(self) -> str:
        proxy = _mask_url(self.proxy) if self.proxy else None
        return (f"HttpController(connect_timeout={self.connect_timeout}, "
                f"read_timeout={self.read_timeout}, max_retries={self.max_retries}, "
                f"enable_crc={self.enable_crc}, enable_md5={self.enable_md5}, proxy={proxy!r}, "
                f"verify={self.verify!r})")


@dataclass
class RequestOptions:
    """``oss_request_options_t``: a config and a controller."""

    config: Config = field(default_factory=Config)
    ctl: HttpController = field(default_factory=HttpController)


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str          # without port
    port: Optional[int]

    @classmethod
    def parse(cls, endpoint: str) -> "Endpoint":
        text = (endpoint or "").strip()
        if not text:
            raise ValueError("endpoint is empty")
        if "://" not in text:
            text = "http://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint {endpoint!r} is not an http(s) host")
        return cls(parts.scheme, parts.hostname, parts.port)

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def is_ip(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password or parts.username:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return f"{parts.scheme}://***@{host}"
    return url


def _split_kwargs(kwargs: dict) -> tuple[dict, dict]:
    config_names = {f.name for f in fields(Config)}
    ctl_names = {f.name for f in fields(HttpController)}
    cfg, ctl = {}, {}
    for name, value in kwargs.items():
        if name in config_names:
            cfg[name] = value
        elif name in ctl_names:
            ctl[name] = value
        else:
            raise TypeError(f"unknown option {name!r}")
    return cfg, ctl


def config_create(**kwargs: Any) -> Config:
    """``oss_config_create``; keyword arguments set fields."""
    return Config(**kwargs)


def http_controller_create(**kwargs: Any) -> HttpController:
    """``aos_http_controller_create``; keyword arguments set fields."""
    return HttpController(**kwargs)


def request_options_create(config: Optional[Config] = None, ctl: Optional[HttpController] = None,
                           **kwargs: Any) -> RequestOptions:
    """``oss_request_options_create``.  Keyword arguments name Config or
    HttpController fields, so options can be built in one call."""
    cfg_kw, ctl_kw = _split_kwargs(kwargs)
    config = config if config is not None else Config()
    ctl = ctl if ctl is not None else HttpController()
    for name, value in cfg_kw.items():
        setattr(config, name, value)
    for name, value in ctl_kw.items():
        setattr(ctl, name, value)
    return RequestOptions(config=config, ctl=ctl)


def http_io_initialize(*_args: Any, **_kwargs: Any) -> int:
    """Kept so that ported C ``main()``s keep their shape; nothing to set up."""
    return 0


def http_io_deinitialize() -> None:
    """Counterpart of :func:`http_io_initialize`."""
