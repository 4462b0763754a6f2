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

SEEDS = {
    "seed-11": ["--seed", "11", "--jobs", "4", "--kills", "4", "--no-restarts",
                "--moments", "perso_upload,perso_submit_accepted,perso_poll,render"],
    "seed-12": ["--seed", "12", "--jobs", "3", "--kills", "3", "--moments", "perso_download,mix,translation"],
}  # fmt: skip


@pytest.mark.timeout(600)
def test_fixed_chaos_seeds_keep_every_invariant(tmp_path):
    """Both seeds at once (each run has its own Postgres, Redis and platform), then every report."""
    runs = {}
    for name, arguments in SEEDS.items():
        report_path = tmp_path / f"{name}.json"
        log = open(tmp_path / f"{name}.log", "w")
        command = [sys.executable, "-m", "tests.chaos", *arguments, "--deadline", "240", "--report", str(report_path)]
        runs[name] = (subprocess.Popen(command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT), log, report_path)
    for process, log, _ in runs.values():
        try:
            process.wait(timeout=400)
        finally:
            if process.poll() is None:
                process.terminate()  # the harness stops its platform and servers on SIGTERM
                process.wait(timeout=120)
            log.close()
    for name, (process, _, report_path) in runs.items():
        arguments = SEEDS[name]
        print((tmp_path / f"{name}.log").read_text()[-3000:])
        report = json.loads(report_path.read_text())
        moments = arguments[arguments.index("--moments") + 1].split(",")
        # Each named moment was reached on purpose and a worker killed there.
        assert all(report["kills_by_moment"][moment] >= 1 for moment in moments), (name, report["kills_by_moment"])
        if "--no-restarts" not in arguments:
            assert [entry.split()[0] for entry in report["restarts"]] == ["postgres", "redis"], name
        assert report["violations"] == [], name
        assert process.returncode == 0, name
        assert report["takeover_worst_sec"] is not None and report["takeovers_unmeasured"] == 0, name
