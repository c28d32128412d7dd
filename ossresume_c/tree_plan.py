"""Decide what the tree engine does with each key (pure: no I/O).

* :func:`walk_order` — the order in which a directory's entries are visited so that
  a depth-first walk yields keys in UTF-8 byte order, the order OSS lists them in:
  a directory sorts as its name followed by ``/``.
* :func:`merge` — joins the sorted local walk with the sorted destination listing
  into ``(local, remote)`` pairs, one per key, holding neither stream in memory.
* :func:`ordered` — refuses a stream whose keys are not in that order (merging it
  could pair the wrong keys).
* :func:`decide` — the skip rules: manifest + listing, else HEAD + CRC-64.
* :class:`KeyFilter` — ``--include``/``--exclude`` globs, later rules win.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

# What the engine does with a key.
UPLOAD = "upload"        # no object, or a different size
VERIFY = "verify"        # same size: HEAD and compare CRC-64, upload when they differ
SKIP = "skip"            # manifest row and listing agree: no request
DELETE = "delete"        # --delete and no local file
KEEP = "keep"            # remote only, no --delete: nothing to do


def key_bytes(key: str) -> bytes:
    """The bytes OSS orders ``key`` by; names that are not valid UTF-8 (kept as
    surrogate escapes by ``os.fsdecode``) order by their raw bytes."""
    return key.encode("utf-8", "surrogateescape")


def walk_order(name: str, is_dir: bool) -> bytes:
    """Sort key of one directory entry: a directory ``d`` holds the keys ``d/...``,
    which sit between ``d/`` and the next name that is not an extension of it."""
    return key_bytes(name + "/" if is_dir else name)


@dataclass(frozen=True)
class LocalFile:
    """One walked entry.  ``problem`` (an error code and message) marks a file
    that cannot be sent; ``note`` marks an entry skipped on purpose."""

    key: str
    path: str
    size: int = 0
    mtime_ns: int = 0
    problem: Optional[Tuple[str, str]] = None
    note: str = ""


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ManifestRow:
    key: str
    size: int
    mtime_ns: int
    crc64: int
    etag: str


Pair = Tuple[Optional[LocalFile], Optional[RemoteObject]]


def merge(local: Iterable[LocalFile], remote: Iterable[RemoteObject]) -> Iterator[Pair]:
    """Join two streams sorted by :func:`key_bytes` of their keys."""
    lit, rit = iter(local), iter(remote)
    left = next(lit, None)
    right = next(rit, None)
    while left is not None or right is not None:
        if right is None or (left is not None and key_bytes(left.key) < key_bytes(right.key)):
            yield left, None
            left = next(lit, None)
        elif left is None or key_bytes(right.key) < key_bytes(left.key):
            yield None, right
            right = next(rit, None)
        else:
            yield left, right
            left, right = next(lit, None), next(rit, None)


class OrderError(Exception):
    """The walk or the listing was not in UTF-8 byte order: merging it could pair
    the wrong keys, so the run stops."""


Keyed = TypeVar("Keyed", bound=Union[LocalFile, RemoteObject])


def ordered(items: Iterable[Keyed], what: str) -> Iterator[Keyed]:
    """Pass ``items`` through, refusing a key that does not sort after the previous one."""
    last = None
    for item in items:
        here = key_bytes(item.key)
        if last is not None and here <= last:
            raise OrderError(f"the {what} is not in UTF-8 byte order at {item.key!r}")
        last = here
        yield item


def decide(local: Optional[LocalFile], remote: Optional[RemoteObject], row: Optional[ManifestRow],
           checksum: bool = False, delete: bool = False) -> str:
    """The skip rules of SCALE §2.  A file is skipped without a request only when
    its manifest row has its size and mtime and the listing shows the object with
    the row's ETag and the same size; a lost or stale manifest costs a HEAD, never
    a wrong skip.  ``checksum`` forces HEAD + CRC-64 for every size match."""
    if local is None:
        if remote is None:
            return KEEP
        return DELETE if delete else KEEP
    if remote is None or remote.size != local.size:
        return UPLOAD
    if (not checksum and row is not None and row.size == local.size
            and row.mtime_ns == local.mtime_ns and row.etag and row.etag == remote.etag):
        return SKIP
    return VERIFY


def may_delete(key: str, prefix: str) -> bool:
    """``--delete`` touches only keys strictly under ``prefix``, never a folder marker."""
    return key.startswith(prefix) and len(key) > len(prefix) and not key.endswith("/")


class KeyFilter:
    """``--include``/``--exclude`` rules as ``aws s3 sync`` applies them: every path
    is included unless a rule says otherwise, and the last matching rule wins.
    Globs match the path relative to the tree root (``*`` also matches ``/``)."""

    def __init__(self, rules: Sequence[Tuple[str, str]] = ()) -> None:
        for kind, _glob in rules:
            if kind not in ("include", "exclude"):
                raise ValueError(f"a rule is 'include' or 'exclude', not {kind!r}")
        self.rules: List[Tuple[bool, str]] = [(kind == "include", glob) for kind, glob in rules]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def wants(self, relative: str) -> bool:
        verdict = True
        for include, glob in self.rules:
            if fnmatch.fnmatchcase(relative, glob):
                verdict = include
        return verdict
