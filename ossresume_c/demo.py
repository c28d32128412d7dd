"""``ossresume demo``: the main job end to end on the embedded emulator, with
no credentials and no network.

1. start the emulator on a free loopback port (temporary root);
2. write a test file of random bytes;
3. upload it in parallel parts with a checkpoint, and interrupt the upload
   part-way (the progress callback cancels it, as a user's Ctrl-C would);
4. resume from the checkpoint: the parts the server has are verified against
   the file (CRC-64) and skipped;
5. check the object's CRC-64 (HEAD) against the file's;
6. download it back resumably and compare.

This module is the demo's UI: its report goes to ``out`` (stdout), the
progress bars to stderr.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import List, Optional, TextIO

from . import checkpoint_codec, native, ops
from .config import request_options_create
from .demo_lines import Sent, first_run_outcome, mib_s, resume_outcome, skipped_on_resume, summary, was_interrupted
from .params import create_resumable_clt_params
from .status import Status
from .terminal import ProgressBar, write_above

BUCKET = "ossresume-demo"
KEY = "demo/testfile.bin"
INTERRUPT_AT = 0.4   # fraction of the bytes after which the first upload is cancelled


class _DemoInterrupt(Exception):
    """Raised from the progress callback: cancels the upload, checkpoint kept."""


@dataclass
class DemoReport:
    size: int = 0
    part_size: int = 0
    parts: int = 0
    threads: int = 0
    interrupted_status: Optional[Status] = None
    parts_in_checkpoint: int = 0
    parts_skipped_on_resume: int = 0
    parts_sent_on_resume: int = 0
    file_crc: int = 0
    object_crc: Optional[int] = None
    downloaded_crc: Optional[int] = None
    upload_seconds: float = 0.0
    resume_seconds: float = 0.0
    download_seconds: float = 0.0
    resume_status: Optional[Status] = None
    download_status: Optional[Status] = None
    identical: bool = False
    problems: List[str] = field(default_factory=list)
    first_sent: Sent = field(default_factory=Sent)
    resume_sent: Sent = field(default_factory=Sent)

    @property
    def crc_verified(self) -> bool:
        return self.object_crc is not None and self.object_crc == self.file_crc

    @property
    def ok(self) -> bool:
        return not self.problems and self.crc_verified and self.identical


def demo_part_size(size: int) -> int:
    """8 MiB parts for big files; smaller files still get about 16 parts (never
    under OSS's 100 KiB minimum)."""
    return max(100 * 1024, min(8 << 20, size // 16))


def _write_test_file(path: str, size: int) -> None:
    chunk = 1 << 20
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(chunk, left)
            fh.write(os.urandom(n))
            left -= n


def _file_crc(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        _n, crc = native.crc64_file_range(fd, 0, size)
        return crc
    finally:
        os.close(fd)


def _sent_logged(emu, since: float) -> Sent:
    """What the emulator's request log holds of the requests that started at or
    after ``since`` (wall clock, as in the log)."""
    sent = Sent()
    for e in emu.request_log():
        if e.get("time", 0) < since:
            continue
        if e.get("op") == "UploadPart" and e.get("status") == 200:
            sent.parts_stored += 1
            sent.bytes_stored += int(e.get("bytes_in") or 0)
        elif e.get("op") == "UploadPart":
            sent.parts_refused += 1
        elif e.get("op") == "ListParts" and e.get("status") == 200:
            sent.listed = True
    return sent


def run_demo(size: int = 256 << 20, threads: int = 4, keep: bool = False, progress: bool = True,
             out: Optional[TextIO] = None, workdir: Optional[str] = None) -> DemoReport:
    """Run the demo; returns its report (``report.ok`` when every check passed)."""
    from .download import resumable_download_file
    from .emulator import start_emulator
    from .transport import Transport
    from .upload import resumable_upload_file

    out = out or sys.stdout

    def say(text: str = "") -> None:
        write_above(text, out)
        out.flush()

    report = DemoReport(size=size, part_size=demo_part_size(size), threads=threads)
    report.parts = -(-size // report.part_size)
    base = workdir or tempfile.mkdtemp(prefix="ossresume-demo-")
    os.makedirs(base, exist_ok=True)
    local = os.path.join(base, "testfile.bin")
    back = os.path.join(base, "testfile.downloaded.bin")
    try:
        with start_emulator(root=os.path.join(base, "emulator"), buckets=[BUCKET]) as emu:
            say(f"1. emulator listening on {emu.endpoint} (store in {emu.root})")
            options = request_options_create(endpoint=emu.endpoint, access_key_id=emu.access_key_id,
                                             access_key_secret=emu.access_key_secret,
                                             region=emu.region)
            t0 = time.monotonic()
            _write_test_file(local, size)
            report.file_crc = _file_crc(local)
            say(f"2. wrote {local}: {size:,} bytes of random data in {time.monotonic() - t0:.2f} s, "
                f"CRC-64 {report.file_crc:016x}")

            clt = create_resumable_clt_params(report.part_size, threads, True, None)
            checkpoint = local + ".ucp"

            # 3. upload, cancelled part-way by the progress callback.  The callback runs at
            # most every 100 ms; on a fast machine a small file would be sent before it
            # gets a chance, so the emulator answers the parts after the 40% mark slowly.
            first_slow = -(-report.parts * 4 // 10) + 1
            slow_rule = emu.add_fault(op="UploadPart", action="delay", seconds=0.5, nth=first_slow,
                                      count=report.parts)
            bar = ProgressBar("upload", size, progress)

            def interrupting(consumed: int, total: int) -> None:
                bar(consumed, total)
                if consumed >= total * INTERRUPT_AT and consumed < total:
                    raise _DemoInterrupt(f"demo interruption at {consumed * 100 // total}%")

            wall0 = time.time()
            t0 = time.monotonic()
            status = resumable_upload_file(options, BUCKET, KEY, local, None, None, clt, interrupting)
            report.upload_seconds = time.monotonic() - t0
            bar.close()
            emu.remove_fault(slow_rule)
            report.interrupted_status = status
            report.first_sent = _sent_logged(emu, wall0)
            if status.is_ok():
                report.problems.append("the upload finished before it could be interrupted")
            elif not was_interrupted(status):
                report.problems.append(f"the first upload failed instead of being interrupted: {status}")
            try:
                with open(checkpoint, "rb") as fh:
                    cp = checkpoint_codec.load(fh.read())
                report.parts_in_checkpoint = sum(1 for p in cp.parts if p.completed)
            except (OSError, checkpoint_codec.CheckpointInvalid) as exc:
                report.problems.append(f"no usable checkpoint after the interruption: {exc}")
            say(f"3. uploading {report.parts} parts of {report.part_size:,} bytes, {threads} at a time "
                f"(the emulator slows parts from #{first_slow} on); "
                f"{first_run_outcome(status, report.first_sent)}: {status}; "
                f"checkpoint {checkpoint} records {report.parts_in_checkpoint} done")

            # 4. resume from the checkpoint
            bar = ProgressBar("resume", size, progress, resuming=True)
            wall0 = time.time()
            t0 = time.monotonic()
            status = resumable_upload_file(options, BUCKET, KEY, local, None, None, clt, bar)
            report.resume_seconds = time.monotonic() - t0
            bar.close()
            report.resume_status = status
            report.resume_sent = _sent_logged(emu, wall0)
            report.parts_sent_on_resume = report.resume_sent.parts_stored
            report.parts_skipped_on_resume = skipped_on_resume(report.parts, report.resume_sent, status)
            if not status.is_ok():
                report.problems.append(f"the resumed upload failed: {status}")
            rate = f" ({mib_s(report.resume_sent.bytes_stored, report.resume_seconds)})" if status.is_ok() else ""
            say(f"4. resuming from the checkpoint: {resume_outcome(report.parts, report.resume_sent, status)} "
                f"in {report.resume_seconds:.2f} s{rate}; {status}")

            # 5. the object's CRC-64 against the file's
            with Transport(options) as transport:
                head, meta = ops.head_object(transport, BUCKET, KEY)
            report.object_crc = meta.crc64 if meta is not None else None
            if report.crc_verified:
                say(f"5. object CRC-64 {report.object_crc:016x} == file CRC-64 {report.file_crc:016x}: "
                    f"verified")
            else:
                found = "no CRC-64" if report.object_crc is None else f"CRC-64 {report.object_crc:016x}"
                report.problems.append(f"the object's {found} is not the file's {report.file_crc:016x} ({head})")
                say(f"5. CRC-64 NOT verified: object {found} ({head}), file {report.file_crc:016x}")

            # 6. download back, resumably
            bar = ProgressBar("download", None, progress)
            t0 = time.monotonic()
            status = resumable_download_file(options, BUCKET, KEY, back, None, None, clt, bar)
            report.download_seconds = time.monotonic() - t0
            bar.close()
            report.download_status = status
            if status.is_ok():
                report.downloaded_crc = _file_crc(back)
                report.identical = (report.downloaded_crc == report.file_crc
                                    and filecmp.cmp(local, back, shallow=False))
            else:
                report.problems.append(f"the download failed: {status}")
            if status.is_ok() and not report.identical:
                report.problems.append("the downloaded file differs from the original")
            if status.is_ok():
                say(f"6. downloaded to {back} in {report.download_seconds:.2f} s "
                    f"({mib_s(size, report.download_seconds)}): "
                    f"{'identical to the original' if report.identical else 'DIFFERENT'}")
            else:
                say(f"6. the download FAILED: {status}")
    finally:
        if not keep and workdir is None:
            shutil.rmtree(base, ignore_errors=True)

    say("")
    say("summary")
    for line in summary(report):
        say(line)
    if keep or workdir is not None:
        say(f"  files kept in   {base}")
    for problem in report.problems:
        say(f"  problem: {problem}")
    say("demo " + ("passed" if report.ok else "FAILED"))
    return report
