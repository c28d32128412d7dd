"""``ossresume rm oss://bucket/key``: delete an object, or with ``-r`` every object
under a prefix; ``--dry-run`` prints what would go and deletes nothing."""
from __future__ import annotations

import argparse
from typing import Any, Iterator, List, Optional, Tuple

from . import cli_common as common


def register(subparsers: Any) -> None:
    rm = subparsers.add_parser("rm", help="delete an object (or with -r every object under a prefix)",
                               description="Delete oss://bucket/key; with -r, every object whose key "
                                           "starts with the prefix.")
    rm.add_argument("url", help="oss://bucket/key, or with -r oss://bucket/prefix")
    rm.add_argument("-r", "--recursive", action="store_true", help="every object under the prefix")
    rm.add_argument("--dry-run", action="store_true", help="print what would be deleted; delete nothing")
    rm.add_argument("--json", action="store_true", help="one JSON document on stdout")
    common.add_connection_args(rm)
    rm.set_defaults(handler=run, subparser=rm)


def _keys(transport: Any, bucket: str, key: str, recursive: bool
          ) -> Iterator[Tuple[Optional[Any], Optional[str]]]:
    from .object_listing import list_all
    if not recursive:
        yield None, key
        return
    for status, entry in list_all(transport, bucket, key, True):
        if status is not None:
            yield status, None
            return
        if entry is None:
            return
        yield None, entry.key


def run(args: argparse.Namespace) -> int:
    from .ops import delete_object
    from .transport import Transport
    bucket, key = common.parse_target(args, "oss://bucket/key")
    if not args.recursive and (not key or key.endswith("/")):
        args.subparser.error(f"{args.url!r} names no object (use -r for a prefix)")
    options = common.prepare(args, args.subparser)
    if isinstance(options, int):
        return options
    deleted: List[str] = []
    failed: List[Tuple[str, str]] = []
    with Transport(options) as transport:
        for status, name in _keys(transport, bucket, key, args.recursive):
            if status is not None:
                common.err(f"listing oss://{bucket}/{key} failed: {status}")
                failed.append((key, str(status)))
                break
            assert name is not None
            url = f"oss://{bucket}/{name}"
            if args.dry_run:
                deleted.append(name)
                if not args.json:
                    print(f"(dry run) would delete {url}")
                continue
            result = delete_object(transport, bucket, name)
            if result.is_ok():
                deleted.append(name)
                if not args.json:
                    print(f"deleted {url}")
            else:
                failed.append((name, str(result)))
                common.err(f"delete {url} failed: {result}")
    if args.json:
        common.print_json({"bucket": bucket, "dry_run": args.dry_run,
                           "deleted" if not args.dry_run else "would_delete": deleted,
                           "failed": [{"key": k, "status": s} for k, s in failed]})
    return common.EXIT_FAILED if failed else common.EXIT_OK
