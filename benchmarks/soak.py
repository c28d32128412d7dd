#!/usr/bin/env python3
"""Bounded soak: random uploads and downloads against one private emulator with random faults.

For ``--seconds`` (or until ``--max-transfers``), one transfer after another:

* an upload of a fresh random file (0 .. 32 MiB), or a download of an object uploaded earlier;
* random part size (>= 100 KiB), 1..6 threads, checkpoints on (mostly) or off, checkpoint in
  ``{file}.ucp``/``.dcp`` or in a directory, random retries and checkpoint interval;
* random emulator faults on the transfer's key: 5xx (some after the operation: lost
  responses), connection resets mid-body, wrong CRC-64 headers, an upload id that "expires"
  (404 NoSuchUpload), small delays;
* sometimes the emulator restarts: from a background thread at a random moment of the
  transfer, or between transfers;
* sometimes the transfer runs in a child process that is SIGKILLed at a random progress
  point, and is then resumed in this process (faults still on);
* sometimes the upload id of a failed upload is aborted behind the client's back before the
  resume;
* with ``--wire RATE``, the client talks to the emulator through a damaging relay of our own
  (``ossresume_c/testing/relay.py``, loopback, seeded, bounded): each request and response body
  meets, with probability RATE, one flipped bit, the connection cut mid-body, or a stall of up
  to ``--wire-stall`` seconds (longer than the 2 s read timeout used then: a timeout).

Every transfer must end one of these ways (all counted):

* byte-exact: uploads verified by HEAD (size, CRC-64) and a full GET compared with the file;
  downloads compared byte for byte with the source; no checkpoint or ``.tmp`` left;
* a clear failure Status (non-2xx code and an error code) that left a valid resumable
  checkpoint (mode 0600): resumed with faults off, it must end byte-exact;
* a clear failure Status with nothing partial to resume (checkpoints off, a single-request
  upload, a failure before the multipart upload was initiated or before any byte of the
  download was fetched, or a download whose whole-object CRC-64 did not match, which the
  engine discards by design): run again with faults off, it must end byte-exact;
* anything else (an exception, wrong bytes, an unclear Status, a failure that dropped its
  checkpoint after work was done, a leftover checkpoint after success, a hang, a multipart
  upload of the key left on the server once the transfer ended): must be 0.  (A child
  SIGKILLed with checkpoints off leaves its upload by nature: nothing can resume or abort it
  but ``oss.abort_multipart_uploads``, which the soak then calls; counted apart.)

Loopback only, bounded, stops by itself.  Exit status 1 when "anything else" is not 0.
The last line of the output is ``SOAK-JSON {...}`` with the figures.

    python benchmarks/soak.py --seconds 120
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c.testing.relay import Relay
from ossresume_c import native, ops
from ossresume_c import status as st_codes
from ossresume_c.checkpoint_file import checkpoint_location
from ossresume_c.params import create_resumable_clt_params
from ossresume_c.emulator import start_emulator
from ossresume_c.layout import plan_parts
from ossresume_c.transport import Transport

KiB, MiB = 1024, 1024 * 1024
MAX_SIZE = 32 * MiB            # --max-size changes it
HEAVY = 1.0                    # --heavy: share of the slow experiments (kills, restarts, slowed parts)
MIN_PART = 100 * KiB
BUCKET = "soak-bucket"
POOL_SIZE = 4                # objects kept around as download sources
TRANSFER_TIMEOUT = 240.0     # a transfer (all its phases) taking longer is a hang

# The client run in a child process (to be SIGKILLed); credentials come through the environment.
CHILD = textwrap.dedent("""
    import json, os, sys
    import ossresume_c as oss
    a = json.loads(sys.argv[1])
    o = oss.request_options_create(endpoint=a["endpoint"], access_key_id=os.environ["SOAK_AK"],
                                   access_key_secret=os.environ["SOAK_SK"], region=a["region"],
                                   max_retries=a["max_retries"], backoff_base=0.01, backoff_cap=0.2,
                                   connect_timeout=5, read_timeout=a["read_timeout"])
    p = oss.create_resumable_clt_params(a["part_size"], a["threads"], a["checkpoint"], a["cp_param"])
    def progress(consumed, total):
        print("progress", consumed, total, flush=True)
    print("started", flush=True)
    fn = oss.resumable_upload_file if a["kind"] == "upload" else oss.resumable_download_file
    s = fn(o, a["bucket"], a["key"], a["path"], None, None, p, progress,
           checkpoint_interval=a["interval"])
    print("status", s.code, s.error_code or "-", flush=True)
