"""End to end: N separation jobs through the whole platform (gunicorn web with the Perso
simulator, one Celery worker per queue, beat) against the simulator's own minimum time.

Run: .venv/bin/python tests/benchmarks/e2e_separation_bench.py [jobs]   (needs Postgres, Redis, ffmpeg, espeak-ng)
The simulator's minimum for N jobs is ceil(N / in-flight cap) waves of one project's processing
time (3 stages × PERSO_SIM_STEP_SEC); everything above it is the platform's own overhead
(uploads, trims, polling granularity — never under 5 s between polls — and stem downloads).
"""

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ROOT, VENV_BIN, bench_environment, gunicorn_server, recreate_database, setup_django

DATABASE = "vibi_bench_e2e"
STEP_SEC = 1.0
IN_FLIGHT = 10
QUEUES = ("upload", "perso", "render", "default")


def speech_file(folder: Path) -> Path:
    sentences = ["Good morning, this is the first speaker.", "And here is a second voice answering."]
    parts = []
    for index, (voice, text) in enumerate(zip(("en", "en+f3"), sentences, strict=True)):
        part = folder / f"part{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(part), text], check=True)
        parts.append(part)
    target = folder / "dialogue.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(parts[0]),
            "-i",
            str(parts[1]),
            "-filter_complex",
            "[0:a]apad=pad_dur=0.8[a];[a][1:a]concat=n=2:v=0:a=1,apad=whole_dur=7[out]",
            "-map",
            "[out]",
            "-ar",
            "44100",
            str(target),
        ],
        check=True,
    )
    return target


def start_processes(environment: dict[str, str], data_dir: Path) -> list[subprocess.Popen]:
    processes = []
    for queue in QUEUES:
        command = [
            str(VENV_BIN / "celery"),
            "-A",
            "vibi",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@bench",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            "WARNING",
        ]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True))
    beat = [
        str(VENV_BIN / "celery"),
        "-A",
        "vibi",
        "beat",
        "--loglevel",
        "WARNING",
        "--schedule",
        str(data_dir / "beat-schedule"),
    ]
    processes.append(subprocess.Popen(beat, cwd=ROOT, env=environment, start_new_session=True))
    return processes


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    job_count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    recreate_database(DATABASE)
    folder = Path(tempfile.mkdtemp(prefix="e2e-bench-"))
    environment = bench_environment(DATABASE) | {
        "CELERY_REDIS_KEY_PREFIX": f"bench{os.getpid()}:",
        "PERSO_SIM_DATA_DIR": str(folder / "sim"),
        "PERSO_SIM_STEP_SEC": str(STEP_SEC),
        "PERSO_SIM_QUEUE_MAX": str(IN_FLIGHT),
        "PERSO_MAX_IN_FLIGHT": str(IN_FLIGHT),
        "POLL_TICK_SEC": "1",
    }
    setup_django(environment)
    from apps.accounts.models import User
    from apps.accounts.services import access_token_issue
    from apps.jobs.models import ExternalCall, Job, JobStatus

    user = User.objects.create(username="google:e2e", google_sub="e2e", email="e2e@x.test")
    token = access_token_issue(user=user).token
    audio = speech_file(folder)
    with gunicorn_server(environment, workers=2) as base:
        environment |= {
            "SIMULATOR_BASE_URL": base,
            "PERSO_API_BASE_URL": f"{base}/sim/perso",
            "PERSO_STORAGE_BASE_URL": f"{base}/sim/perso-storage",
        }
        processes = start_processes(environment, folder)
        try:
            started = time.monotonic()
            job_ids = []
            for index in range(job_count):
                spec = (
                    '{"mediaType":"AUDIO","numberOfSpeakers":2,"sourceLanguageCode":"auto",'
                    f'"trimStartMs":0,"trimEndMs":{6000 + index * 5},"editedRenderJobId":null}}'
                )
                with audio.open("rb") as handle:
                    response = requests.post(
                        f"{base}/api/v2/separate",
                        files={"file": ("separation.mp3", handle, "audio/mpeg")},
                        data={"spec": spec},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                response.raise_for_status()
                job_ids.append(response.json()["jobId"])
            submitted = time.monotonic() - started
            deadline = started + 1800
            while time.monotonic() < deadline:
                finished = Job.objects.filter(public_id__in=job_ids, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
                if finished.count() == len(job_ids):
                    break
                time.sleep(1)
            total = time.monotonic() - started
        finally:
            stop_processes(processes)
    jobs = Job.objects.filter(public_id__in=job_ids)
    succeeded = jobs.filter(status=JobStatus.SUCCEEDED).count()
    minimum = math.ceil(job_count / IN_FLIGHT) * 3 * STEP_SEC
    calls = ExternalCall.objects.filter(job__in=jobs, service="perso").count()
    print(
        f"{job_count} separation jobs, 1 worker per queue, simulator: {3 * STEP_SEC:.0f} s per project, "
        f"{IN_FLIGHT} in flight"
    )
    print(f"  submitted in {submitted:.1f} s; all finished in {total:.1f} s; succeeded {succeeded}/{job_count}")
    print(f"  simulator's own minimum {minimum:.0f} s; total / minimum = {total / minimum:.2f}")
    print(f"  Perso calls per job: {calls / job_count:.1f}")


if __name__ == "__main__":
    main()
