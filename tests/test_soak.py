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


@pytest.mark.slow
def test_short_soak_ends_clean():
    seed = int(os.environ.get("OSSRESUME_SOAK_SEED") or random.randrange(1 << 32))
    proc = subprocess.run([sys.executable, str(SOAK), "--seconds", "15", "--seed", str(seed)],
                          capture_output=True, text=True, timeout=15 + 300, check=False)
    report = f"seed {seed}\nstdout:\n{proc.stdout[-6000:]}\nstderr:\n{proc.stderr[-6000:]}"
    json_lines = [line for line in proc.stdout.splitlines() if line.startswith("SOAK-JSON ")]
    assert len(json_lines) == 1, report
    figures = json.loads(json_lines[0][len("SOAK-JSON "):])
    assert proc.returncode == 0, report
    assert figures["anything_else"] == 0, report
    assert "| anything else" in proc.stdout, report
    # it did something: transfers, and faults that are failures (not only slow-downs)
    assert figures["transfers"] >= 5, report
    failures = figures["faults_fired_total"] - figures["faults_fired_by_rule_kind"].get("delay", 0)
    assert failures > 0, report
    # every transfer is accounted for by exactly one ending
    endings = figures["exact"] + figures["failed_then_resumed"] + figures["failed_nothing_to_resume_rerun"]
    assert endings == figures["transfers"], report
    assert figures["uploads"] > 0, report
