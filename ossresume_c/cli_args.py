"""What the ``ossresume`` sub-commands share: exit codes, argument types, the
connection options and the request options built from them."""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Optional, Tuple

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


# -- argument types -------------------------------------------------------------

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


def size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def threads_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"must be 1..1024, got {value}")
    return value


def parse_oss_url(text: str) -> Optional[Tuple[str, str]]:
    """``oss://bucket/key`` -> ``(bucket, key)``; None when ``text`` is not an oss:// URL."""
    if not text.lower().startswith("oss://"):
        return None
    rest = text[len("oss://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


# -- connection options -------------------------------------------------------------

def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Endpoint, signing, retries, TLS and output switches shared by cp and sync."""
    parser.add_argument("--endpoint", default=os.environ.get("OSS_ENDPOINT"),
                        help="e.g. https://oss-cn-hangzhou.aliyuncs.com (env OSS_ENDPOINT)")
    parser.add_argument("--region", default=os.environ.get("OSS_REGION"),
                        help="signing region, e.g. cn-hangzhou (env OSS_REGION; default from the endpoint)")
    parser.add_argument("--signature-version", type=int, choices=(1, 4), default=4,
                        help="request signature version (default 4)")
    parser.add_argument("--max-retries", type=int, default=3, metavar="N",
                        help="retries per request on network errors, 5xx and 429 (default 3)")
    parser.add_argument("--ca-bundle", metavar="PEM", help="verify HTTPS with this CA bundle")
    parser.add_argument("--insecure", action="store_true", help="do not verify HTTPS certificates")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")


def request_options(args: argparse.Namespace):
    from .config import request_options_create
    verify: object = True
    if args.insecure:
        verify = False
    elif args.ca_bundle:
        verify = args.ca_bundle
    return request_options_create(endpoint=args.endpoint, region=args.region or None,
                                  signature_version=args.signature_version,
                                  max_retries=max(0, args.max_retries), verify=verify)


def checkpoint_setting(args: argparse.Namespace) -> Tuple[bool, Optional[str]]:
    """(enable, path) as given; ``checkpoint_file.checkpoint_location`` applies the rule."""
    return not args.no_checkpoint, (None if args.no_checkpoint else args.checkpoint)


def err(msg: str) -> None:
    print(f"ossresume: {msg}", file=sys.stderr, flush=True)


def endpoint_options(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The request options of ``args``; an endpoint that does not parse is a usage error."""
    try:
        options = request_options(args)
        options.config.endpoint_parts()
    except ValueError as exc:
        parser.error(str(exc))
    return options
