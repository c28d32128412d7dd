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
    ep, ak, sk, bucket, key, path, ps, th = sys.argv[1:9]
    o = oss.request_options_create(endpoint=ep, access_key_id=ak, access_key_secret=sk,
                                   region="cn-hangzhou", backoff_base=0.01)
    def progress(consumed, total):
        print("progress", consumed, total, flush=True)
    print("started", flush=True)
    s = oss.resumable_download_file(o, bucket, key, path, None, None,
                                    oss.create_resumable_clt_params(int(ps), int(th), True, None),
                                    progress, checkpoint_interval=0.02)
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
                                 emu.access_key_secret, emu.bucket, "obj", target, str(part), "4"],
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
