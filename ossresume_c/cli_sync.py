"""``ossresume sync`` (and ``cp -r``): the command line of the tree engine.

    ossresume sync DIR oss://bucket/prefix/ [--delete] [--include G] [--exclude G]
                   [--dry-run] [--json] [--checksum] [--manifest PATH]

Exit codes as ``cp``: 0 done, 1 some file failed, 2 bad arguments or the
manifest is in use by another running sync, 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from typing import Any, Dict, Optional, Sequence

from tqdm import tqdm

from .terminal import write_above


def add_tree_options(parser: argparse.ArgumentParser) -> None:
    """The tree engine's switches, shared by ``cp -r`` and ``sync``."""
    parser.add_argument("--checksum", action="store_true",
                        help="compare every same-size object by HEAD + CRC-64 instead of trusting "
                             "the manifest")
    parser.add_argument("--manifest", metavar="PATH",
                        help="the SQLite manifest of what was uploaded (default: one per endpoint, "
                             "bucket, prefix and directory under ~/.cache/ossresume/manifests)")
    parser.add_argument("--follow-symlinks", action="store_true",
                        help="upload what symlinks point to (loops are detected); default: skip them")
    from .cli_executor import add_executor_options
    add_executor_options(parser)


class _RuleAction(argparse.Action):
    """--include/--exclude into one ordered list, so that later rules win."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        rules = list(getattr(namespace, "rules", None) or [])
        rules.append((self.const, values))
        namespace.rules = rules


def register(subparsers: Any) -> None:
    from .cli_common import add_connection_args, size_arg, threads_arg
    p = subparsers.add_parser(
        "sync", help="make oss://bucket/prefix/ hold the files of a directory",
        description="Upload the files of DIR that the destination lacks or holds with other "
                    "content; unchanged files cost no request (a local manifest plus the listing "
                    "of the prefix). With --delete, objects under the prefix with no local file "
                    "are removed.")
    p.add_argument("source", help="a local directory")
    p.add_argument("destination", help="oss://bucket/prefix/")
    p.add_argument("--delete", action="store_true",
                   help="delete objects under the prefix that have no local file (never a key "
                        "outside the prefix, never an excluded one)")
    p.add_argument("--include", action=_RuleAction, const="include", metavar="GLOB", dest="rules",
                   help="include paths matching GLOB (repeatable; later rules win)")
    p.add_argument("--exclude", action=_RuleAction, const="exclude", metavar="GLOB", dest="rules",
                   help="exclude paths matching GLOB (relative to DIR; '*' matches '/' too)")
    p.add_argument("--dry-run", action="store_true",
                   help="send no write request; print what would be uploaded and deleted")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per file outcome and a final summary object")
    p.add_argument("--part-size", type=size_arg, default=0, metavar="SIZE",
                   help="part size of big files (default automatic)")
    p.add_argument("--threads", type=threads_arg, default=None, metavar="N",
                   help="requests in flight at once (default 8)")
    p.add_argument("--no-checkpoint", action="store_true",
                   help="no checkpoints for big files: an interrupted one starts over")
    add_tree_options(p)
    p.add_argument("--verify", choices=("sample", "all", "none"), default="sample",
                   help="what a big file's resume reads back (default: sample; see the README)")
    add_connection_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    p.set_defaults(subparser=p, handler=_sync, rules=[])


def _sync(args: argparse.Namespace) -> int:
    import os

    from .cli_common import parse_oss_url, prepare
    from .terminal import setup_logging
    parser: argparse.ArgumentParser = args.subparser
    dst = parse_oss_url(args.destination)
    if not dst or not dst[0]:
        parser.error(f"the destination must be oss://bucket/prefix/, not {args.destination!r}")
    if not os.path.isdir(args.source):
        parser.error(f"{args.source!r} is not a directory")
    options = prepare(args, parser)
    if isinstance(options, int):
        return options
    setup_logging(args.verbose)
    args.checkpoint = None
    return run_tree(args, args.argv, options, dst[0], dst[1])  # type: ignore[index]


def run_tree(args: argparse.Namespace, argv: Sequence[str], options: Any, bucket: str,
             prefix: str) -> int:
    """Run the tree engine for ``cp -r`` or ``sync`` and report as the CLI does."""
    from .bulk import ManifestInUse, TreeInterrupted, default_checkpoint_dir, normalize_prefix, upload_tree
    from .cli_common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, checkpoint_setting, err
    from .terminal import human
    enable, cp_path = checkpoint_setting(args)
    prefix = normalize_prefix(prefix)
    as_json = getattr(args, "json", False)
    dry_run = getattr(args, "dry_run", False)
    bar = _FilesBar(f"{args.source} -> oss://{bucket}/{prefix}", not args.quiet)

    def on_file(outcome) -> None:
        bar.file_done(outcome)
        if as_json:
            print(json.dumps(_outcome_json(outcome)), flush=True)
        elif outcome.action == "failed":
            bar.write(f"ossresume: failed: {outcome.path or outcome.key} -> {outcome.key}: {outcome.status}")
        elif outcome.action in ("would-upload", "would-delete", "deleted") or args.verbose:
            where = f"{outcome.path} -> " if outcome.path else ""
            bar.write(f"{outcome.action}: {where}oss://{bucket}/{outcome.key}"
                      + (f" ({outcome.note})" if outcome.note else ""))

    from .cli_executor import open_executor
    try:
        with open_executor(args) as executor:
            summary = upload_tree(options, args.source, bucket, prefix, args.part_size,
                                  args.threads or 8, enable_checkpoint=enable, checkpoint_dir=cp_path,
                                  progress=bar.bytes_done, on_file=on_file, manifest=args.manifest,
                                  checksum=args.checksum, delete=getattr(args, "delete", False),
                                  dry_run=dry_run, rules=getattr(args, "rules", None) or (),
                                  follow_symlinks=args.follow_symlinks, keep_keys=False,
                                  executor=executor, verify=getattr(args, "verify", "sample"))
    except ManifestInUse as exc:
        bar.close()
        err(str(exc))
        return EXIT_USAGE
    except TreeInterrupted as exc:
        bar.close()
        _report(exc.summary, as_json)
        command = shlex.join(["ossresume", *argv])
        partial = (f"partly sent big files resume from their checkpoints in "
                   f"{cp_path or default_checkpoint_dir()}" if enable
                   else "partly sent big files start over (no checkpoints)")
        err(f"interrupted; files already uploaded are skipped next time and {partial}. "
             f"Run the same command again to resume:\n  {command}")
        return EXIT_INTERRUPTED
    bar.close()
    rate = human(summary.bytes_uploaded / summary.seconds if summary.seconds > 0 else 0)
    _report(summary, as_json, f" ({rate}/s, {summary.requests} requests)")
    if summary.counts["failed"] or summary.error is not None:
        err(f"{summary.counts['failed']} file(s) failed; run the same command again to retry them")
        for key, status in list(summary.failed.items())[:20]:
            err(f"  {key}: {status}")
        return EXIT_FAILED
    return EXIT_OK


def _report(summary, as_json: bool, extra: str = "") -> None:
    if as_json:
        print(json.dumps({"summary": {**{k: v for k, v in summary.counts.items()},
                                      "bytes_uploaded": summary.bytes_uploaded,
                                      "bytes_skipped": summary.bytes_skipped,
                                      "requests": summary.requests, "list_pages": summary.list_pages,
                                      "seconds": round(summary.seconds, 3),
                                      "error": str(summary.error) if summary.error else None}}),
              flush=True)
    else:
        print(f"{summary}{extra}", flush=True)


def _outcome_json(outcome) -> Dict[str, Any]:
    out: Dict[str, Any] = {"action": outcome.action, "key": outcome.key, "path": outcome.path,
                           "size": outcome.size}
    if outcome.note:
        out["note"] = outcome.note
    if outcome.action == "failed" and outcome.status is not None:
        s = outcome.status
        out["status"] = {"code": s.code, "error_code": s.error_code, "message": s.error_msg}
    return out


class _FilesBar:
    """One line on stderr: files done (a tqdm counter) with the bytes sent beside it."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self.bar = tqdm(desc=desc, unit=" files", disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, leave=True, mininterval=0.2)
        self.sent = 0
        self.last = 0.0

    def file_done(self, _outcome) -> None:
        self.bar.update(1)

    def bytes_done(self, consumed: int, total: int) -> None:
        from .terminal import human
        self.sent = consumed
        now = time.monotonic()
        if now - self.last >= 0.2 or consumed == total:
            self.last = now
            self.bar.set_postfix_str(f"{human(consumed)} / {human(total)} sent", refresh=False)

    def write(self, line: str) -> None:
        write_above(line, sys.stderr)

    def close(self) -> None:
        self.bar.close()
