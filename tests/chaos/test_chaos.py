"""Fixed chaos seeds in the suite: the whole platform as processes (private Postgres and Redis), a
few jobs of every kind, a worker SIGKILLed at each named moment (split between two seeds), Postgres
and Redis restarted once under load in one of them; every invariant of tests/chaos/harness.py must
hold. Long runs: `make chaos SEED=… N=…` (docs/faults.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.worker

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SEEDS = [
    pytest.param(
        ["--seed", "11", "--jobs", "4", "--kills", "4", "--no-restarts",
         "--moments", "perso_upload,perso_submit_accepted,perso_poll,render"],
        id="seed-11-upload-submit-poll-render",
    ),
    pytest.param(
        ["--seed", "12", "--jobs", "3", "--kills", "3", "--moments", "perso_download,mix,translation"],
        id="seed-12-download-mix-translation-with-restarts",
    ),
]  # fmt: skip


@pytest.mark.parametrize("arguments", SEEDS)
def test_a_fixed_chaos_seed_keeps_every_invariant(arguments, tmp_path):
    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.chaos", *arguments, "--deadline", "240", "--report", str(report_path)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(completed.stdout[-4000:], completed.stderr[-4000:])
    report = json.loads(report_path.read_text())
    moments = arguments[arguments.index("--moments") + 1].split(",")
    # Each named moment was reached on purpose and a worker killed there.
    assert all(report["kills_by_moment"][moment] >= 1 for moment in moments), report["kills_by_moment"]
    if "--no-restarts" not in arguments:
        assert [entry.split()[0] for entry in report["restarts"]] == ["postgres", "redis"]
    assert report["violations"] == []
    assert completed.returncode == 0
    assert report["takeover_worst_sec"] is not None and report["takeovers_unmeasured"] == 0
