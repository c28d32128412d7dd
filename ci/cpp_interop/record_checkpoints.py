"""Produce tests/data/cpp/{upload,download}/: the checkpoint records a real OSS
C++ SDK program (ci/cpp_interop/resumable.cc) leaves when it is killed with
SIGKILL mid-transfer, plus what the tests need to put an emulator back in that
state (manifest.json; for the download, the partial ``.temp`` gzipped).

    ci/cpp_interop.sh SDK_SRC_DIR BUILD_DIR
    PYTHONPATH=. python ci/cpp_interop/record_checkpoints.py BUILD_DIR/resumable tests/data/cpp
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))

from cpp_interop import (PART_SIZE, PARTS, kill_mid_transfer, pattern_bytes,  # noqa: E402
                         recorded_parts, uploaded_parts)

from ossresume_c import cpp_checkpoint as cc  # noqa: E402
from ossresume_c.cpp import OssClient, UploadObjectRequest  # noqa: E402
from ossresume_c.emulator import start_emulator  # noqa: E402

BUCKET = "cpp-interop"
KILL_AFTER = 4


def write_manifest(directory: str, manifest: dict) -> None:
    with open(os.path.join(directory, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")


def main(program: str, out: str) -> None:
    work = tempfile.mkdtemp(prefix="cpp-interop-")
    size = PARTS * PART_SIZE
    src = os.path.join(work, "src.bin")
    with open(src, "wb") as fh:
        fh.write(pattern_bytes(size))
    try:
        with start_emulator(buckets=[BUCKET]) as emu:
            # Upload: the record is written once, after InitiateMultipartUpload.
            cpdir = os.path.join(work, "up-cps")
            os.mkdir(cpdir)
            parts = kill_mid_transfer(program, "up", emu, BUCKET, "dir/upload.bin", src, cpdir,
                                      KILL_AFTER, lambda: uploaded_parts(emu, "dir/upload.bin"))
            (name,) = os.listdir(cpdir)
            target = os.path.join(out, "upload")
            os.makedirs(target, exist_ok=True)
            shutil.copyfile(os.path.join(cpdir, name), os.path.join(target, name))
            write_manifest(target, {"bucket": BUCKET, "key": "dir/upload.bin", "file_path": src,
                                    "size": size, "part_size": PART_SIZE, "parts": PARTS,
                                    "mtime": os.stat(src).st_mtime_ns // 1_000_000_000,
                                    "parts_on_server": parts, "record": name})

            # Download: the record is rewritten after each finished part.
            client = OssClient(emu.endpoint, emu.access_key_id, emu.access_key_secret)
            assert client.ResumableUploadObject(UploadObjectRequest(BUCKET, "dir/download.bin", src)).isSuccess()
            cpdir = os.path.join(work, "down-cps")
            os.mkdir(cpdir)
            dst = os.path.join(work, "dst.bin")
            record = os.path.join(cpdir, cc.download_record_name(BUCKET, "dir/download.bin", dst))
            parts = kill_mid_transfer(program, "down", emu, BUCKET, "dir/download.bin", dst, cpdir,
                                      KILL_AFTER, lambda: recorded_parts(record))
            target = os.path.join(out, "download")
            os.makedirs(target, exist_ok=True)
            shutil.copyfile(record, os.path.join(target, os.path.basename(record)))
            with open(dst + ".temp", "rb") as fh:
                temp = fh.read()
            with open(os.path.join(target, "temp.gz"), "wb") as fh:
                fh.write(gzip.compress(temp, mtime=0))
            write_manifest(target, {"bucket": BUCKET, "key": "dir/download.bin", "file_path": dst,
                                    "size": size, "part_size": PART_SIZE, "parts": PARTS,
                                    "parts_recorded": parts, "temp_size": len(temp),
                                    "record": os.path.basename(record)})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
