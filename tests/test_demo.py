"""``ossresume demo``: the whole job on the embedded emulator, small size."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from ossresume_c.demo import demo_part_size, run_demo


def test_demo_command_runs_to_the_end_and_verifies_the_crc(tmp_path):
    env = dict(os.environ)
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN", "OSS_ENDPOINT"):
        env.pop(name, None)                      # no credentials, no endpoint: all local
    env["TMPDIR"] = str(tmp_path)
    res = subprocess.run([sys.executable, "-m", "ossresume_c", "demo", "--size", "8MiB"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "demo passed" in out
    match = re.search(r"5\. object CRC-64 ([0-9a-f]{16}) == file CRC-64 ([0-9a-f]{16}): verified", out)
    assert match and match.group(1) == match.group(2)
    skipped = re.search(r"resuming from the checkpoint: (\d+) of (\d+) parts were already on the server", out)
    assert skipped and 0 < int(skipped.group(1)) < int(skipped.group(2)) == 16
    assert "identical to the original" in out
    assert re.search(r"upload\s+[\d,.]+ MiB/s", out) and re.search(r"download\s+[\d,.]+ MiB/s", out)
    assert "upload:" in res.stderr and "100%" in res.stderr     # the progress bars
    assert os.listdir(tmp_path) == []                            # temporary files removed


def test_run_demo_report_and_keep(tmp_path):
    out = io.StringIO()
    report = run_demo(2 << 20, threads=3, progress=False, out=out, workdir=str(tmp_path / "w"))
    assert report.ok, out.getvalue()
    assert report.interrupted_status.code == -997
    assert report.parts == 16 and report.part_size == 128 * 1024
    assert report.parts_in_checkpoint > 0
    assert report.parts_skipped_on_resume + report.parts_sent_on_resume == 16
    assert report.parts_skipped_on_resume >= report.parts_in_checkpoint
    assert report.crc_verified and report.identical
    assert os.path.exists(tmp_path / "w" / "testfile.downloaded.bin")   # a given workdir is kept
    assert "files kept in" in out.getvalue()


def test_demo_part_size():
    assert demo_part_size(256 << 20) == 8 << 20
    assert demo_part_size(8 << 20) == 512 << 10
    assert demo_part_size(1 << 20) == 100 * 1024


def test_a_failing_demo_reports_the_failures_and_claims_nothing_else(tmp_path, monkeypatch):
    # As on Python 3.9 before the transport fix: every UploadPart refused with 403.
    import contextlib

    from ossresume_c import emulator

    real = emulator.start_emulator

    @contextlib.contextmanager
    def refusing_parts(**kwargs):
        with real(**kwargs) as emu:
            emu.add_fault(op="UploadPart", action="status", status=403, code="SignatureDoesNotMatch")
            yield emu

    monkeypatch.setattr(emulator, "start_emulator", refusing_parts)
    out = io.StringIO()
    report = run_demo(2 << 20, threads=2, progress=False, out=out, workdir=str(tmp_path / "w"))
    text = out.getvalue()
    assert not report.ok
    assert report.parts_sent_on_resume == report.parts_skipped_on_resume == 0
    assert "interrupted by" not in text and "interrupted after" not in text, text
    assert "skipped" not in text and "MiB/s" not in text and "identical" not in text, text
    assert "3. uploading 16 parts" in text and "FAILED, not interrupted (0 parts stored" in text
    assert "4. resuming from the checkpoint: the resumed upload FAILED (0 parts stored" in text
    assert "the first upload failed instead of being interrupted: error 403 SignatureDoesNotMatch" in text
    assert "6. the download FAILED: error 404 NoSuchKey" in text
    assert "round trip      not compared (no download)" in text
    assert text.rstrip().endswith("demo FAILED")
