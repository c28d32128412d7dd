"""Download reliability: SIGKILL at random moments then resume, byte-exact.

A download has no server-side record of its progress (an upload has ListParts),
so what a resume can skip is what the last checkpoint write recorded: the child
runs with a short checkpoint_interval so that kills land after some writes."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import ossresume_c as oss

from helpers import make_file, options_for

MiB = 1024 * 1024

CHILD = textwrap.dedent("""
    import sys, ossresume_c as oss
    ep, ak, sk, bucket, key, path, ps, th, interval = sys.argv[1:10]
    o = oss.request_options_create(endpoint=ep, access_key_id=ak, access_key_secret=sk,
                                   region="cn-hangzhou", backoff_base=0.01)
    def progress(consumed, total):
        print("progress", consumed, total, flush=True)
    print("started", flush=True)
    s = oss.resumable_download_file(o, bucket, key, path, None, None,
                                    oss.create_resumable_clt_params(int(ps), int(th), True, None),
                                    progress, checkpoint_interval=float(interval))
    print("status", s.code, s.error_code, s.error_msg, flush=True)
    sys.exit(0 if s.is_ok() else 3)
""")


def test_sigkill_at_random_moments_then_resume(oss_emulator, tmp_path):
    emu = oss_emulator
    size, part = 32 * MiB, 1 * MiB
    src = make_file(tmp_path / "src.bin", size, seed=7)
    params = oss.create_resumable_clt_params(8 * MiB, 4, False, None)
    assert oss.resumable_upload_file(options_for(emu), emu.bucket, "obj", src, clt_params=params).is_ok()
    want = open(src, "rb").read()
    rng = random.Random(99)
    emu.server.add_fault(op="GetObject", action="delay", seconds=0.03)
    fetched_less = 0
    for trial in range(6):
        target = str(tmp_path / f"out{trial}.bin")
        threshold = 0 if trial == 0 else rng.randrange(part, size // 2)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, emu.endpoint, emu.access_key_id,
                                 emu.access_key_secret, emu.bucket, "obj", target, str(part), "4", "0.02"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stdout:
            w = line.split()
            if w[0] == "status" or (w[0] == "started" and threshold == 0) or \
                    (w[0] == "progress" and int(w[1]) >= threshold):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not os.path.exists(target) or trial > 0
        emu.server.clear_request_log()
        status = oss.resumable_download_file(options_for(emu), emu.bucket, "obj", target, clt_params=
                                             oss.create_resumable_clt_params(part, 4, True, None))
        assert status.is_ok(), status
        assert open(target, "rb").read() == want
        assert not os.path.exists(target + ".tmp") and not os.path.exists(target + ".dcp")
        got = sum(int(e.get("bytes_out") or 0) for e in emu.server.request_log() if e["op"] == "GetObject")
        if threshold > 0 and got < size:
            fetched_less += 1
    assert fetched_less >= 4


WRITE_LIMITED = textwrap.dedent("""
    import resource, signal, sys, ossresume_c as oss
    ep, ak, sk, bucket, key, path, limit = sys.argv[1:8]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    o = oss.request_options_create(endpoint=ep, access_key_id=ak, access_key_secret=sk,
                                   region="cn-hangzhou")
    s = oss.resumable_download_file(o, bucket, key, path, None, None,
                                    oss.create_resumable_clt_params(100 * 1024, 2, True, None))
    print("status", s.code, s.error_code, s.error_msg, flush=True)
""")


def test_write_errors_give_a_clear_status_and_keep_the_checkpoint(oss_emulator, tmp_path):
    """A full disk, as pwrite sees it: the .tmp cannot grow past a limit (RLIMIT_FSIZE)."""
    emu = oss_emulator
    src = make_file(tmp_path / "src.bin", 1 * MiB, seed=8)
    assert oss.resumable_upload_file(options_for(emu), emu.bucket, "obj", src).is_ok()
    target = str(tmp_path / "out.bin")
    # a first run that stops early leaves a full-size .tmp and a checkpoint
    emu.server.add_fault(op="GetObject", action="status", status=403, nth=2)
    first = oss.resumable_download_file(options_for(emu, max_retries=0), emu.bucket, "obj", target,
                                        clt_params=oss.create_resumable_clt_params(100 * 1024, 1, True,
                                                                                   None))
    emu.server.clear_faults()
    assert first.code == 403 and os.path.getsize(target + ".tmp") == 1 * MiB
    out = subprocess.run([sys.executable, "-c", WRITE_LIMITED, emu.endpoint, emu.access_key_id,
                          emu.access_key_secret, emu.bucket, "obj", target, str(300 * 1024)],
                         capture_output=True, text=True, timeout=120).stdout
    assert "status -981 FileWriteError" in out and "File too large" in out, out
    assert os.path.exists(target + ".dcp") and not os.path.exists(target)
    status = oss.resumable_download_file(options_for(emu), emu.bucket, "obj", target)
    assert status.is_ok() and open(target, "rb").read() == open(src, "rb").read()
