"""A short run of the bounded soak (benchmarks/soak.py): random transfers against a private
emulator with random faults, restarts and client SIGKILLs must all end byte-exact or with a
clear failure that resumes (or reruns) byte-exact; "anything else" must be 0."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
TRANSFERS = 10


def run_soak(*extra):
    """Run the soak for 10 transfers (bounded by count, not by time: a loaded machine is slow,
    not wrong; the 600 s limit only ends a hung run); returns its figures, its output (for
    messages) and the stdout."""
    seed = int(os.environ.get("OSSRESUME_SOAK_SEED") or random.randrange(1 << 32))
    proc = subprocess.run([sys.executable, str(SOAK), "--seconds", "600", "--max-transfers", str(TRANSFERS),
                           "--seed", str(seed), *extra],
                          capture_output=True, text=True, timeout=600 + 300, check=False)
    report = f"seed {seed}\nstdout:\n{proc.stdout[-6000:]}\nstderr:\n{proc.stderr[-6000:]}"
    json_lines = [line for line in proc.stdout.splitlines() if line.startswith("SOAK-JSON ")]
    assert len(json_lines) == 1, report
    assert proc.returncode == 0, report
    return json.loads(json_lines[0][len("SOAK-JSON "):]), report, proc.stdout


@pytest.mark.slow
def test_short_soak_ends_clean():
    figures, report, stdout = run_soak()
    assert figures["anything_else"] == 0, report
    assert "| anything else" in stdout, report
    # it did something: transfers, and faults that are failures (not only slow-downs)
    assert figures["transfers"] == TRANSFERS, report
    failures = figures["faults_fired_total"] - figures["faults_fired_by_rule_kind"].get("delay", 0)
    assert failures > 0, report
    # every transfer is accounted for by exactly one ending
    endings = figures["exact"] + figures["failed_then_resumed"] + figures["failed_nothing_to_resume_rerun"]
    assert endings == figures["transfers"], report
    assert figures["uploads"] > 0, report


@pytest.mark.slow
def test_short_wire_damage_soak_ends_clean():
    """The same soak through the damaging relay (flipped body bits, cuts, stalls): nothing
    else than byte-exact or a clear failure that the next run completes, no upload left."""
    figures, report, _ = run_soak("--wire", "0.1", "--max-size", "600000", "--heavy", "0.25")
    assert figures["anything_else"] == 0 and figures["leaked_uploads"] == 0, report
    damage = {k: v for k, v in figures["wire_damage"].items() if k != "connections"}
    assert sum(damage.values()) > 0, report
    endings = figures["exact"] + figures["failed_then_resumed"] + figures["failed_nothing_to_resume_rerun"]
    assert endings == figures["transfers"] == TRANSFERS, report
