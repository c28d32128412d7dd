"""``ossresume uploads``: list unfinished multipart uploads and abort abandoned ones.

    ossresume uploads ls oss://bucket[/prefix]
    ossresume uploads abort oss://bucket[/prefix] (--older-than 7d | --all) [--dry-run]

Nothing is aborted without ``--older-than`` or ``--all``; ``--dry-run`` prints
what would be aborted and sends no write request.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Any, List, Optional

from . import cli_common as common

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"``, ``"2w"``, ``"90"`` (seconds) -> seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r} (examples: 7d, 12h, 30m, 2w)")
    return float(match.group(1)) * _SECONDS[match.group(2).lower()]


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    """Add ``uploads ls`` and ``uploads abort`` to the ``ossresume`` parser."""
    up = subparsers.add_parser("uploads", help="list or abort unfinished multipart uploads",
                               description="Unfinished multipart uploads keep their parts (and "
                                           "their cost) until completed or aborted.")
    verbs = up.add_subparsers(dest="verb", metavar="{ls,abort}")
    verbs.required = True
    ls = verbs.add_parser("ls", help="key, upload id, initiated, part count and bytes of each upload")
    ls.add_argument("url", metavar="oss://bucket[/prefix]")
    abort = verbs.add_parser("abort", help="abort uploads older than a duration, or all of them")
    abort.add_argument("url", metavar="oss://bucket[/prefix]")
    which = abort.add_mutually_exclusive_group(required=True)
    which.add_argument("--older-than", type=_duration_arg, metavar="AGE",
                       help="only uploads initiated longer ago than AGE (7d, 12h, 30m; server clock)")
    which.add_argument("--all", action="store_true", help="every upload under the prefix")
    abort.add_argument("--dry-run", action="store_true",
                       help="print what would be aborted; send no write request")
    for parser in (ls, abort):
        common.add_connection_args(parser)
        parser.set_defaults(subparser=parser)
    up.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Optional[Any] = None) -> int:
    from .uploads import abort_multipart_uploads, list_multipart_uploads
    out = out or sys.stdout
    where = common.parse_oss_url(args.url)
    if where is None or not where[0]:
        common.err(f"not an oss://bucket[/prefix] URL: {args.url!r}")
        return common.EXIT_USAGE
    bucket, prefix = where
    options = common.prepare(args, args.subparser)
    if isinstance(options, int):
        return options
    if args.verb == "ls":
        status, uploads = list_multipart_uploads(options, bucket, prefix)
        if not status.is_ok():
            return common.failure("listing uploads", status)
        _table(out, ["KEY", "UPLOAD ID", "INITIATED", "PARTS", "BYTES"],
               [[u.key, u.upload_id, u.initiated, _num(u.parts), _num(u.bytes)] for u in uploads])
        print(f"{len(uploads)} unfinished upload(s) under oss://{bucket}/{prefix}", file=out)
        return common.EXIT_OK
    status, chosen = abort_multipart_uploads(options, bucket, prefix, older_than=args.older_than,
                                             all=args.all, dry_run=args.dry_run)
    verb = "would abort" if args.dry_run else "aborted"
    for u in chosen:
        outcome = verb if u.status is None or u.status.is_ok() else f"FAILED ({u.status})"
        print(f"{outcome}\t{u.key}\t{u.upload_id}\t{u.initiated}", file=out)
    print(f"{len(chosen)} upload(s) {verb} under oss://{bucket}/{prefix}", file=out)
    return common.EXIT_OK if status.is_ok() else common.failure("aborting uploads", status)


def _num(value: Optional[int]) -> str:
    return "?" if value is None else str(value)


def _table(out: Any, head: List[str], rows: List[List[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
