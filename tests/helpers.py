"""Small helpers shared by the engine tests."""
from __future__ import annotations

import os
import random

import ossresume_c as oss
from ossresume_c import native, ops
from ossresume_c.transport import Transport


def make_file(path, size: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        remaining = size
        while remaining:
            n = min(remaining, 1 << 20)
            fh.write(rng.randbytes(n))
            remaining -= n
    return str(path)


def file_crc(path) -> int:
    with open(path, "rb") as fh:
        return native.crc64(fh.read())


def options_for(emu, **kw):
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=emu.access_key_secret, region=emu.region, **kw)


def head(emu, key, bucket=None):
    with Transport(options_for(emu)) as t:
        return ops.head_object(t, bucket or emu.bucket, key)


def get_bytes(emu, key, bucket=None) -> bytes:
    with Transport(options_for(emu)) as t:
        status, body = ops.get_object(t, bucket or emu.bucket, key)
    assert status.is_ok(), status
    return body


def bucket_log(emu):
    """The emulator's request log for this test's bucket only: a request an earlier test
    left in flight (a delay fault outliving its test) may land in the shared log late."""
    return [e for e in emu.server.request_log() if e.get("bucket") == emu.bucket]


def upload_part_requests(emu, key=None):
    return [e for e in bucket_log(emu)
            if e.get("op") == "UploadPart" and (key is None or e.get("key") == key)]


def ops_in_log(emu):
    return [e.get("op") for e in emu.server.request_log()]


def sizes_sent(entries) -> int:
    return sum(int(e.get("bytes_in") or 0) for e in entries)


def rewrite(path, data: bytes) -> None:
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def build_tree(root, files, seed=0):
    """Files of the given sizes under ``root`` (``{"a/b.txt": 10}``), each with its own bytes."""
    for rel, size in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        make_file(path, size, seed=seed + len(rel) * 7 + size)
    return root


def add_awkward_entries(root):
    """What a tree upload cannot send as is: a FIFO, a symlink to ok.txt, a name that is not
    UTF-8 and a key over 1023 bytes (POSIX only)."""
    os.mkfifo(root / "fifo")
    os.symlink(root / "ok.txt", root / "link")
    with open(os.path.join(os.fsencode(root), b"bad\xff.txt"), "wb") as fh:
        fh.write(b"x")
    deep = root.joinpath(*(["d" * 250] * 5))
    deep.mkdir(parents=True)
    (deep / "long.txt").write_bytes(b"x")
