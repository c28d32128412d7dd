"""What the ``ossresume`` sub-commands share: connection options (endpoint,
region, ``--profile``...), building request options from them, resolving the
credentials before any request, and the output helpers (human sizes, JSON)."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Optional, Tuple

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"8MiB"``, ``"100KB"``, ``"1.5G"``, ``"65536"`` -> bytes.  K/M/G/T are
    binary whatever the spelling: ``100KB`` is 102400 bytes, as the C SDK's
    ``1024*100`` "100KB" part size."""
    match = _SIZE_RE.match(text or "")
    if not match or (match.group(3).lower().startswith("i") and not match.group(2)):
        raise ValueError(f"not a size: {text!r} (examples: 8MiB, 100KB, 1G, 65536)")
    number, unit = match.group(1), match.group(2).lower()
    value = float(number) * _UNITS[unit] if "." in number else int(number) * _UNITS[unit]
    return int(value)


def parse_oss_url(text: str) -> Optional[Tuple[str, str]]:
    """``oss://bucket/key`` -> ``(bucket, key)``; None when ``text`` is not an oss:// URL."""
    if not text.lower().startswith("oss://"):
        return None
    rest = text[len("oss://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def err(msg: str) -> None:
    print(f"ossresume: {msg}", file=sys.stderr, flush=True)


def failure(what: str, status: Any, json_output: bool = False) -> int:
    """Print a failed operation's Status (and a hint for refused credentials); exit code 1."""
    err(f"{what} failed: {status}")
    if json_output:
        print_json({"ok": False, "operation": what, "status": status.to_dict()})
    if status.error_code == "SecurityTokenExpired":
        err("hint: the STS token expired; get a new one, or use a source that renews it "
             "(ram_role_arn, oidc_role_arn, ecs_ram_role, credentials URI)")
    elif status.code in (401, 403):
        err("hint: check the credentials; -v shows which source of the chain gave them "
             "(README: Credentials)")
    return EXIT_FAILED


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None, sort_keys=False))


def human_size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"  # pragma: no cover


def bandwidth_arg(text: str) -> int:
    """``50MiB/s``, ``800KB/s``, ``1048576`` -> bytes per second (binary units, as --part-size)."""
    value = text.strip()
    if value.lower().endswith("/s"):
        value = value[:-2]
    try:
        rate = parse_size(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (examples: 50MiB/s, 800KB/s)") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f"the rate must be positive, got {text!r}")
    return rate


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", default=os.environ.get("OSS_ENDPOINT"),
                        help="e.g. https://oss-cn-hangzhou.aliyuncs.com (env OSS_ENDPOINT; else the "
                             "endpoint of ~/.ossutilconfig)")
    parser.add_argument("--region", default=os.environ.get("OSS_REGION"),
                        help="signing region, e.g. cn-hangzhou (env OSS_REGION; default from the endpoint)")
    add_profile_arg(parser)
    parser.add_argument("--signature-version", type=int, choices=(1, 4), default=4,
                        help="request signature version (default 4)")
    parser.add_argument("--max-retries", type=int, default=3, metavar="N",
                        help="retries per request on network errors, 5xx and 429 (default 3)")
    parser.add_argument("--ca-bundle", metavar="PEM", help="verify HTTPS with this CA bundle")
    parser.add_argument("--insecure", action="store_true", help="do not verify HTTPS certificates")


def add_profile_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=None,
                        help="credentials profile: of ~/.aliyun/config.json, "
                             "~/.alibabacloud/credentials.ini or ~/.ossutilconfig (env ALIBABA_CLOUD_PROFILE)")


def fill_from_ossutil(args: argparse.Namespace) -> None:
    """Endpoint and region not given come from ossutil's config file, when it has them."""
    if args.endpoint and args.region:
        return
    from .credentials.base import CredentialsError
    from .credentials.ossutil import read_settings
    try:
        settings = read_settings(getattr(args, "profile", None))
    except CredentialsError:
        return
    args.endpoint = args.endpoint or settings.get("endpoint")
    args.region = args.region or settings.get("region")


def options_from_args(args: argparse.Namespace) -> Any:
    """Request options for the parsed arguments (ValueError for a bad endpoint)."""
    from .config import request_options_create
    verify: object = True
    if args.insecure:
        verify = False
    elif args.ca_bundle:
        verify = args.ca_bundle
    options = request_options_create(endpoint=args.endpoint, region=args.region or None,
                                     signature_version=args.signature_version,
                                     max_retries=max(0, args.max_retries), verify=verify,
                                     profile=getattr(args, "profile", None) or None)
    options.config.endpoint_parts()
    return options


def credentials_problem(options: Any) -> Optional[int]:
    """Resolve the credentials once before any request: on failure print why (for
    "none found", the places looked, in order) and return the usage exit code."""
    from .credentials import CredentialsError
    try:
        options.config.credentials()
    except CredentialsError as exc:
        err(str(exc))
        return EXIT_USAGE
    return None


def parse_target(args: argparse.Namespace, what: str) -> Tuple[str, str]:
    """``args.url`` as (bucket, key); a usage error unless it is ``oss://bucket...``."""
    target = parse_oss_url(args.url)
    if target is None or not target[0]:
        args.subparser.error(f"{args.url!r} is not {what}")
    return target  # type: ignore[return-value]


def prepare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """Options for a command, or an int exit code (usage, credentials)."""
    fill_from_ossutil(args)
    if not args.endpoint:
        parser.error("no endpoint: pass --endpoint or set OSS_ENDPOINT (or put one in ~/.ossutilconfig)")
    try:
        options = options_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    problem = credentials_problem(options)
    return problem if problem is not None else options
