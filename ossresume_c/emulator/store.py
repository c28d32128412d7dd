"""Disk-backed bucket/object/upload store under one root directory.

Layout (nothing in it is named after a raw object key, so no key can escape the
root: object metadata files are named by the SHA-256 of the key)::

    root/.lock                          held (flock) by the running emulator
    root/tmp/                           scratch, emptied at start
    root/buckets/<bucket>/bucket.json
    root/buckets/<bucket>/objects/<sha256(key)>.json    object metadata
    root/buckets/<bucket>/data/<uuid>.bin                PutObject bodies
    root/buckets/<bucket>/uploads/<UPLOADID>/upload.json multipart upload in progress
    root/buckets/<bucket>/uploads/<UPLOADID>/<NNNNN>.json part metadata
    root/buckets/<bucket>/uploads/<UPLOADID>/<uuid>.bin  part bodies

A multipart object is the list of its part files ("segments"): Complete writes
the object's metadata pointing at the part files and copies no data. Every
metadata file is replaced atomically (write a temp file, rename), so a killed
emulator restarts with each object and upload either before or after a change.
Data files no metadata refers to are removed at start.

The index (all metadata) is kept in memory under one lock; bodies stream to and
from disk outside it. Files of replaced objects are deleted once the last reader
that opened the old version is done.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

from .errors import OssError

log = logging.getLogger("ossresume_c.emulator")

MAX_PART_NUMBER = 10000
UPLOAD_ID_RE = re.compile(r"^[0-9A-F]{32}$")


@dataclass
class PartMeta:
    number: int
    size: int
    etag: str  # upper-case hex, no quotes
    crc64: int
    last_modified: float
    data: str  # file name inside the upload directory
    md5: Optional[str] = None  # hex, when computed


@dataclass
class UploadMeta:
    upload_id: str
    key: str
    initiated: float
    content_type: str
    user_meta: Dict[str, str]
    headers: Dict[str, str]
    parts: Dict[int, PartMeta] = field(default_factory=dict)


@dataclass
class ObjectMeta:
    key: str
    size: int
    etag: str  # upper-case hex (with -N for multipart), no quotes
    crc64: int
    content_type: str
    user_meta: Dict[str, str]
    headers: Dict[str, str]
    last_modified: float
    object_type: str  # "Normal" or "Multipart"
    segments: List[Tuple[str, int]]  # (path relative to the bucket directory, size)
    version: str  # unique per write; keys the reader reference counts
    content_md5: Optional[str] = None  # base64, Normal objects with a real MD5
    upload_id: Optional[str] = None  # the upload a Multipart object came from
    acl: str = "default"  # the object ACL (PutObjectAcl, x-oss-object-acl)
    tags: Dict[str, str] = field(default_factory=dict)  # object tagging
    symlink_target: Optional[str] = None  # set for Symlink objects (no data)
    discarded: bool = False  # received in --discard mode: no data files (segments empty)
    storage_class: str = "Standard"  # x-oss-storage-class at write, else the bucket's class then


@dataclass
class BucketState:
    name: str
    created: float
    objects: Dict[str, ObjectMeta] = field(default_factory=dict)
    uploads: Dict[str, UploadMeta] = field(default_factory=dict)


def key_file_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_upload_id() -> str:
    """32 upper-case hex chars; time-ordered so that ids of one key sort by initiation."""
    return f"{time.time_ns() // 1000:014X}{uuid.uuid4().hex[:18].upper()}"


def _write_json_atomic(path: str, payload: dict) -> None:
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False)
    os.replace(tmp, path)


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable metadata %s: %s", path, exc)
        return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class RootLock:
    """An exclusive advisory lock on the root, so two emulators never share one."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, ".lock")
        self._handle = open(self.path, "a+")  # noqa: SIM115 - held for the lock's lifetime
        try:
            import fcntl

            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            pass
        except OSError:
            self._handle.close()
            raise RuntimeError(f"emulator root {root!r} is in use by another emulator") from None

    def release(self) -> None:
        self._handle.close()


