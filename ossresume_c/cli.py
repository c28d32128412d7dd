"""``ossresume``: the command line.

    ossresume cp LOCAL oss://bucket/key          resumable upload with a progress bar
    ossresume cp oss://bucket/key LOCAL          resumable download
    ossresume cp -r DIR oss://bucket/prefix/     upload a tree, skipping what is already there
    ossresume ls [-r] [-l] oss://bucket/prefix   list objects (cli_ls.py)
    ossresume stat oss://bucket/key              size, ETag, CRC-64, metadata (cli_stat.py)
    ossresume rm [-r] [--dry-run] oss://b/key    delete (cli_rm.py)
    ossresume sync DIR oss://bucket/prefix/      the same, with --delete, --include/--exclude, --dry-run
    ossresume emulator [--root DIR] [--port P]   run the local OSS emulator
    ossresume demo [--size 256MiB]               the whole job end to end on the emulator
    ossresume uploads ls|abort oss://bucket/...  unfinished multipart uploads (cli_uploads.py)

Exit codes: 0 done, 1 the transfer (or some file, object) failed (its Status is
printed), 2 bad arguments or no usable credentials, 130 interrupted (Ctrl-C; the
message says how to resume).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import List, Optional, Sequence

from .terminal import ProgressBar, human, setup_logging

from . import cli_ls, cli_rm, cli_stat, cli_uploads
from .cli_common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, add_connection_args,
                         bandwidth_arg, checkpoint_setting, credentials_problem, failure,
                         fill_from_ossutil, options_from_args, parse_oss_url, print_json)
from .cli_common import err as _err
from .cli_common import size_arg as _size_arg
from .cli_common import threads_arg as _threads_arg


# -- parser -----------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ossresume",
        description="Resumable upload and download of large files to Alibaba Cloud OSS.",
        epilog="Credentials come from the default chain (environment, --profile of the aliyun "
               "CLI / credentials.ini / ossutil files, OIDC and ECS RAM roles...: see the README); "
               "the endpoint and region from --endpoint/--region, OSS_ENDPOINT/OSS_REGION or "
               "~/.ossutilconfig. Exit codes: 0 ok, 1 failed, 2 usage or credentials, 130 interrupted.")
    sub = parser.add_subparsers(dest="command", metavar="{cp,sync,ls,stat,rm,uploads,emulator,demo}")
    sub.required = True

    cp = sub.add_parser(
        "cp", help="copy a file (or with -r a directory) to or from OSS, resumably",
        description="Copy LOCAL to oss://bucket/key or oss://bucket/key to LOCAL. An interrupted "
                    "copy continues from its checkpoint when the same command runs again.")
    cp.add_argument("source", help="a local path or oss://bucket/key")
    cp.add_argument("destination", help="oss://bucket/key (or .../prefix/) or a local path")
    cp.add_argument("-r", "--recursive", action="store_true",
                    help="upload the directory SOURCE under the prefix DESTINATION")
    cp.add_argument("--part-size", type=_size_arg, default=0, metavar="SIZE",
                    help="part size: 8MiB, 100KB (= 102400 bytes), plain bytes; default automatic "
                         "(8 MiB, grown to stay within 10000 parts)")
    cp.add_argument("--threads", type=_threads_arg, default=None, metavar="N",
                    help="parts in flight at once (default 3; with -r the global limit, default 8)")
    ck = cp.add_mutually_exclusive_group()
    ck.add_argument("--checkpoint", metavar="PATH|DIR",
                    help="checkpoint file, or an existing directory (or a path ending in '/') to "
                         "hold it; default FILE.ucp / FILE.dcp next to the local file (with -r: "
                         "~/.cache/ossresume/checkpoints)")
    ck.add_argument("--no-checkpoint", action="store_true",
                    help="no checkpoint: an interrupted copy starts over")
    add_connection_args(cp)
    cp.add_argument("--bandwidth", type=bandwidth_arg, default=0, metavar="RATE",
                    help="cap the transfer at RATE (e.g. 50MiB/s) over all threads and files")
    cp.add_argument("--json", action="store_true", help="print the result as one JSON object")
    cp.add_argument("--verify", choices=("sample", "all", "none"), default="sample",
                    help="what an upload's resume reads back (default: sample; see the README)")
    cp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cp.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    from .cli_sync import add_tree_options, register as register_sync
    add_tree_options(cp)
    cp.set_defaults(subparser=cp)

    register_sync(sub)

    em = sub.add_parser("emulator", help="run the local OSS emulator (python -m ossresume_c.emulator)",
                        add_help=False)
    em.add_argument("--root", help="store directory (default: a new temporary directory)")
    em.add_argument("--port", help="port (default: any free port)")
    em.add_argument("-h", "--help", action="store_true", help="all the emulator's options")

    demo = sub.add_parser(
        "demo", help="upload, interrupt, resume, verify and download back, on the embedded emulator",
        description="Runs the main job end to end with no credentials and no network: starts the "
                    "emulator on a free loopback port, uploads a test file in parallel parts, "
                    "interrupts the upload, resumes it from the checkpoint, checks the object's "
                    "CRC-64, downloads it back resumably and compares.")
    demo.add_argument("--size", type=_size_arg, default=256 << 20,
                      help="test file size (default 256MiB; at least 1MiB)")
    demo.add_argument("--threads", type=_threads_arg, default=4, metavar="N",
                      help="parts in flight (default 4)")
    demo.add_argument("--keep", action="store_true", help="keep the temporary directory")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(subparser=demo)
    for module in (cli_ls, cli_stat, cli_rm, cli_uploads):
        module.register(sub)
    return parser


# -- output helpers -----------------------------------------------------------------

# -- cp -----------------------------------------------------------------------------

def _options(args: argparse.Namespace):
    options = options_from_args(args)
    options.ctl.max_bandwidth = args.bandwidth
    return options


def _resume_hint(argv: Sequence[str], checkpoint: Optional[str], extra: str = "") -> None:
    command = shlex.join(["ossresume", *argv])
    if checkpoint:
        state = f"the checkpoint {checkpoint} keeps what was done"
        if extra:
            state += f" ({extra})"
        _err(f"interrupted; {state}. Run the same command again to resume:\n  {command}")
    else:
        _err(f"interrupted; without a checkpoint nothing is kept. Run the command again to start over:"
             f"\n  {command}")


def _cp(args: argparse.Namespace, argv: Sequence[str]) -> int:
    src, dst = parse_oss_url(args.source), parse_oss_url(args.destination)
    cp_parser: argparse.ArgumentParser = args.subparser
    if src and dst:
        cp_parser.error("copying between two oss:// locations is not supported; one side must be local")
    if not src and not dst:
        cp_parser.error("one side must be an oss://bucket/key URL")
    fill_from_ossutil(args)
    if not args.endpoint:
        cp_parser.error("no endpoint: pass --endpoint or set OSS_ENDPOINT (or put one in ~/.ossutilconfig)")
    bucket = (src or dst)[0]  # type: ignore[index]
    if not bucket:
        cp_parser.error(f"no bucket in {args.source if src else args.destination!r}")
    if args.recursive and src:
        cp_parser.error("-r uploads a local directory; downloading a prefix is not supported")
    if args.recursive and not os.path.isdir(args.source):
        cp_parser.error(f"-r needs a directory, and {args.source!r} is not one")
    if not args.recursive and dst and os.path.isdir(args.source):
        cp_parser.error(f"{args.source!r} is a directory (use -r to upload a tree)")
    try:
        options = _options(args)
        options.config.endpoint_parts()
    except ValueError as exc:
        cp_parser.error(str(exc))
    setup_logging(args.verbose)
    problem = credentials_problem(options)
    if problem is not None:
        return problem
    if args.recursive:
        return _cp_tree(args, argv, options, dst[0], dst[1])  # type: ignore[index]
    if dst:
        key = dst[1]
        if not key or key.endswith("/"):
            key += os.path.basename(os.path.abspath(args.source))
        return _cp_up(args, argv, options, args.source, bucket, key)
    key = src[1]  # type: ignore[index]
    if not key or key.endswith("/"):
        cp_parser.error(f"{args.source!r} names no object")
    target = args.destination
    if target.endswith(("/", os.sep)):
        os.makedirs(target, exist_ok=True)   # "DIR/" names a directory, made when missing
    if os.path.isdir(target):
        target = os.path.join(target, key.rsplit("/", 1)[-1])
    return _cp_down(args, argv, options, bucket, key, target)


def _cp_up(args: argparse.Namespace, argv: Sequence[str], options, local: str, bucket: str,
           key: str) -> int:
    from .checkpoint_file import checkpoint_location
    from .cli_executor import open_executor
    from .ops import response_crc
    from .params import create_resumable_clt_params
    from .upload import resumable_upload_file
    enable, path = checkpoint_setting(args)
    threads = args.threads or 3
    clt = create_resumable_clt_params(args.part_size, threads, enable, path)
    checkpoint = checkpoint_location(clt, local, bucket, key, ".ucp")
    resuming = bool(checkpoint and os.path.isfile(checkpoint))
    try:
        total: Optional[int] = os.path.getsize(local)
    except OSError:
        total = None
    bar = ProgressBar(f"{os.path.basename(local)} -> oss://{bucket}/{key}", total, not args.quiet,
                      resuming)
    started = time.monotonic()
    try:
        with open_executor(args) as executor:
            status = resumable_upload_file(options, bucket, key, local, None, None, clt, bar,
                                           verify=args.verify, executor=executor)
    except KeyboardInterrupt:
        bar.close()
        _resume_hint(argv, checkpoint if checkpoint and os.path.exists(checkpoint) else None)
        return EXIT_INTERRUPTED
    bar.close()
    if not status.is_ok():
        return failure("upload", status, args.json)
    seconds = time.monotonic() - started
    size = total or 0
    sent = size - bar.restored
    note = f" ({human(bar.restored)} restored from the checkpoint)" if bar.restored else ""
    crc = "CRC-64 verified" if response_crc(status.resp_headers) is not None else "CRC-64 checked per part"
    if args.json:
        print_json({"ok": True, "operation": "upload", "source": local, "destination": f"oss://{bucket}/{key}",
                    "size": size, "restored": bar.restored, "seconds": round(seconds, 3),
                    "crc64_verified": response_crc(status.resp_headers) is not None,
                    "request_id": status.req_id})
        return EXIT_OK
    print(f"uploaded {local} -> oss://{bucket}/{key}: {human(size)}{note} in {seconds:.2f} s "
          f"({human(sent / seconds if seconds > 0 else 0)}/s), {crc}; request id {status.req_id or '-'}")
    return EXIT_OK


def _cp_down(args: argparse.Namespace, argv: Sequence[str], options, bucket: str, key: str,
             target: str) -> int:
    from .checkpoint_file import checkpoint_location
    from .cli_executor import open_executor
    from .download import resumable_download_file
    from .ops import response_crc
    from .params import create_resumable_clt_params
    enable, path = checkpoint_setting(args)
    threads = args.threads or 3
    clt = create_resumable_clt_params(args.part_size, threads, enable, path)
    checkpoint = checkpoint_location(clt, target, bucket, key, ".dcp")
    resuming = bool(checkpoint and os.path.isfile(checkpoint))
    bar = ProgressBar(f"oss://{bucket}/{key} -> {os.path.basename(target)}", None, not args.quiet,
                      resuming)
    resp_headers: dict = {}
    started = time.monotonic()
    try:
        with open_executor(args) as executor:
            status = resumable_download_file(options, bucket, key, target, None, None, clt, bar,
                                             resp_headers, executor=executor)
    except KeyboardInterrupt:
        bar.close()
        _resume_hint(argv, checkpoint if checkpoint and os.path.exists(checkpoint) else None,
                     f"data so far in {target}.tmp")
        return EXIT_INTERRUPTED
    bar.close()
    if not status.is_ok():
        return failure("download", status, args.json)
    seconds = time.monotonic() - started
    size = os.path.getsize(target)
    sent = size - bar.restored
    note = f" ({human(bar.restored)} restored from the checkpoint)" if bar.restored else ""
    crc = "CRC-64 verified" if response_crc(resp_headers) is not None else "no object CRC-64 to check"
    if args.json:
        print_json({"ok": True, "operation": "download", "source": f"oss://{bucket}/{key}", "destination": target,
                    "size": size, "restored": bar.restored, "seconds": round(seconds, 3),
                    "crc64_verified": response_crc(resp_headers) is not None, "request_id": status.req_id})
        return EXIT_OK
    print(f"downloaded oss://{bucket}/{key} -> {target}: {human(size)}{note} in {seconds:.2f} s "
          f"({human(sent / seconds if seconds > 0 else 0)}/s), {crc}; request id {status.req_id or '-'}")
    return EXIT_OK


def _cp_tree(args: argparse.Namespace, argv: Sequence[str], options, bucket: str, prefix: str) -> int:
    from .cli_sync import run_tree
    return run_tree(args, argv, options, bucket, prefix)


# -- emulator / demo ----------------------------------------------------------------

def _emulator(argv: List[str]) -> int:
    from .emulator import cli as emulator_cli
    from .emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, ENV_ACCESS_KEY_ID
    if "-h" not in argv and "--help" not in argv and not os.environ.get(ENV_ACCESS_KEY_ID) \
            and "--access-key-id" not in argv:
        _err(f"emulator key pair (test defaults): OSS_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY_ID} "
             f"OSS_ACCESS_KEY_SECRET={DEFAULT_ACCESS_KEY_SECRET}; create buckets with --bucket NAME")
    return int(emulator_cli.main(argv) or 0)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    if args.size < (1 << 20):
        args.subparser.error("--size must be at least 1MiB")
    from .emulator import EmulatorError
    setup_logging(False)
    try:
        report = run_demo(args.size, threads=args.threads, keep=args.keep, progress=not args.quiet)
    except KeyboardInterrupt:
        _err("demo interrupted")
        return EXIT_INTERRUPTED
    except (EmulatorError, OSError) as exc:
        _err(f"demo failed: {exc}")
        return EXIT_FAILED
    return EXIT_OK if report.ok else EXIT_FAILED


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "emulator":
        return _emulator(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv            # what a resume hint repeats
    try:
        if args.command == "cp":
            return _cp(args, argv)
        if getattr(args, "handler", None) is not None:
            return int(args.handler(args))
        if args.command == "demo":
            return _demo(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return EXIT_USAGE  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