""")


# ---------------------------------------------------------------------------- plan of a transfer
@dataclass
class Spec:
    n: int
    kind: str                     # "upload" | "download"
    key: str
    size: int
    part_size: int
    threads: int
    checkpoint: bool
    cp_in_dir: bool
    interval: float
    max_retries: int
    child_kill: bool
    kill_fraction: float
    restart_mid: bool
    restart_fraction: float
    restart_after: float          # seconds: the restart fires at this moment or at the progress point
    expire_on_failure: bool
    faults: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def pick_part_size(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.15:
        return MIN_PART
    if r < 0.25:
        return MIN_PART + rng.randrange(1, 4096)          # odd sizes
    return min(int(_log_uniform(rng, MIN_PART, 8 * MiB)), max(MIN_PART, MAX_SIZE // 2))


def pick_size(rng: random.Random, part: int) -> int:
    r = rng.random()
    if r < 0.10:
        return min(MAX_SIZE, rng.choice([0, 1, part - 1, part, part + 1, 2 * part, 3 * part - 7]))
    if r < 0.35:
        return min(MAX_SIZE, rng.randrange(0, 2 * MiB))
    return min(MAX_SIZE, int(_log_uniform(rng, 1 * MiB, MAX_SIZE)))


def pick_faults(rng: random.Random, spec: Spec) -> None:
    """Fault rules on the transfer's key, and a tag per rule (for the figures)."""
    if spec.kind == "upload":
        all_ops = ["InitiateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "ListParts",
                   "PutObject", "HeadObject", "AbortMultipartUpload"]
        body_ops = ["UploadPart", "PutObject", "CompleteMultipartUpload"]
        crc_ops = ["UploadPart", "PutObject", "CompleteMultipartUpload", "ListParts", "HeadObject"]
        slow_ops = ["UploadPart", "PutObject"]
    else:
        all_ops = ["HeadObject", "GetObject"]
        body_ops = ["GetObject"]
        crc_ops = ["GetObject", "HeadObject"]
        slow_ops = ["GetObject"]
    rules: list[tuple[str, dict[str, Any]]] = []
    part = spec.part_size
    if rng.random() < 0.7:
        op = rng.choice(["*", "*"] + all_ops)
        rules.append(("5xx", {"op": op, "action": "status", "status": rng.choice([500, 502, 503, 504]),
                              "fraction": round(rng.uniform(0.02, 0.3), 3), "seed": rng.randrange(1 << 30),
                              "phase": "after" if rng.random() < 0.3 else "before"}))
    if rng.random() < 0.5:
        rules.append(("reset", {"op": rng.choice(["*"] + body_ops), "action": "reset",
                                "after_bytes": rng.randrange(0, part),
                                "fraction": round(rng.uniform(0.02, 0.25), 3), "seed": rng.randrange(1 << 30)}))
    if rng.random() < 0.4:
        rules.append(("bad_crc", {"op": rng.choice(crc_ops), "action": "bad_crc",
                                  "fraction": round(rng.uniform(0.05, 0.4), 3), "seed": rng.randrange(1 << 30)}))
    if spec.kind == "upload" and rng.random() < 0.1:
        rules.append(("no_such_upload", {"op": "UploadPart", "action": "status", "status": 404,
                                         "code": "NoSuchUpload", "nth": rng.randint(1, 6)}))
    if spec.child_kill or spec.restart_mid or rng.random() < 0.1 * HEAVY:
        # slow the parts so that the transfer lasts ~0.5-2.5 s: kills (at progress calls, which
        # come at most every 100 ms) and restarts then land mid-transfer
        parts = max(1, len(plan_parts(spec.size, spec.part_size).parts))
        seconds = rng.uniform(0.5, 2.5) * spec.threads / parts
        rules.append(("delay", {"op": slow_ops, "action": "delay",
                                "seconds": round(min(0.5, max(0.005, seconds)), 4)}))
    for tag, rule in rules:
        rule["key"] = spec.key
        spec.faults.append(rule)
        spec.tags.append(tag)


def make_spec(rng: random.Random, n: int, kind: str, key: str, size: int | None) -> Spec:
    part = pick_part_size(rng)
    spec = Spec(
        n=n, kind=kind, key=key,
        size=pick_size(rng, part) if size is None else size,
        part_size=part,
        threads=rng.randint(1, 6),
        checkpoint=rng.random() < 0.85,
        cp_in_dir=rng.random() < 0.25,
        interval=rng.choice([0.0, 0.05, 0.2, 1.0]),
        max_retries=rng.choice([0, 1, 2, 3, 5]),
        child_kill=rng.random() < 0.2 * HEAVY,
        kill_fraction=rng.uniform(0.0, 0.9),
        restart_mid=rng.random() < 0.15 * HEAVY,
        restart_fraction=rng.uniform(0.0, 0.9),
        restart_after=rng.uniform(0.05, 1.5),
        expire_on_failure=kind == "upload" and rng.random() < 0.2,
    )
    pick_faults(rng, spec)
    return spec