class ObjectReader:
    """Streams a byte range of an object version; the version's files stay alive until close()."""

    def __init__(self, store: Store, bucket: str, meta: ObjectMeta) -> None:
        self._store = store
        self._bucket = bucket
        self.meta = meta
        self._closed = False

    def ranges(self, start: int, length: int) -> Iterator[Tuple[str, int, int]]:
        """``(absolute file path, offset, count)`` pieces covering ``[start, start+length)``."""
        base = self._store.bucket_dir(self._bucket)
        position = 0
        end = start + length
        for rel, size in self.meta.segments:
            seg_start, seg_end = position, position + size
            position = seg_end
            if seg_end <= start or size == 0:
                continue
            if seg_start >= end:
                break
            lo = max(start, seg_start)
            hi = min(end, seg_end)
            yield os.path.join(base, rel), lo - seg_start, hi - lo

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._store._release(self._bucket, self.meta.version)

    def __enter__(self) -> ObjectReader:  # noqa: PYI034 - typing.Self needs 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Store:
    """The buckets, objects and uploads under ``root``.

    ``durable=False`` (the emulator's ``--discard`` mode, which keeps no data
    either) holds object and upload metadata in memory only: a restart forgets
    them, and a small PutObject costs no file system call at all.
    """

    def __init__(self, root: str, durable: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.durable = durable
        os.makedirs(os.path.join(self.root, "buckets"), exist_ok=True)
        self._root_lock = RootLock(self.root)
        self.tmp_dir = os.path.join(self.root, "tmp")
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        os.makedirs(self.tmp_dir, exist_ok=True)
        self._lock = threading.RLock()
        self._buckets: Dict[str, BucketState] = {}
        self._readers: Dict[Tuple[str, str], int] = {}
        self._doomed: Dict[Tuple[str, str], List[str]] = {}
        self._load()

    def close(self) -> None:
        self._root_lock.release()

    # ---------------------------------------------------------------- paths
    def bucket_dir(self, bucket: str) -> str:
        return os.path.join(self.root, "buckets", bucket)

    def _object_meta_path(self, bucket: str, key: str) -> str:
        return os.path.join(self.bucket_dir(bucket), "objects", key_file_name(key) + ".json")

    def upload_dir(self, bucket: str, upload_id: str) -> str:
        if not UPLOAD_ID_RE.match(upload_id):  # never let a request-supplied id near a path
            raise OssError("NoSuchUpload", UploadId=upload_id)
        return os.path.join(self.bucket_dir(bucket), "uploads", upload_id)

    def new_data_path(self, bucket: str) -> Tuple[str, str]:
        """``(relative, absolute)`` path of a fresh data file for a PutObject body."""
        rel = os.path.join("data", uuid.uuid4().hex + ".bin")
        return rel, os.path.join(self.bucket_dir(bucket), rel)

    def new_part_path(self, bucket: str, upload_id: str) -> Tuple[str, str]:
        name = uuid.uuid4().hex + ".bin"
        return name, os.path.join(self.upload_dir(bucket, upload_id), name)

    def _save(self, path: Callable[[], str], meta: Union[ObjectMeta, PartMeta]) -> None:
        """Write one metadata record (atomically) to ``path()``, unless the store is not durable."""
        if self.durable:
            _write_json_atomic(path(), asdict(meta))

    # ---------------------------------------------------------------- loading
    def _load(self) -> None:
        buckets_dir = os.path.join(self.root, "buckets")
        for name in sorted(os.listdir(buckets_dir)):
            bdir = os.path.join(buckets_dir, name)
            info = _read_json(os.path.join(bdir, "bucket.json"))
            if info is None:
                continue
            state = BucketState(name=name, created=float(info.get("created", time.time())))
            self._buckets[name] = state
            self._load_objects(state)
            self._load_uploads(state)
            self._collect_garbage(state)
        log.info("store at %s: %d bucket(s)", self.root, len(self._buckets))

    def _load_objects(self, state: BucketState) -> None:
        odir = os.path.join(self.bucket_dir(state.name), "objects")
        for entry in os.listdir(odir):
            path = os.path.join(odir, entry)
            if entry.endswith(".tmp"):
                _unlink(path)
                continue
            payload = _read_json(path)
            if payload is None:
                continue
            payload["segments"] = [tuple(s) for s in payload["segments"]]
            meta = ObjectMeta(**payload)
            state.objects[meta.key] = meta

    def _load_uploads(self, state: BucketState) -> None:
        udir_root = os.path.join(self.bucket_dir(state.name), "uploads")
        completed = {m.upload_id for m in state.objects.values() if m.upload_id}
        for upload_id in os.listdir(udir_root):
            udir = os.path.join(udir_root, upload_id)
            info_path = os.path.join(udir, "upload.json")
            if not UPLOAD_ID_RE.match(upload_id) or not os.path.exists(info_path):
                continue
            if upload_id in completed:  # killed during Complete's clean-up
                self._finish_completed_upload(state.name, upload_id, set())
                continue
            payload = _read_json(info_path)
            if payload is None:
                continue
            payload.pop("parts", None)
            upload = UploadMeta(**payload)
            for entry in os.listdir(udir):
                if entry.endswith(".json") and entry != "upload.json":
                    part_payload = _read_json(os.path.join(udir, entry))
                    if part_payload is not None:
                        part = PartMeta(**part_payload)
                        upload.parts[part.number] = part
                elif entry.endswith(".tmp"):
                    _unlink(os.path.join(udir, entry))
            state.uploads[upload_id] = upload

    def _collect_garbage(self, state: BucketState) -> None:
        """Remove data files that no metadata refers to (writes cut short by a kill)."""
        bdir = self.bucket_dir(state.name)
        referenced: set = set()
        for meta in state.objects.values():
            referenced.update(os.path.normpath(os.path.join(bdir, rel)) for rel, _ in meta.segments)
        for upload in state.uploads.values():
            udir = os.path.join(bdir, "uploads", upload.upload_id)
            referenced.update(os.path.normpath(os.path.join(udir, p.data)) for p in upload.parts.values())
        removed = 0
        ddir = os.path.join(bdir, "data")
        for entry in os.listdir(ddir):
            path = os.path.normpath(os.path.join(ddir, entry))
            if path not in referenced:
                _unlink(path)
                removed += 1
        udir_root = os.path.join(bdir, "uploads")
        for upload_id in os.listdir(udir_root):
            udir = os.path.join(udir_root, upload_id)
            if not os.path.isdir(udir):
                continue
            for entry in os.listdir(udir):
                path = os.path.normpath(os.path.join(udir, entry))
                if entry.endswith(".bin") and path not in referenced:
                    _unlink(path)
                    removed += 1
            if not os.listdir(udir):
                os.rmdir(udir)
        if removed:
            log.info("bucket %s: removed %d unreferenced data file(s)", state.name, removed)

    # ---------------------------------------------------------------- buckets
    def bucket_exists(self, name: str) -> bool:
        return name in self._buckets

    def bucket_names(self) -> List[Tuple[str, float]]:
        with self._lock:
            return sorted((b.name, b.created) for b in self._buckets.values())

    def create_bucket(self, name: str) -> bool:
        """Create a bucket; False when it already exists."""
        with self._lock:
            if name in self._buckets:
                return False
            bdir = self.bucket_dir(name)
            for sub in ("objects", "data", "uploads"):
                os.makedirs(os.path.join(bdir, sub), exist_ok=True)
            created = time.time()
            _write_json_atomic(os.path.join(bdir, "bucket.json"), {"name": name, "created": created})
            self._buckets[name] = BucketState(name=name, created=created)
            return True

    def delete_bucket(self, name: str, force: bool = False) -> None:
        with self._lock:
            state = self._bucket(name)
            if (state.objects or state.uploads) and not force:
                raise OssError("BucketNotEmpty", BucketName=name)
            del self._buckets[name]
            trash = os.path.join(self.tmp_dir, f"bucket-{uuid.uuid4().hex}")
            os.replace(self.bucket_dir(name), trash)
        shutil.rmtree(trash, ignore_errors=True)

    def bucket_created(self, name: str) -> float:
        return self._bucket(name).created

    def _bucket(self, name: str) -> BucketState:
        state = self._buckets.get(name)
        if state is None:
            raise OssError("NoSuchBucket", BucketName=name)
        return state

    def require_bucket(self, name: str) -> None:
        self._bucket(name)

    # ---------------------------------------------------------------- objects
    def head(self, bucket: str, key: str) -> ObjectMeta:
        with self._lock:
            meta = self._bucket(bucket).objects.get(key)
            if meta is None:
                raise OssError("NoSuchKey", Key=key)
            return meta

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        with self._lock:
            meta = self.head(bucket, key)
            ref = (bucket, meta.version)
            self._readers[ref] = self._readers.get(ref, 0) + 1
            return ObjectReader(self, bucket, meta)

    def _release(self, bucket: str, version: str) -> None:
        doomed: List[str] = []
        with self._lock:
            ref = (bucket, version)
            count = self._readers.get(ref, 0) - 1
            if count > 0:
                self._readers[ref] = count
                return
            self._readers.pop(ref, None)
            doomed = self._doomed.pop(ref, [])
        for path in doomed:
            _unlink(path)

    def _retire(self, bucket: str, meta: Optional[ObjectMeta], successor: Optional[ObjectMeta] = None) -> List[str]:
        """Files of a replaced/deleted object version: returned for deletion now, or
        deferred until its last reader closes. Files the ``successor`` version still uses
        (an append, a metadata change) are kept. Call with the lock held."""
        if meta is None:
            return []
        bdir = self.bucket_dir(bucket)
        kept = {rel for rel, _ in successor.segments} if successor is not None else set()
        paths = [os.path.join(bdir, rel) for rel, _ in meta.segments if rel not in kept]
        if meta.upload_id and (successor is None or successor.upload_id != meta.upload_id):
            paths.append(os.path.join(bdir, "uploads", meta.upload_id))  # directory, removed last
        ref = (bucket, meta.version)
        if self._readers.get(ref):
            self._doomed[ref] = paths
            return []
        return paths

    @staticmethod
    def _delete_paths(paths: List[str]) -> None:
        for path in paths:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _unlink(path)

    def commit_object(self, bucket: str, meta: ObjectMeta) -> None:
        """Publish an object whose data files are already written."""
        with self._lock:
            state = self._bucket(bucket)
            self._save(lambda: self._object_meta_path(bucket, meta.key), meta)
            old = state.objects.get(meta.key)
            state.objects[meta.key] = meta
            doomed = self._retire(bucket, old, meta)
        self._delete_paths(doomed)

    def delete_object(self, bucket: str, key: str) -> bool:
        with self._lock:
            state = self._bucket(bucket)
            old = state.objects.pop(key, None)
            if old is None:
                return False
            _unlink(self._object_meta_path(bucket, key))
            doomed = self._retire(bucket, old)
        self._delete_paths(doomed)
        return True

    def list_objects(self, bucket: str) -> List[ObjectMeta]:
        with self._lock:
            return sorted(self._bucket(bucket).objects.values(), key=lambda m: m.key)

    # ---------------------------------------------------------------- uploads
    def create_upload(
        self, bucket: str, key: str, content_type: str, user_meta: Dict[str, str], headers: Dict[str, str]
    ) -> UploadMeta:
        with self._lock:
            state = self._bucket(bucket)
            upload = UploadMeta(new_upload_id(), key, time.time(), content_type, user_meta, headers)
            udir = self.upload_dir(bucket, upload.upload_id)
            os.makedirs(udir)
            if self.durable:
                payload = asdict(upload)
                payload.pop("parts")
                _write_json_atomic(os.path.join(udir, "upload.json"), payload)
            state.uploads[upload.upload_id] = upload
            return upload

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadMeta:
        with self._lock:
            upload = self._bucket(bucket).uploads.get(upload_id)
            if upload is None or upload.key != key:
                raise OssError("NoSuchUpload", UploadId=upload_id)
            return upload

    def list_uploads(self, bucket: str) -> List[UploadMeta]:
        with self._lock:
            return sorted(self._bucket(bucket).uploads.values(), key=lambda u: (u.key, u.upload_id))

    def list_parts(self, bucket: str, key: str, upload_id: str) -> List[PartMeta]:
        with self._lock:
            upload = self.get_upload(bucket, key, upload_id)
            return [upload.parts[n] for n in sorted(upload.parts)]

    def commit_part(self, bucket: str, key: str, upload_id: str, part: PartMeta) -> None:
        """Record a part whose data file is written (replacing a part with the same number)."""
        udir = self.upload_dir(bucket, upload_id)
        with self._lock:
            try:
                upload = self.get_upload(bucket, key, upload_id)
            except OssError:
                _unlink(os.path.join(udir, part.data))
                raise
            self._save(lambda: os.path.join(udir, f"{part.number:05d}.json"), part)
            old = upload.parts.get(part.number)
            upload.parts[part.number] = part
        if old is not None and old.data != part.data:
            _unlink(os.path.join(udir, old.data))

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self.get_upload(bucket, key, upload_id)
            del self._bucket(bucket).uploads[upload_id]
            udir = self.upload_dir(bucket, upload_id)
            trash = os.path.join(self.tmp_dir, f"upload-{upload_id}-{uuid.uuid4().hex}")
            os.replace(udir, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def complete_upload(self, bucket: str, upload: UploadMeta, parts: List[PartMeta], meta: ObjectMeta) -> None:
        """Publish ``meta`` (whose segments are ``parts``' files) and retire the upload.

        The caller has validated ``parts`` against ``upload`` under ``self.lock``.
        """
        with self._lock:
            state = self._bucket(bucket)
            if state.uploads.get(upload.upload_id) is not upload:
                raise OssError("NoSuchUpload", UploadId=upload.upload_id)
            self._save(lambda: self._object_meta_path(bucket, meta.key), meta)
            del state.uploads[upload.upload_id]
            old = state.objects.get(meta.key)
            state.objects[meta.key] = meta
            doomed = self._retire(bucket, old)
            keep = {p.data for p in parts}
            self._finish_completed_upload(bucket, upload.upload_id, keep)
        self._delete_paths(doomed)

    def _finish_completed_upload(self, bucket: str, upload_id: str, keep: set) -> None:
        """Drop an upload's metadata and unused part files; the used ones now belong to the object."""
        udir = self.upload_dir(bucket, upload_id)
        if not keep:
            state = self._buckets.get(bucket)
            meta = next((m for m in state.objects.values() if m.upload_id == upload_id), None) if state else None
            keep = {os.path.basename(rel) for rel, _ in meta.segments} if meta else set()
        for entry in os.listdir(udir):
            if entry == "upload.json":
                continue
            if entry.endswith(".json") or (entry.endswith(".bin") and entry not in keep):
                _unlink(os.path.join(udir, entry))
        _unlink(os.path.join(udir, "upload.json"))

    @property
    def lock(self) -> threading.RLock:
        return self._lock
