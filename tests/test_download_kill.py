"""A killed download resumes where it stopped (issue 18): SIGKILL at random
points of a throttled download with the default checkpoint coalescing, then
resume; the journal means only the missing bytes (plus the parts in flight)
are fetched again, and a damaged journal costs re-fetches, never a wrong byte."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import ossresume_c as oss
from ossresume_c import journal as jnl

from helpers import make_file, options_for
from test_download_reliability import CHILD

MiB = 1024 * 1024
SIZE, PART, THREADS = 24 * MiB, 1 * MiB, 3


def uploaded(emu, tmp_path):
    src = make_file(tmp_path / "src.bin", SIZE, seed=18)
    params = oss.create_resumable_clt_params(8 * MiB, 4, False, None)
    assert oss.resumable_upload_file(options_for(emu), emu.bucket, "obj", src, clt_params=params).is_ok()
    return open(src, "rb").read()


def killed_download(emu, target, threshold, interval="1.0"):
    """Run the download in a child (checkpoint ``interval``: 1.0 is the default
    coalescing) and SIGKILL it once ``threshold`` bytes are reported done;
    returns the last progress seen (bytes known done)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, emu.endpoint, emu.access_key_id,
                             emu.access_key_secret, emu.bucket, "obj", target, str(PART), str(THREADS),
                             interval],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        w = line.split()
        if w[0] == "status":
            raise AssertionError(f"the download finished before the kill: {line}")
        if w[0] == "progress" and len(w) == 3:
            seen = int(w[1])
            if seen >= threshold:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return seen


def resume(emu, target):
    emu.server.clear_request_log()
    status = oss.resumable_download_file(options_for(emu), emu.bucket, "obj", target,
                                         clt_params=oss.create_resumable_clt_params(PART, THREADS, True,
                                                                                    None))
    assert status.is_ok(), status
    return sum(int(e.get("bytes_out") or 0) for e in emu.server.request_log() if e["op"] == "GetObject")


def test_sigkill_then_resume_fetches_only_what_was_missing(oss_emulator, tmp_path):
    emu = oss_emulator
    want = uploaded(emu, tmp_path)
    rng = random.Random(1818)
    for trial in range(4):
        target = str(tmp_path / f"out{trial}.bin")
        emu.server.add_fault(op="GetObject", action="throttle", bytes_per_sec=2 * MiB)
        seen = killed_download(emu, target, rng.randrange(PART, SIZE // 2))
        emu.server.clear_faults()
        assert os.path.exists(target + ".dcp.jnl")
        again = resume(emu, target)
        assert open(target, "rb").read() == want
        assert again <= SIZE - seen + THREADS * PART, (trial, seen, again)
        assert not os.path.exists(target + ".dcp.jnl") and not os.path.exists(target + ".dcp")


def test_a_damaged_journal_costs_refetches_not_wrong_bytes(oss_emulator, tmp_path):
    """Journal records whose CRC-64 does not match the .tmp, a flipped byte and a
    torn tail: the resume re-fetches those parts and the file is right."""
    emu = oss_emulator
    want = uploaded(emu, tmp_path)
    target = str(tmp_path / "out.bin")
    emu.server.add_fault(op="GetObject", action="throttle", bytes_per_sec=2 * MiB)
    killed_download(emu, target, SIZE // 3, interval="1e9")   # no fold: every part in the journal
    emu.server.clear_faults()
    path = target + ".dcp.jnl"
    raw = bytearray(open(path, "rb").read())
    assert len(raw) > jnl.HEADER_SIZE + 4 * jnl.RECORD_SIZE
    # the .tmp's bytes of the first journaled part are damaged: its record no longer matches
    first = int.from_bytes(raw[jnl.HEADER_SIZE:jnl.HEADER_SIZE + 4], "little")
    with open(target + ".tmp", "r+b") as fh:
        fh.seek(first * PART + 100)
        fh.write(b"\xff" * 8)
    raw[jnl.HEADER_SIZE + 2 * jnl.RECORD_SIZE + 7] ^= 0x40        # a flipped bit in the 3rd record
    open(path, "wb").write(bytes(raw[:-5]))                      # and a torn tail
    resume(emu, target)
    assert open(target, "rb").read() == want
