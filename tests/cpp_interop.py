"""Shared by tests/test_cpp_interop.py and ci/cpp_interop/record_checkpoints.py:
the test file's bytes, running the C++ program (ci/cpp_interop/resumable.cc)
and killing it mid-transfer, and replaying a recorded upload on an emulator."""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import time
from typing import Callable, Dict, List

import ossresume_c as oss
from ossresume_c import cpp_checkpoint, ops
from ossresume_c.transport import Transport

PROGRAM_ENV = "OSSRESUME_CPP_RESUMABLE"
PART_SIZE = 100 * 1024          # the C++ SDK's smallest part size
PARTS = 10
KILL_TIMEOUT = 120.0


def pattern_bytes(size: int) -> bytes:
    """Every 4 KiB block is its own index repeated: each part differs, and a
    partial download's temporary file compresses to almost nothing."""
    blocks = (size + 4095) // 4096
    return b"".join(struct.pack(">Q", i) * 512 for i in range(blocks))[:size]


def emulator_options(emu) -> oss.RequestOptions:
    return oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                      access_key_secret=emu.access_key_secret, region=emu.region)


def cpp_env(emu) -> Dict[str, str]:
    env = dict(os.environ)
    env["OSS_ACCESS_KEY_ID"] = emu.access_key_id
    env["OSS_ACCESS_KEY_SECRET"] = emu.access_key_secret
    return env


def cpp_command(program: str, mode: str, emu, bucket: str, key: str, path: str, cpdir: str,
                part_size: int = PART_SIZE, threads: int = 1) -> List[str]:
    return [program, mode, emu.endpoint, bucket, key, path, cpdir, str(part_size), str(threads)]


def run_cpp(program: str, mode: str, emu, bucket: str, key: str, path: str, cpdir: str,
            part_size: int = PART_SIZE, threads: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(cpp_command(program, mode, emu, bucket, key, path, cpdir, part_size, threads),
                          env=cpp_env(emu), capture_output=True, text=True, timeout=KILL_TIMEOUT)


def uploaded_parts(emu, key: str) -> List[int]:
    """Part numbers the server stored (an UploadPart is logged once stored)."""
    return sorted(e["part_number"] for e in emu.request_log()
                  if e.get("op") == "UploadPart" and e.get("key") == key and e.get("status") == 200)


def recorded_parts(record_path: str) -> List[int]:
    """Part numbers a C++ download record lists as finished (the SDK rewrites it,
    not atomically, after each part: a half-written record counts as none)."""
    try:
        with open(record_path, "rb") as fh:
            rec = cpp_checkpoint.load(fh.read())
    except (OSError, cpp_checkpoint.CppCheckpointInvalid):
        return []
    return sorted(p.part_number for p in getattr(rec, "parts", []))


def kill_mid_transfer(program: str, mode: str, emu, bucket: str, key: str, path: str, cpdir: str,
                      after: int, finished: Callable[[], List[int]],
                      part_size: int = PART_SIZE) -> List[int]:
    """Run the C++ program with its parts throttled to a few per second and
    SIGKILL it once ``finished()`` names ``after`` parts; returns those."""
    op = "UploadPart" if mode == "up" else "GetObject"
    rule = emu.add_fault(op=op, key=key, action="throttle", bytes_per_sec=4 * part_size)
    proc = subprocess.Popen(cpp_command(program, mode, emu, bucket, key, path, cpdir, part_size),
                            env=cpp_env(emu), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + KILL_TIMEOUT
    try:
        while len(finished()) < after:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"C++ program ended before {after} parts: {out!r} {err!r}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {after} finished parts within {KILL_TIMEOUT}s")
            time.sleep(0.02)   # polling what the transfer left behind, not waiting for time to pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate()
        emu.remove_fault(rule)
    # The server may still be storing a part whose body arrived before the kill.
    while emu.counters()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    return finished()


def replay_upload(emu, root: str, bucket: str, key: str, upload_id: str, data: bytes,
                  part_size: int, part_numbers: List[int]) -> None:
    """Put the server back in the state a recorded run left: upload
    ``upload_id`` of ``key`` holding ``part_numbers``.  The parts go up through
    the OSS API; the emulator's store (``buckets/B/uploads/ID/upload.json``,
    reloaded at start) then takes the recorded id."""
    with Transport(emulator_options(emu)) as t:
        status, new_id = ops.initiate_multipart_upload(t, bucket, key, {})
        assert status.is_ok() and new_id, status
        for n in part_numbers:
            chunk = data[(n - 1) * part_size:n * part_size]
            status, _ = ops.upload_part(t, bucket, key, new_id, n, memoryview(chunk))
            assert status.is_ok(), status
    emu.stop()
    uploads = os.path.join(root, "buckets", bucket, "uploads")
    os.rename(os.path.join(uploads, new_id), os.path.join(uploads, upload_id))
    info = os.path.join(uploads, upload_id, "upload.json")
    with open(info) as fh:
        payload = json.load(fh)
    payload["upload_id"] = upload_id
    with open(info, "w") as fh:
        json.dump(payload, fh)
    emu.restart()


def open_uploads(emu, bucket: str) -> List[str]:
    with Transport(emulator_options(emu)) as t:
        status, uploads = ops.list_multipart_uploads(t, bucket)
    assert status.is_ok(), status
    return [u.upload_id for u in uploads]
