"""``ossresume ls oss://bucket/prefix``: list objects (``-r`` every key under the
prefix, else one level with ``/`` prefixes as directories; ``-l`` long listing with
human sizes; ``--json``)."""
from __future__ import annotations

import argparse
from typing import Any, Dict, List

from . import cli_common as common


def register(subparsers: Any) -> None:
    ls = subparsers.add_parser("ls", help="list objects under oss://bucket/prefix",
                               description="List the objects under oss://bucket/prefix: one level "
                                           "(directories end with '/'), or every key with -r.")
    ls.add_argument("url", help="oss://bucket or oss://bucket/prefix")
    ls.add_argument("-r", "--recursive", action="store_true", help="every key under the prefix")
    ls.add_argument("-l", "--long", action="store_true",
                    help="long listing: last modified, size (human), storage class, ETag")
    ls.add_argument("--json", action="store_true", help="one JSON document on stdout")
    common.add_connection_args(ls)
    ls.set_defaults(handler=run, subparser=ls)


def _row(bucket: str, entry: Any, long: bool) -> str:
    url = f"oss://{bucket}/{entry.key}"
    if not long:
        return url
    if entry.is_prefix:
        return f"{'':19}  {'DIR':>10}  {'':12}  {'':34}  {url}"
    when = entry.last_modified.replace("T", " ")[:19]
    return (f"{when:19}  {common.human_size(entry.size):>10}  {entry.storage_class:12}  "
            f"{entry.etag:34}  {url}")


def run(args: argparse.Namespace) -> int:
    from .object_listing import list_all
    from .transport import Transport
    bucket, prefix = common.parse_target(args, "oss://bucket[/prefix]")
    options = common.prepare(args, args.subparser)
    if isinstance(options, int):
        return options
    objects: List[Dict[str, Any]] = []
    prefixes: List[str] = []
    total = 0
    with Transport(options) as transport:
        for status, entry in list_all(transport, bucket, prefix, args.recursive):
            if status is not None:
                common.err(f"ls failed: {status}")
                return common.EXIT_FAILED
            if entry is None:
                break
            if entry.is_prefix:
                prefixes.append(entry.key)
            else:
                total += entry.size
                objects.append({"key": entry.key, "size": entry.size, "etag": entry.etag,
                                "last_modified": entry.last_modified,
                                "storage_class": entry.storage_class})
            if not args.json:
                print(_row(bucket, entry, args.long))
    if args.json:
        common.print_json({"bucket": bucket, "prefix": prefix, "recursive": args.recursive,
                           "objects": objects, "prefixes": prefixes, "total_size": total})
    elif args.long:
        print(f"{len(objects)} object(s), {common.human_size(total)}"
              + (f", {len(prefixes)} director{'y' if len(prefixes) == 1 else 'ies'}" if prefixes else ""))
    return common.EXIT_OK
