"""``python -m ossresume_c.emulator``: run the emulator until SIGTERM/SIGINT.

When the server is ready it prints exactly one line on stdout (flushed)::

    ossresume emulator listening on http://127.0.0.1:PORT

``start_emulator`` waits for that line; everything else goes to stderr (logging).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import List, Optional

from .config import (
    DEFAULT_REGION,
    EmulatorConfig,
    default_access_key_id,
    default_access_key_secret,
)

READY_PREFIX = "ossresume emulator listening on "

log = logging.getLogger("ossresume_c.emulator")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ossresume_c.emulator",
        description="Local Alibaba Cloud OSS emulator (disk-backed, for tests and benchmarks).",
    )
    parser.add_argument("--root", help="store directory (default: a temporary directory, removed at exit)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--access-key-id", default=None, help="accepted key id (env OSSRESUME_EMULATOR_ACCESS_KEY_ID)")
    parser.add_argument(
        "--access-key-secret", default=None, help="its secret (env OSSRESUME_EMULATOR_ACCESS_KEY_SECRET)"
    )
    parser.add_argument("--anonymous", action="store_true", help="also accept unsigned requests")
    parser.add_argument("--bucket", action="append", default=[], help="create this bucket at start (repeatable)")
    parser.add_argument(
        "--benchmark-mode",
        action="store_true",
        help="skip MD5: ETags derive from CRC-64 and size (Content-MD5 requests still get real MD5s)",
    )
    parser.add_argument(
        "--discard",
        action="store_true",
        help="checksum bodies (CRC-64, MD5 for ETags) and drop them: HEAD, List, ListParts and Complete answer, "
        "GET of such an object is an InvalidObjectState error (for benchmarks)",
    )
    parser.add_argument("--request-log", default=None, help="append a JSON line per request to this file")
    parser.add_argument("--fault", action="append", default=[], help="fault rule as JSON (repeatable)")
    parser.add_argument("--region", default=DEFAULT_REGION, help="region reported by the emulator")
    parser.add_argument("--strict-region", action="store_true", help="refuse V4 signatures for another region (the default)")
    parser.add_argument("--any-region", action="store_true", help="accept V4 signatures scoped to any region")
    parser.add_argument("--max-skew", type=float, default=900.0, help="allowed clock skew in seconds")
    parser.add_argument("--tls-cert", default=None, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", default=None, help="private key of --tls-cert (PEM)")
    parser.add_argument(
        "--virtual-host-suffix",
        action="append",
        default=[],
        help="host name under which Host: <bucket>.<suffix> is virtual-host style (repeatable)",
    )
    parser.add_argument(
        "--direct-io",
        action="store_true",
        help="write large bodies with O_DIRECT where the file system allows (helps where fresh page-cache pages are slow)",
    )
    parser.add_argument(
        "--block-public-access",
        action="store_true",
        help="create buckets with Block Public Access on, as OSS does for buckets created since October 2025",
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level on stderr (default WARNING)")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    root = args.root or tempfile.mkdtemp(prefix="ossresume-emulator-")
    faults = []
    for text in args.fault:
        rule = json.loads(text)
        faults.extend(rule if isinstance(rule, list) else [rule])
    return EmulatorConfig(
        root=os.path.abspath(root),
        host=args.host,
        port=args.port,
        access_key_id=args.access_key_id or default_access_key_id(),
        access_key_secret=args.access_key_secret or default_access_key_secret(),
        anonymous=args.anonymous,
        buckets=tuple(args.bucket),
        benchmark_mode=args.benchmark_mode,
        request_log=args.request_log,
        faults=faults,
        region=args.region,
        strict_region=not args.any_region,
        max_skew=args.max_skew,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        virtual_host_suffixes=tuple(s.lower() for s in args.virtual_host_suffix),
        direct_io=args.direct_io,
        discard=args.discard,
        block_public_access=args.block_public_access,
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(f"bad --fault: {exc}")
    from .server import build_server  # after logging is set up

    try:
        server = build_server(config)
    except (OSError, RuntimeError, ValueError) as exc:
        log.error("cannot start the emulator: %s", exc)
        print(f"error: cannot start the emulator: {exc}", file=sys.stderr)
        return 1

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, name="emulator-stop", daemon=True).start()

    server.emulator.control.shutdown_hook = server.shutdown
    signal.signal(signal.SIGTERM, stop)
    log.info("emulator %r", config)
    try:
        # Inside the try: a Ctrl-C sent as soon as the line is read is still a clean stop.
        sys.stdout.write(READY_PREFIX + server.endpoint + "\n")
        sys.stdout.flush()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.emulator.close()
        if not args.root:  # an ephemeral store nobody asked to keep
            shutil.rmtree(config.root, ignore_errors=True)
    return 0