# ---------------------------------------------------------------------------- the soak itself
class Anomaly(Exception):
    """A transfer that ended "anything else"."""


class Soak:
    def __init__(self, emu: Any, work: Path, log_path: Path, rng: random.Random, verbose: bool,
                 relay: Relay | None = None) -> None:
        self.emu = emu
        self.relay = relay
        self.work = work
        self.log_path = log_path
        self.rng = rng
        self.verbose = verbose
        self.emu_lock = threading.Lock()
        self.rule_tags: dict[int, str] = {}
        self.pool: list[tuple[str, Path]] = []          # (key, local copy of its bytes)
        self.n = 0
        self.figures: dict[str, Any] = {
            "transfers": 0, "uploads": 0, "downloads": 0,
            "exact": 0, "failed_then_resumed": 0, "failed_nothing_to_resume_rerun": 0, "anything_else": 0,
            "child_runs": 0, "kills": 0, "kills_after_last_byte": 0, "child_finished_first": 0,
            "restarts_mid_transfer": 0, "restarts_between": 0,
            "upload_ids_aborted_behind_back": 0,
            "faults_fired_total": 0, "faults_fired_by_rule_kind": {}, "faults_fired_by_action": {},
            "bytes_transferred": 0, "nothing_to_resume_because": {},
            "leaked_uploads": 0, "left_by_killed_child_without_checkpoint": 0, "wire_damage": {},
            "resume_caught_wire_damage_then_rerun": 0,
        }
        self.anomalies: list[dict[str, Any]] = []
        self.child_killed = False
        self.restart_error = ""

    # -- emulator helpers ----------------------------------------------------
    def options(self, max_retries: int = 3, wire: bool = False) -> Any:
        """Options for the emulator; ``wire``: through the damaging relay (when there is one)."""
        relay = self.relay if wire else None
        return oss.request_options_create(endpoint=relay.endpoint if relay else self.emu.endpoint,
                                          access_key_id=self.emu.access_key_id,
                                          access_key_secret=self.emu.access_key_secret, region=self.emu.region,
                                          max_retries=max_retries, backoff_base=0.01, backoff_cap=0.2,
                                          connect_timeout=5, read_timeout=2 if relay else 30)

    def harvest(self) -> None:
        """Add the emulator's fault counters to the figures, then reset them (call with emu_lock)."""
        counters = self.emu.counters()
        by_kind = self.figures["faults_fired_by_rule_kind"]
        for rule in counters.get("fault_rules", []):
            tag = self.rule_tags.get(int(rule["id"]), rule["action"])
            by_kind[tag] = by_kind.get(tag, 0) + int(rule.get("fired", 0))
        by_action = self.figures["faults_fired_by_action"]
        for action, count in counters.get("faults_fired", {}).items():
            by_action[action] = by_action.get(action, 0) + int(count)
        self.figures["faults_fired_total"] += int(counters.get("faults_fired_total", 0))
        self.emu.reset_counters()

    def install_faults(self, spec: Spec) -> None:
        self.rule_tags = {}
        for tag, rule in zip(spec.tags, spec.faults):
            self.rule_tags[self.emu.add_fault(**rule)] = tag

    def remove_faults(self) -> None:
        with self.emu_lock:
            self.harvest()
            self.emu.clear_faults()
            self.rule_tags = {}

    def drain(self) -> None:
        """Wait (bounded) until the emulator has no request in flight."""
        idle = threading.Event()
        for _ in range(250):
            with self.emu_lock:
                if self.emu.counters().get("in_flight", 0) == 0:
                    return
            idle.wait(0.02)

    def restart(self, spec: Spec | None) -> None:
        with self.emu_lock:
            self.harvest()
            self.emu.restart()
            if spec is not None:
                self.install_faults(spec)

    # -- one transfer --------------------------------------------------------
    def run_one(self, deadline_hint: float) -> None:
        rng = self.rng
        self.n += 1
        n = self.n
        if rng.random() < 0.08 * HEAVY:
            self.restart(None)
            self.figures["restarts_between"] += 1
            self.check_pool_survived_restart()
        kind = "upload" if (not self.pool or rng.random() < 0.5) else "download"
        if kind == "download" and rng.random() < 0.2:
            self.add_pool_object(rng)
        source: Path | None = None
        if kind == "download":
            key, source = rng.choice(self.pool)
            size = source.stat().st_size
        else:
            key, size = f"soak/{n:06d}-{rng.randrange(1 << 20):05x}.bin", None
        spec = make_spec(rng, n, kind, key, size)
        self.figures["transfers"] += 1
        self.figures[kind + "s"] += 1
        tdir = self.work / f"t{n:06d}"
        tdir.mkdir()
        if kind == "upload":
            path = tdir / "src.bin"
            path.write_bytes(random.Random(rng.randrange(1 << 62)).randbytes(spec.size))
        else:
            path = tdir / "dst.bin"
        cp_param = str(tdir / "cps") if spec.cp_in_dir else None
        if cp_param:
            os.mkdir(cp_param)
        watchdog = threading.Timer(TRANSFER_TIMEOUT, self.hang, args=(spec,))
        watchdog.daemon = True
        watchdog.start()
        try:
            outcome = self.transfer(spec, path, source, cp_param)
        except Anomaly as exc:
            outcome = "anything_else"
            self.note_anomaly(spec, str(exc))
        except Exception:  # noqa: BLE001 - an engine exception, or a verification that could not run: counted
            outcome = "anything_else"
            self.note_anomaly(spec, "exception: " + traceback.format_exc())
        finally:
            watchdog.cancel()
        self.figures[outcome] += 1
        if outcome != "anything_else":
            self.figures["bytes_transferred"] += spec.size
        if self.verbose:
            print(f"#{n} {kind} {spec.size} B part {spec.part_size} x{spec.threads} "
                  f"cp={'dir' if spec.cp_in_dir else spec.checkpoint} faults={spec.tags} "
                  f"kill={spec.child_kill} restart={spec.restart_mid} -> {outcome}", flush=True)
        if kind == "upload" and outcome != "anything_else":
            self.pool_add(key, path, tdir)
        else:
            shutil.rmtree(tdir, ignore_errors=True)

    def transfer(self, spec: Spec, path: Path, source: Path | None, cp_param: str | None) -> str:
        suffix = ".ucp" if spec.kind == "upload" else ".dcp"
        cp_path = checkpoint_location(create_resumable_clt_params(0, 1, spec.checkpoint, cp_param), str(path),
                                      BUCKET, spec.key, suffix)
        log_start = self.log_path.stat().st_size
        with self.emu_lock:
            self.install_faults(spec)
        trigger = threading.Event()
        finished = threading.Event()
        restarter = None
        if spec.restart_mid:
            restarter = threading.Thread(target=self.restart_mid, args=(spec, trigger, finished), daemon=True)
            restarter.start()
        threshold = int(spec.restart_fraction * max(1, spec.size))

        def progress(consumed: int, total: int) -> None:
            if consumed >= threshold:
                trigger.set()

        status: tuple[int, str] | None = None
        self.child_killed = False
        try:
            if spec.child_kill:
                status = self.child_phase(spec, path, cp_param, trigger, threshold)
            if status is None and spec.child_kill and spec.expire_on_failure and cp_path \
                    and os.path.exists(cp_path):
                self.abort_behind_back(spec, cp_path, faults_on=True)
            if status is None:   # in process: the whole transfer, or the resume after the kill
                if spec.child_kill:
                    self.drain()   # the dead child's last requests are in the log before this call's
                log_start = self.log_path.stat().st_size   # the failure to judge is this call's
                st = self.call(spec, path, cp_param, self.options(spec.max_retries, wire=True), progress)
                status = (st.code, st.error_code)
                check_status_text(st, self.emu.access_key_secret)
        finally:
            finished.set()
            trigger.set()
            if restarter is not None:
                restarter.join()
            self.remove_faults()
        if self.restart_error:
            error, self.restart_error = self.restart_error, ""
            raise Anomaly(error)
        code, error_code = status
        outcome = self.judge(spec, path, source, cp_param, cp_path, code, error_code, log_start)
        if spec.kind == "upload":
            self.check_leaks(spec)
        return outcome

    def judge(self, spec: Spec, path: Path, source: Path | None, cp_param: str | None,
              cp_path: str | None, code: int, error_code: str, log_start: int) -> str:
        if 200 <= code < 300:
            self.verify(spec, path, source, cp_path)
            return "exact"
        if code == 0 or not error_code:
            raise Anomaly(f"unclear failure Status: code {code}, error code {error_code!r}")
        if cp_path and os.path.exists(cp_path):
            self.check_checkpoint_file(spec, cp_path)
            if spec.expire_on_failure:
                self.abort_behind_back(spec, cp_path, faults_on=False)
            self.rerun(spec, path, source, cp_param, cp_path, "resume")
            return "failed_then_resumed"
        lost, reason = self.nothing_to_resume(spec, path, code, error_code, log_start)
        if lost:
            raise Anomaly(f"failure {code} {error_code} left no checkpoint although {lost}")
        self.rerun(spec, path, source, cp_param, cp_path, "rerun")
        reasons = self.figures["nothing_to_resume_because"]
        reasons[reason] = reasons.get(reason, 0) + 1
        return "failed_nothing_to_resume_rerun"

    def call(self, spec: Spec, path: Path, cp_param: str | None, options: Any, progress: Any) -> Any:
        params = oss.create_resumable_clt_params(spec.part_size, spec.threads, spec.checkpoint, cp_param)
        fn = oss.resumable_upload_file if spec.kind == "upload" else oss.resumable_download_file
        return fn(options, BUCKET, spec.key, str(path), None, None, params, progress,
                  checkpoint_interval=spec.interval)

    def restart_mid(self, spec: Spec, trigger: threading.Event, finished: threading.Event) -> None:
        # A random moment of the transfer: its progress point, or a random delay, whichever
        # comes first; nothing happens if the transfer has already ended.
        trigger.wait(spec.restart_after)
        if finished.is_set():
            return
        try:
            self.restart(spec)
        except Exception as exc:  # noqa: BLE001 - reported by the transfer (the emulator did not come back)
            self.restart_error = f"the emulator restart failed: {exc!r}"
            return
        self.figures["restarts_mid_transfer"] += 1

    def child_phase(self, spec: Spec, path: Path, cp_param: str | None, trigger: threading.Event,
                    restart_threshold: int) -> tuple[int, str] | None:
        """Run the transfer in a child and SIGKILL it at the chosen progress point.
        None when it was killed (the caller resumes in process), else its Status."""
        self.figures["child_runs"] += 1
        wired = self.options(wire=True)
        args = {"endpoint": wired.config.endpoint, "read_timeout": wired.ctl.read_timeout,
                "region": self.emu.region, "bucket": BUCKET, "key": spec.key,
                "path": str(path), "kind": spec.kind, "part_size": spec.part_size, "threads": spec.threads,
                "checkpoint": spec.checkpoint, "cp_param": cp_param, "interval": spec.interval,
                "max_retries": spec.max_retries}
        env = dict(os.environ, SOAK_AK=self.emu.access_key_id, SOAK_SK=self.emu.access_key_secret)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE,
                                    stderr=errors, text=True, env=env)
            threshold = int(spec.kill_fraction * max(1, spec.size))
            result: tuple[int, str] | None = None
            killed = False
            at_end = False
            assert proc.stdout is not None
            for line in proc.stdout:
                words = line.split()
                if not words:
                    continue
                if words[0] == "progress" and int(words[1]) >= restart_threshold:
                    trigger.set()
                if words[0] == "started" and threshold == 0 or words[0] == "progress" and int(words[1]) >= threshold:
                    # progress calls are rate-limited: the first one past the point may be the last one
                    at_end = words[0] == "progress" and int(words[1]) >= int(words[2])
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
                if words[0] == "status":
                    result = (int(words[1]), "" if words[2] == "-" else words[2])
                    break
            proc.stdout.close()
            rc = proc.wait()
            if killed and result is None:
                self.child_killed = True
                self.figures["kills_after_last_byte" if at_end else "kills"] += 1
                return None
            self.figures["child_finished_first"] += 1
            if result is None:
                errors.seek(0)
                raise Anomaly(f"the child exited {rc} without a Status: "
                              f"{errors.read()[-3000:].decode('utf-8', 'replace')}")
            return result

    # -- after a failure -------------------------------------------------------
    def check_checkpoint_file(self, spec: Spec, cp_path: str) -> None:
        mode = os.stat(cp_path).st_mode & 0o777
        if mode != 0o600:
            raise Anomaly(f"checkpoint {cp_path} has mode {oct(mode)}, not 0600")
        data = Path(cp_path).read_bytes()
        try:
            cp = codec.load(data)
        except ValueError as exc:   # CheckpointInvalid
            raise Anomaly(f"the engine left an invalid checkpoint ({exc}): {data[:400]!r}") from None
        expected = codec.UPLOAD if spec.kind == "upload" else codec.DOWNLOAD
        if cp.type != expected or cp.object_key != spec.key:
            raise Anomaly(f"checkpoint of the wrong transfer: type {cp.type}, key {cp.object_key!r}")
        if self.emu.access_key_secret.encode() in data:
            raise Anomaly("the checkpoint contains the access key secret")

    def abort_behind_back(self, spec: Spec, cp_path: str, faults_on: bool) -> None:
        """The upload id "expires": abort it (faults stay on for the client, not for this)."""
        try:
            cp = codec.load(Path(cp_path).read_bytes())
        except codec.CheckpointInvalid:
            return
        if not cp.upload_id:
            return
        with self.emu_lock:
            if faults_on:      # the abort itself must not meet the client's faults
                self.harvest()
                self.emu.clear_faults()
            try:
                with Transport(self.options()) as t:
                    st = ops.abort_multipart_upload(t, BUCKET, spec.key, cp.upload_id)
            finally:
                if faults_on:
                    self.install_faults(spec)
        if st.code in (204, 404):
            self.figures["upload_ids_aborted_behind_back"] += st.code == 204
        else:
            raise Anomaly(f"could not abort {cp.upload_id} for the experiment: {st}")

    def check_leaks(self, spec: Spec) -> None:
        """Once an upload transfer has ended (resumed or rerun to success), no
        multipart upload of its key may be left on the server."""
        with Transport(self.options()) as t:
            st, left = ops.list_multipart_uploads(t, BUCKET, spec.key)
        if not st.is_ok():
            raise Anomaly(f"cannot list the uploads left: {st!r}")
        left = [u for u in left if u.key == spec.key]
        if not left:
            return
        if self.child_killed and not spec.checkpoint:
            st, gone = oss.abort_multipart_uploads(self.options(), BUCKET, spec.key, all=True)
            if not st.is_ok() or len(gone) < len(left):
                raise Anomaly(f"abort_multipart_uploads could not clean up after a killed child: {st!r}")
            self.figures["left_by_killed_child_without_checkpoint"] += len(left)
            return
        self.figures["leaked_uploads"] += len(left)
        raise Anomaly(f"{len(left)} multipart upload(s) of the key left on the server: "
                      f"{[(u.upload_id, u.initiated) for u in left]}")

    def nothing_to_resume(self, spec: Spec, path: Path, code: int, error_code: str,
                          log_start: int) -> tuple[str, str]:
        """For a failure without a checkpoint: ``("", why that is legitimate)``, or
        ``(what was lost, "")``."""
        tmp = Path(str(path) + ".tmp")
        if spec.kind == "download" and tmp.exists():
            return f"{tmp.name} was left behind", ""
        if not spec.checkpoint:
            return "", "checkpoints off"
        entries = [e for e in read_log(self.log_path, log_start) if e.get("key") == spec.key]
        if spec.kind == "upload":
            if len(plan_parts(spec.size, spec.part_size).parts) <= 1:
                return "", "single PutObject"          # nothing partial exists
            initiated = [e for e in entries if e.get("op") == "InitiateMultipartUpload" and e.get("status") == 200]
            parts = [e for e in entries if e.get("op") == "UploadPart"]
            if initiated and not parts and self.relay is not None:
                # the server created it, the answer was damaged on the wire; check_leaks
                # then proves that the call aborted what it had created
                return "", "Initiate's answer damaged on the wire (its upload aborted)"
            if initiated or parts:
                return (f"the upload was initiated ({len(initiated)} Initiate 200, "
                        f"{len(parts)} UploadPart requests)"), ""
            return "", "failed before the upload was initiated"
        if code == st_codes.INCONSISTENT_ERROR and error_code == "InconsistentError":
            # whole-object CRC-64 mismatch: the engine discards the data by design (as the C SDK)
            return "", "download: whole-object CRC-64 mismatch"
        gets = [e for e in entries if e.get("op") == "GetObject"]
        if gets:
            return f"{len(gets)} GetObject requests were made", ""
        return "", "download: failed before any GET"

    def rerun(self, spec: Spec, path: Path, source: Path | None, cp_param: str | None,
              cp_path: str | None, what: str) -> None:
        st = self.call(spec, path, cp_param, self.options(3), None)
        check_status_text(st, self.emu.access_key_secret)
        if not st.is_ok() and self.relay is not None and spec.kind == "download" and what == "resume" \
                and (st.code, st.error_code) == (st_codes.INCONSISTENT_ERROR, "InconsistentError"):
            # bytes flipped on the wire before the failure were kept in the .tmp as a done
            # part; the whole-object CRC-64 catches them at the resume, which discards all
            if (cp_path and os.path.exists(cp_path)) or Path(str(path) + ".tmp").exists():
                raise Anomaly("a CRC-64 mismatch kept its checkpoint or .tmp")
            self.figures["resume_caught_wire_damage_then_rerun"] += 1
            st = self.call(spec, path, cp_param, self.options(3), None)
        if not st.is_ok():
            raise Anomaly(f"the {what} with faults off failed: {st!r}")
        self.verify(spec, path, source, cp_path)

    # -- verification ------------------------------------------------------------
    def verify(self, spec: Spec, path: Path, source: Path | None, cp_path: str | None) -> None:
        if cp_path and os.path.exists(cp_path):
            raise Anomaly(f"checkpoint {cp_path} left after a successful transfer")
        if spec.kind == "upload":
            data = path.read_bytes()
            with Transport(self.options()) as t:
                st, meta = ops.head_object(t, BUCKET, spec.key)
                if not st.is_ok() or meta is None:
                    raise Anomaly(f"HEAD after a successful upload: {st!r}")
                if meta.size != len(data) or meta.crc64 != native.crc64(data):
                    raise Anomaly(f"object size/CRC {meta.size}/{meta.crc64} != file {len(data)}/{native.crc64(data)}")
                st, body = ops.get_object(t, BUCKET, spec.key)
                if not st.is_ok() or body != data:
                    raise Anomaly(f"GET after a successful upload: {st!r}, {len(body or b'')} bytes, "
                                  f"equal={body == data}")
        else:
            assert source is not None
            if not path.exists():
                raise Anomaly("a successful download left no file")
            got, want = path.read_bytes(), source.read_bytes()
            if got != want:
                first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
                raise Anomaly(f"downloaded bytes differ from the object: {len(got)} vs {len(want)} bytes, "
                              f"first difference at {first}")
            if Path(str(path) + ".tmp").exists():
                raise Anomaly("a successful download left its .tmp")

    # -- download sources ---------------------------------------------------------
    def pool_add(self, key: str, path: Path, tdir: Path) -> None:
        keep = self.work / "pool" / key.replace("/", "_")
        keep.parent.mkdir(exist_ok=True)
        os.replace(path, keep)
        shutil.rmtree(tdir, ignore_errors=True)
        self.pool.append((key, keep))
        while len(self.pool) > POOL_SIZE:
            old_key, old_path = self.pool.pop(0)
            with Transport(self.options()) as t:
                ops.delete_object(t, BUCKET, old_key)
            old_path.unlink()

    def add_pool_object(self, rng: random.Random) -> None:
        key = f"soak/src-{self.n:06d}.bin"
        data = random.Random(rng.randrange(1 << 62)).randbytes(pick_size(rng, pick_part_size(rng)))
        tdir = self.work / f"src{self.n:06d}"
        tdir.mkdir()
        (tdir / "src.bin").write_bytes(data)
        with Transport(self.options()) as t:
            st, _ = ops.put_object(t, BUCKET, key, data, expect_crc=native.crc64(data))
        if not st.is_ok():
            raise RuntimeError(f"PutObject of a download source failed with faults off: {st!r}")
        self.pool_add(key, tdir / "src.bin", tdir)

    def check_pool_survived_restart(self) -> None:
        with Transport(self.options()) as t:
            for key, local in self.pool:
                st, meta = ops.head_object(t, BUCKET, key)
                data = local.read_bytes()
                if not st.is_ok() or meta is None or meta.crc64 != native.crc64(data):
                    self.figures["anything_else"] += 1
                    self.anomalies.append({"what": f"object {key} changed across an emulator restart: {st!r}"})

    # -- reporting --------------------------------------------------------------
    def note_anomaly(self, spec: Spec, what: str) -> None:
        entry = {"transfer": asdict(spec), "what": what}
        self.anomalies.append(entry)
        print(f"ANOMALY in transfer #{spec.n}: {what}\n  spec: {json.dumps(asdict(spec))}", file=sys.stderr,
              flush=True)

    def hang(self, spec: Spec) -> None:
        print(f"HANG: transfer #{spec.n} did not end within {TRANSFER_TIMEOUT:.0f} s\n"
              f"  spec: {json.dumps(asdict(spec))}", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        try:
            self.emu.kill()
        finally:
            os._exit(3)


def check_status_text(st: Any, secret: str) -> None:
    text = f"{st} {st!r} {st.error_msg}"
    if secret and secret in text:
        raise Anomaly("a Status shows the access key secret")


def read_log(path: Path, start: int) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        fh.seek(start)
        raw = fh.read()
    out = []
    for line in raw.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue   # a torn last line from a killed emulator
    return out


def render(figures: dict[str, Any], seconds: float, seed: int) -> str:
    f = figures
    rows: list[tuple[str, str]] = [
        ("transfers attempted (uploads / downloads)", f"{f['transfers']} ({f['uploads']} / {f['downloads']})"),
        ("faults injected (emulator counters: faults_fired_total)", str(f["faults_fired_total"])),
        ("  of which failures (all but the delays)",
         str(f["faults_fired_total"] - f["faults_fired_by_rule_kind"].get("delay", 0))),
    ]
    labels = {"5xx": "5xx status (fraction; some after the operation)", "reset": "connection reset mid-body",
              "bad_crc": "wrong CRC-64", "no_such_upload": "404 NoSuchUpload on UploadPart",
              "delay": "delay (slow-down)"}
    for tag, label in labels.items():
        rows.append((f"  {label}", str(f["faults_fired_by_rule_kind"].get(tag, 0))))
    rows += [
        ("emulator restarts (mid-transfer / between transfers)",
         f"{f['restarts_mid_transfer'] + f['restarts_between']} ({f['restarts_mid_transfer']} / {f['restarts_between']})"),
        ("client runs in a child process", str(f["child_runs"])),
        ("  SIGKILLed mid-transfer, then resumed in process", str(f["kills"])),
        ("  SIGKILLed after its last progress call (all bytes sent), then resumed",
         str(f["kills_after_last_byte"])),
        ("  finished before the kill point", str(f["child_finished_first"])),
        ("upload ids aborted behind the client's back before a resume", str(f["upload_ids_aborted_behind_back"])),
        ("ended byte-exact", str(f["exact"])),
        ("clear failure Status + checkpoint, resumed byte-exact", str(f["failed_then_resumed"])),
        ("clear failure Status, nothing partial to resume, rerun byte-exact", str(f["failed_nothing_to_resume_rerun"])),
    ]
    for reason, count in sorted(f["nothing_to_resume_because"].items()):
        rows.append((f"  {reason}", str(count)))
    if f["wire_damage"]:
        w = f["wire_damage"]
        rows += [
            ("wire damage by the relay (connections relayed)", str(w.get("connections", 0))),
            ("  bit flipped in a request body / a response body",
             f"{w.get('flip_request', 0)} / {w.get('flip_response', 0)}"),
            ("  connection cut mid request body / mid response body",
             f"{w.get('cut_request', 0)} / {w.get('cut_response', 0)}"),
            ("  stall (up to --wire-stall s; past 2 s a read timeout)", str(w.get("stall", 0))),
            ("  download resume caught earlier wire damage (CRC-64), rerun byte-exact",
             str(f["resume_caught_wire_damage_then_rerun"])),
        ]
    rows += [
        ("multipart uploads left on the server after an upload ended (leaked)", str(f["leaked_uploads"])),
        ("  left by a SIGKILLed child with checkpoints off (then aborted by abort_multipart_uploads)",
         str(f["left_by_killed_child_without_checkpoint"])),
        ("anything else", str(f["anything_else"])),
        ("payload bytes of the transfers that ended well", f"{f['bytes_transferred'] / MiB:.1f} MiB"),
        ("wall time", f"{seconds:.1f} s (seed {seed})"),
    ]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"| {'':<{width}} | {'count':>{vwidth}} |", f"|{'-' * (width + 2)}|{'-' * (vwidth + 1)}:|"]
    lines += [f"| {a:<{width}} | {b:>{vwidth}} |" for a, b in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="run this long (default 120)")
    parser.add_argument("--max-transfers", type=int, default=100000, help="stop after this many transfers")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per transfer")
    parser.add_argument("--wire", type=float, default=0.0, metavar="RATE",
                        help="damage traffic through a relay: each body flipped, cut or stalled "
                             "with this probability (default 0: no relay)")
    parser.add_argument("--wire-stall", type=float, default=3.0, metavar="SECONDS",
                        help="longest relay stall (default 3; the read timeout is 2 s with --wire)")
    parser.add_argument("--max-size", type=int, default=MAX_SIZE, metavar="BYTES",
                        help=f"largest file (default {MAX_SIZE})")
    parser.add_argument("--heavy", type=float, default=1.0, metavar="F",
                        help="scale the chances of child kills, emulator restarts and slowed parts "
                             "(default 1; 0.25 makes a long wire run affordable)")
    args = parser.parse_args(argv)
    parser_heavy = min(1.0, max(0.0, args.heavy))
    globals().update(MAX_SIZE=max(1, args.max_size), HEAVY=parser_heavy)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    logging.getLogger("ossresume_c").setLevel(logging.INFO if args.verbose else logging.CRITICAL)
    print(f"soak: {args.seconds:.0f} s, at most {args.max_transfers} transfers, seed {seed}", flush=True)
    started = time.monotonic()
    deadline = started + args.seconds
    work = Path(tempfile.mkdtemp(prefix="ossresume-soak-"))
    try:
        log_path = work / "requests.jsonl"
        log_path.touch()
        with start_emulator(root=str(work / "emulator"), buckets=[BUCKET], request_log=str(log_path)) as emu:
            relay = None
            if args.wire > 0:
                port = int(emu.endpoint.rsplit(":", 1)[1])
                relay = Relay(("127.0.0.1", port), seed=seed, rate=args.wire, max_stall=args.wire_stall)
            soak = Soak(emu, work, log_path, rng, args.verbose, relay)
            try:
                while time.monotonic() < deadline and soak.figures["transfers"] < args.max_transfers:
                    soak.run_one(deadline)
            finally:
                if relay is not None:
                    soak.figures["wire_damage"] = dict(relay.counts)
                    relay.close()
            with soak.emu_lock:
                soak.harvest()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(render(soak.figures, elapsed, seed))
    if soak.anomalies:
        print(f"\n{len(soak.anomalies)} anomalies (first 5):", file=sys.stderr)
        for a in soak.anomalies[:5]:
            print(json.dumps(a)[:4000], file=sys.stderr)
    print("SOAK-JSON " + json.dumps(dict(soak.figures, seconds=round(elapsed, 1), seed=seed)), flush=True)
    return 1 if soak.figures["anything_else"] else 0


if __name__ == "__main__":
    sys.exit(main())
