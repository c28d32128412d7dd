"""Upload reliability: SIGKILL at random moments, random server faults, an
emulator restart mid-upload, a second process on the same checkpoint, SIGTERM."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

import ossresume_c as oss
from ossresume_c.emulator import start_emulator

from helpers import file_crc, head, make_file, options_for, sizes_sent, upload_part_requests

KB, MiB = 1024, 1024 * 1024

CHILD = textwrap.dedent("""
    import sys, ossresume_c as oss
    ep, ak, sk, bucket, key, path, ps, th = sys.argv[1:9]
    o = oss.request_options_create(endpoint=ep, access_key_id=ak, access_key_secret=sk,
                                   region="cn-hangzhou", backoff_base=0.01)
    def progress(consumed, total):
        print("progress", consumed, total, flush=True)
    print("started", flush=True)
    s = oss.resumable_upload_file(o, bucket, key, path, None, None,
                                  oss.create_resumable_clt_params(int(ps), int(th), True, None),
                                  progress)
    print("status", s.code, s.error_code, s.error_msg, flush=True)
    sys.exit(0 if s.is_ok() else 3)
""")


def child(emu, key, path, part_size, threads):
    return subprocess.Popen([sys.executable, "-c", CHILD, emu.endpoint, emu.access_key_id,
                             emu.access_key_secret, emu.bucket, key, path, str(part_size), str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after(proc, threshold: int) -> bool:
    """Read the child's progress lines until ``threshold`` bytes are consumed, then
    SIGKILL it.  False when it finished first."""
    for line in proc.stdout:
        words = line.split()
        if words[0] == "started" and threshold == 0:
            break
        if words[0] == "progress" and int(words[1]) >= threshold:
            break
        if words[0] == "status":
            proc.wait()
            return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def resume_and_verify(emu, key, path, part_size, threads):
    emu.server.clear_request_log()
    params = oss.create_resumable_clt_params(part_size, threads, True, None)
    status = oss.resumable_upload_file(options_for(emu), emu.bucket, key, path, clt_params=params)
    assert status.is_ok(), status
    st, meta = head(emu, key)
    assert st.is_ok() and meta.size == os.path.getsize(path) and meta.crc64 == file_crc(path)
    assert not os.path.exists(path + ".ucp")
    return sizes_sent(upload_part_requests(emu, key))


def test_sigkill_at_random_moments_then_resume(oss_emulator, tmp_path):
    size, part, threads = 64 * MiB, 1 * MiB, 4
    path = make_file(tmp_path / "big.bin", size, seed=42)
    rng = random.Random(2024)
    # slow every part a little so that kills land mid-upload, with parts in flight
    oss_emulator.server.add_fault(op="UploadPart", action="delay", seconds=0.01)
    killed_mid = resumed_less = 0
    for trial in range(8):
        key = f"crash-{trial}"
        threshold = 0 if trial == 0 else rng.randrange(part, size // 2)
        proc = child(oss_emulator, key, path, part, threads)
        # progress lines come at most every 100 ms: the child may have finished
        # (checkpoint gone) by the time it is killed; then there is nothing to resume
        finished = not kill_after(proc, threshold) or not os.path.exists(path + ".ucp")
        killed_mid += not finished
        oss_emulator.server.clear_faults()
        sent = resume_and_verify(oss_emulator, key, path, part, threads)
        if threshold > 0 and not finished:
            assert sent < size, "the resumed run re-sent the whole file"
            resumed_less += 1
        oss_emulator.server.add_fault(op="UploadPart", action="delay", seconds=0.01)
    assert killed_mid >= 6 and resumed_less >= 5


def test_random_5xx_resets_and_bad_crcs(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 3 * MiB, seed=43)
    emu = oss_emulator
    emu.server.add_fault(op="*", action="status", status=503, fraction=0.15, seed=1)
    emu.server.add_fault(op="UploadPart", action="reset", after_bytes=20_000, fraction=0.1, seed=2)
    emu.server.add_fault(op="UploadPart", action="bad_crc", fraction=0.1, seed=3)
    params = oss.create_resumable_clt_params(200 * KB, 4, True, None)
    status = oss.resumable_upload_file(options_for(emu, max_retries=8), emu.bucket, "k", path,
                                       clt_params=params)
    counters = emu.server.counters()
    emu.server.clear_faults()
    assert status.is_ok(), status
    fired = {r["action"]: r["fired"] for r in counters["fault_rules"]}
    assert fired["status"] > 0 and fired["reset"] > 0 and fired["bad_crc"] > 0
    st, meta = head(emu, "k")
    assert meta.crc64 == file_crc(path)


def test_faults_beyond_retries_leave_a_usable_checkpoint(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 2 * MiB, seed=44)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="status", status=500, fraction=0.5, seed=5)
    params = oss.create_resumable_clt_params(200 * KB, 2, True, None)
    status = oss.resumable_upload_file(options_for(emu, max_retries=1), emu.bucket, "k", path,
                                       clt_params=params)
    emu.server.clear_faults()
    assert status.code == 500 and status.req_id
    assert os.path.exists(path + ".ucp")
    resume_and_verify(emu, "k", path, 200 * KB, 2)


def test_upload_aborted_behind_our_back(oss_emulator, tmp_path):
    from ossresume_c import checkpoint_codec as codec, ops
    from ossresume_c.transport import Transport
    path = make_file(tmp_path / "f.bin", 1 * MiB, seed=45)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="status", status=403, nth=3)
    params = oss.create_resumable_clt_params(100 * KB, 1, True, None)
    assert oss.resumable_upload_file(options_for(emu, max_retries=0), emu.bucket, "k", path,
                                     clt_params=params).code == 403
    emu.server.clear_faults()
    cp = codec.load(open(path + ".ucp", "rb").read())
    with Transport(options_for(emu)) as t:
        assert ops.abort_multipart_upload(t, emu.bucket, "k", cp.upload_id).code == 204
    resume_and_verify(emu, "k", path, 100 * KB, 2)


def test_emulator_restart_mid_upload(tmp_path):
    path = make_file(tmp_path / "f.bin", 4 * MiB, seed=46)
    with start_emulator(root=str(tmp_path / "root"), buckets=["restart-bucket"]) as emu:
        emu.add_fault(op="UploadPart", action="delay", seconds=0.02)
        restarted = []

        def restart_once(consumed, total):
            if not restarted:
                restarted.append(consumed)
                emu.restart()
                emu.add_fault(op="UploadPart", action="delay", seconds=0.02)

        options = oss.request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                             access_key_secret=emu.access_key_secret,
                                             region="cn-hangzhou", max_retries=6, backoff_base=0.05)
        params = oss.create_resumable_clt_params(256 * KB, 3, True, None)
        status = oss.resumable_upload_file(options, "restart-bucket", "k", path, None, None, params,
                                           restart_once)
        assert restarted and 0 < restarted[0] < 4 * MiB
        if not status.is_ok():   # a clear failure is allowed; it must then resume
            assert os.path.exists(path + ".ucp")
            status = oss.resumable_upload_file(options, "restart-bucket", "k", path, clt_params=params)
        assert status.is_ok(), status
        from ossresume_c import ops
        from ossresume_c.transport import Transport
        with Transport(options) as t:
            st, meta = ops.head_object(t, "restart-bucket", "k")
        assert meta.crc64 == file_crc(path)


def test_second_process_on_the_same_checkpoint_is_refused_at_once(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 8 * MiB, seed=47)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="delay", seconds=0.2)
    proc = child(emu, "k", path, 256 * KB, 1)
    try:
        for line in proc.stdout:
            if line.startswith("progress"):
                break
        params = oss.create_resumable_clt_params(256 * KB, 1, True, None)
        status = oss.resumable_upload_file(options_for(emu), emu.bucket, "k", path, clt_params=params)
        assert (status.code, status.error_code) == (-993, "CheckpointLocked")
        assert "in use" in status.error_msg
    finally:
        proc.kill()
        proc.wait()
    emu.server.clear_faults()
    resume_and_verify(emu, "k", path, 256 * KB, 4)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_returns_a_status_and_keeps_the_checkpoint(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 4 * MiB, seed=48)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="delay", seconds=0.05)
    proc = child(emu, "k", path, 256 * KB, 2)
    for line in proc.stdout:
        if line.startswith("progress"):
            proc.send_signal(signal.SIGTERM)
            break
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 3
    assert "status -997 Interrupted" in out
    emu.server.clear_faults()
    sent = resume_and_verify(emu, "k", path, 256 * KB, 2)
    assert sent < 4 * MiB
