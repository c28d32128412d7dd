"""Walk a local tree lazily, yielding its files in the order OSS lists their keys.

Each directory is read with ``os.scandir`` and sorted by :func:`tree_plan.walk_order`
when it is entered, so memory holds the directories on the current path, never
the tree.  Entries that cannot be sent are yielded too, with a ``problem`` or a
``note``, so that each becomes one per-file outcome.
"""
from __future__ import annotations

import os
import stat as stat_mod
from typing import Iterator, List, Optional, Set, Tuple

from .ops import MAX_KEY_BYTES, check_key
from .tree_plan import KeyFilter, LocalFile, walk_order

_Entry = Tuple[bytes, str, bool]   # (order, name, descend)


def walk_tree(root: str, prefix: str, *, follow_symlinks: bool = False,
              key_filter: Optional[KeyFilter] = None,
              skip_dirs: Tuple[str, ...] = ()) -> Iterator[LocalFile]:
    """Every file under ``root`` as a :class:`LocalFile` keyed ``prefix`` + relative
    path, in UTF-8 byte order of the keys."""
    skip = {os.path.abspath(d) for d in skip_dirs}
    wanted = key_filter or KeyFilter()
    top = os.stat(root)
    ancestors: List[Tuple[int, int]] = [(top.st_dev, top.st_ino)]
    yield from _walk_dir(root, "", prefix, follow_symlinks, wanted, skip, ancestors)


def _walk_dir(path: str, rel: str, prefix: str, follow: bool, wanted: KeyFilter, skip: Set[str],
              ancestors: List[Tuple[int, int]]) -> Iterator[LocalFile]:
    try:
        entries = _sorted_entries(path, follow)
    except OSError as exc:
        yield LocalFile(prefix + rel, path, problem=(
            "OpenFileFail", f"cannot list the directory {path!r}: {exc.strerror or exc}"))
        return
    for _order, name, is_dir in entries:
        full = os.path.join(path, name)
        relative = rel + name
        if is_dir:
            if os.path.abspath(full) in skip:
                continue
            try:
                info = os.stat(full)
            except OSError:
                continue       # vanished since the listing: nothing under it to send
            ident = (info.st_dev, info.st_ino)
            if ident in ancestors:
                yield LocalFile(prefix + relative + "/", full,
                                note="symlink loop: this directory is one of its own ancestors")
                continue
            ancestors.append(ident)
            try:
                yield from _walk_dir(full, relative + "/", prefix, follow, wanted, skip, ancestors)
            finally:
                ancestors.pop()
            continue
        if not wanted.wants(relative):
            continue
        yield _local_file(full, prefix + relative, follow)


def _sorted_entries(path: str, follow: bool) -> List[_Entry]:
    out: List[_Entry] = []
    with os.scandir(path) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir(follow_symlinks=follow)
            except OSError:
                is_dir = False
            out.append((walk_order(entry.name, is_dir), entry.name, is_dir))
    out.sort()
    return out


def _local_file(path: str, key: str, follow: bool) -> LocalFile:
    problem = key_problem(key)
    if problem:
        return LocalFile(key, path, problem=problem)
    try:
        info = os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        return LocalFile(key, path, problem=("FileChanged", f"{path!r} vanished during the run: "
                                                            f"{exc.strerror or exc}"))
    if stat_mod.S_ISLNK(info.st_mode):
        return LocalFile(key, path, note="symlink not followed (use --follow-symlinks)")
    if not stat_mod.S_ISREG(info.st_mode):
        return LocalFile(key, path, note="not a regular file")
    return LocalFile(key, path, info.st_size, info.st_mtime_ns)


def key_problem(key: str) -> Optional[Tuple[str, str]]:
    """Why ``key`` cannot name an object (not UTF-8, too long), or None."""
    try:
        n = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        shown = key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return "InvalidArgument", f"the file name {shown!r} is not valid UTF-8, so it cannot be a key"
    if n > MAX_KEY_BYTES:
        return "InvalidArgument", f"the key is {n} bytes; OSS keys are at most {MAX_KEY_BYTES}"
    refused = check_key(key)           # the rest of the SDK's key rule (a leading '\\')
    return ("InvalidArgument", refused.error_msg) if refused else None
