"""``ossresume stat oss://bucket/key``: an object's size, ETag, CRC-64,
Last-Modified, storage class, type and user metadata (``--json``)."""
from __future__ import annotations

import argparse
from typing import Any, Dict

from . import cli_common as common

META_PREFIX = "x-oss-meta-"


def register(subparsers: Any) -> None:
    stat = subparsers.add_parser("stat", help="show an object's size, ETag, CRC-64 and metadata",
                                 description="HEAD oss://bucket/key and print what OSS says about it.")
    stat.add_argument("url", help="oss://bucket/key")
    stat.add_argument("--json", action="store_true", help="one JSON object on stdout")
    common.add_connection_args(stat)
    stat.set_defaults(handler=run, subparser=stat)


def describe(meta: Any) -> Dict[str, Any]:
    headers = {str(k).lower(): v for k, v in meta.headers.items()}
    return {
        "size": meta.size,
        "etag": meta.etag.strip('"'),
        "crc64": str(meta.crc64) if meta.crc64 is not None else None,
        "last_modified": meta.last_modified,
        "storage_class": headers.get("x-oss-storage-class", "Standard"),
        "object_type": meta.object_type,
        "content_type": meta.content_type,
        "metadata": {k[len(META_PREFIX):]: v for k, v in sorted(headers.items()) if k.startswith(META_PREFIX)},
    }


def run(args: argparse.Namespace) -> int:
    from .ops import head_object
    from .transport import Transport
    bucket, key = common.parse_target(args, "oss://bucket/key")
    if not key or key.endswith("/"):
        args.subparser.error(f"{args.url!r} names no object")
    options = common.prepare(args, args.subparser)
    if isinstance(options, int):
        return options
    with Transport(options) as transport:
        status, meta = head_object(transport, bucket, key)
    if not status.is_ok() or meta is None:
        common.err(f"stat failed: {status}")
        return common.EXIT_FAILED
    info = describe(meta)
    if args.json:
        common.print_json(dict({"url": f"oss://{bucket}/{key}"}, **info))
        return common.EXIT_OK
    print(f"oss://{bucket}/{key}")
    print(f"  Size:          {common.human_size(info['size'])} ({info['size']} bytes)")
    for label, name in (("ETag", "etag"), ("CRC-64", "crc64"), ("Last-Modified", "last_modified"),
                        ("Storage class", "storage_class"), ("Object type", "object_type"),
                        ("Content-Type", "content_type")):
        print(f"  {label + ':':15}{info[name] if info[name] is not None else '-'}")
    if info["metadata"]:
        print("  User metadata:")
        for name, value in info["metadata"].items():
            print(f"    {name}: {value}")
    return common.EXIT_OK
