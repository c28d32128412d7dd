"""Upload a directory tree: ``upload_tree(options, local_dir, bucket, prefix)``.

The public face of the streaming tree engine (``tree_engine``): argument checks,
the default checkpoint and manifest places, and the key rule.  A re-run skips
what is already there (manifest + listing, else size and CRC-64), so an
interrupted run resumes file by file, and big files resume from their
checkpoints.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Mapping, Optional, Sequence, Tuple, Union

from .config import RequestOptions
from .executors import InvalidExecutor, resolve_executor
from .manifest import ManifestInUse, default_manifest_path
from .params import create_resumable_clt_params
from .reconcile import VERIFY_MODES
from .tree_engine import TreeJob
from .tree_plan import KeyFilter
from .tree_types import FileOutcome, TreeInterrupted, TreeSummary

__all__ = ["FileOutcome", "ManifestInUse", "TreeInterrupted", "TreeSummary", "default_cache_dir",
           "default_checkpoint_dir", "normalize_prefix", "tree_key", "upload_tree"]

TreeProgress = Callable[[int, int], object]


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/ossresume`` (``~/.cache/ossresume``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ossresume")


def default_checkpoint_dir() -> str:
    """``$OSSRESUME_CHECKPOINT_DIR``, else ``$XDG_CACHE_HOME/ossresume/checkpoints``
    (``~/.cache/...``): outside the tree being uploaded."""
    explicit = os.environ.get("OSSRESUME_CHECKPOINT_DIR")
    if explicit:
        return explicit
    return os.path.join(default_cache_dir(), "checkpoints")


def tree_key(local_dir: str, path: str, prefix: str) -> str:
    """The object key of ``path``: ``prefix`` + its path relative to ``local_dir``
    with ``/`` separators."""
    rel = os.path.relpath(path, local_dir)
    parts = rel.split(os.sep)
    if os.altsep:
        parts = [p for piece in parts for p in piece.split(os.altsep)]
    return normalize_prefix(prefix) + "/".join(parts)


def normalize_prefix(prefix: str) -> str:
    """``"dir"`` and ``"dir/"`` both mean the folder ``dir/``; ``""`` is the bucket's top."""
    prefix = (prefix or "").lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def upload_tree(options: RequestOptions, local_dir: str, bucket: str, prefix: str = "",
                part_size: int = 0, threads: int = 8, *,
                enable_checkpoint: bool = True, checkpoint_dir: Optional[str] = None,
                headers: Optional[Mapping[str, str]] = None,
                progress: Optional[TreeProgress] = None,
                on_file: Optional[Callable[[FileOutcome], object]] = None,
                cancel: Optional[threading.Event] = None,
                manifest: Union[str, bool, None] = None, checksum: bool = False,
                delete: bool = False, dry_run: bool = False,
                rules: Sequence[Tuple[str, str]] = (), follow_symlinks: bool = False,
                executor: object = None, keep_keys: bool = True,
                verify: str = "sample") -> TreeSummary:
    """Upload every regular file under ``local_dir`` to ``bucket`` at
    ``prefix`` + relative path, ``threads`` requests at a time overall.

    A file is skipped with no request when its manifest row (``manifest``: a path,
    None for the default under the cache directory, False for none) has its size
    and mtime and the listing shows its object with the row's ETag; an object of
    the same size without such a row is compared by HEAD + CRC-64 (``checksum``
    forces that for every file).  ``delete`` removes objects under the prefix with
    no local file; ``dry_run`` sends no write request; ``rules`` are
    ``("include"|"exclude", glob)`` pairs, later rules win.  ``executor`` runs the
    one-part files' tasks and the parts of bigger ones (default: threads in this
    process): a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``.
    Tasks on another executor go out on presigned URLs: workers get no secret.
    ``verify`` is what a big file's resume reads back (``resumable_upload_file``).

    ``progress(consumed, total)`` counts the bytes of the files decided so far;
    it and ``on_file(outcome)`` are called in the calling thread.  Never raises
    for OSS, network or file errors: they are in ``summary.failed``.  Raises
    :class:`ManifestInUse`, before any request, when another running upload
    holds the manifest.
    """
    if not isinstance(options, RequestOptions):
        raise TypeError("options must come from request_options_create()")
    try:
        pool = resolve_executor(executor)
    except InvalidExecutor as bad:
        raise ValueError(bad.status.error_msg) from None
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, not {verify!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    create_resumable_clt_params(part_size, 1, False, None)  # same argument rules as single files
    key_filter = KeyFilter(rules)
    root = os.path.abspath(os.fspath(local_dir))
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{local_dir!r} is not a directory")
    prefix = normalize_prefix(prefix)
    cp_dir: Optional[str] = None
    if enable_checkpoint:
        cp_dir = os.path.abspath(checkpoint_dir or default_checkpoint_dir())
    manifest_path: Optional[str] = None
    if manifest is None or manifest is True:
        manifest_path = default_manifest_path(default_cache_dir(), options.config.endpoint, bucket,
                                              prefix, root)
    elif manifest:
        manifest_path = os.path.abspath(os.fspath(manifest))
    skip_dirs = tuple(d for d in (cp_dir, manifest_path and os.path.dirname(manifest_path)) if d)
    job = TreeJob(options, root, bucket, prefix, part_size=part_size, threads=threads,
                  cp_dir=cp_dir, headers=dict(headers or {}), manifest_path=manifest_path,
                  checksum=checksum, delete=delete, dry_run=dry_run, key_filter=key_filter,
                  follow_symlinks=follow_symlinks, skip_dirs=skip_dirs, executor=pool,
                  keep_keys=keep_keys, progress=progress, on_file=on_file, cancel=cancel,
                  verify=verify)
    return job.run()
