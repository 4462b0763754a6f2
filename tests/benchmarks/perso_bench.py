"""Perso call economy and worker slots: one job of T seconds of simulated Perso processing, and
WAITING_JOBS (default 200) jobs waiting on Perso at once, against the simulator on a local gunicorn.

Run: .venv/bin/python tests/benchmarks/perso_bench.py [T_seconds]   (needs Postgres, Redis, ffmpeg, espeak-ng)
Goals: calls = upload (validate + SAS + PUT + register) + 1 submit (+ 1 queue init + the refused
first submit, once per space) + about T/5 polls + downloads; 0 worker slots held while jobs wait.
"""

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_environment, gunicorn_server, recreate_database, setup_django

DATABASE = "vibi_bench_perso"
WAITING_JOBS = int(os.environ.get("PERSO_BENCH_WAITING_JOBS", "200"))


def speech_file(folder: Path) -> Path:
    target = folder / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-s", "150", "-w", str(target), "Hello there. This is a benchmark of the Perso client."],
        check=True,
    )
    padded = folder / "speech-padded.wav"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(target), "-af", "apad=whole_dur=8", str(padded)], check=True
    )
    return padded


def category(endpoint: str) -> str:
    for part, name in (
        ("/media/validate", "upload"),
        ("/sas-token", "upload"),
        ("blob:", "upload"),
        ("/file/api/upload/", "upload"),
        ("/queue", "queue init"),
        ("/progress", "poll"),
        ("/stt/script", "download"),
        ("storage:", "download"),
        ("/download", "download"),
    ):
        if part in endpoint:
            return name
    if endpoint.endswith(("/stt", "/translate", "/audio-separation")):
        return "submit"
    return endpoint


def running_job(owner):
    from apps.jobs.services import job_claim, job_create

    job, _ = job_create(kind="subtitles", owner=owner, spec={}, first_stage=None)
    return job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)


def one_job(owner, media_path: Path, processing_sec: float) -> None:
    from django.utils import timezone

    from apps.jobs.models import ExternalCall, Job, JobStatus
    from apps.observability.context import current_job_id
    from apps.perso.outputs import perso_stt_sentences
    from apps.perso.polling import poll_due_jobs
    from apps.perso.submits import perso_submit_project
    from apps.perso.uploads import perso_upload_media

    job = running_job(owner)
    token = current_job_id.set(job.pk)
    try:
        media_seq = perso_upload_media(local_path=media_path, file_name="bench.wav", media_type="audio")
    finally:
        current_job_id.reset(token)
    submitted = time.monotonic()
    perso_submit_project(job=job, kind="stt", media_seq=media_seq, on_complete_stage="bench_done")
    while True:  # what beat does, at a 1 s tick
        poll_due_jobs()
        job.refresh_from_db()
        if job.status != JobStatus.WAITING:
            break
        time.sleep(1.0)
    waited = time.monotonic() - submitted
    token = current_job_id.set(job.pk)
    try:
        sentences = perso_stt_sentences(project_seq=job.upstream["persoProjectSeq"])
    finally:
        current_job_id.reset(token)
    counts = Counter(category(e) for e in ExternalCall.objects.filter(job=job).values_list("endpoint", flat=True))
    print(f"one STT job, T = {processing_sec:.0f} s of simulated Perso processing (waited {waited:.1f} s)")
    print(f"  job ended {job.status} at stage {job.stage!r}; {len(sentences)} sentences read")
    for name in ("upload", "queue init", "submit", "poll", "download"):
        print(f"  {name:<11} {counts.get(name, 0)}")
    print(f"  total       {sum(counts.values())}  (T/5 = {processing_sec / 5:.0f})")
    Job.objects.filter(pk=job.pk).update(next_poll_at=None, updated_at=timezone.now())


def many_waiting(owner, media_path: Path) -> None:
    from django.conf import settings
    from django.utils import timezone

    from apps.jobs.models import ExternalCall, Job, JobStatus
    from apps.perso.polling import poll_due_jobs
    from apps.perso.submits import perso_submit_project
    from apps.perso.uploads import perso_upload_media

    settings.PERSO_MAX_IN_FLIGHT = WAITING_JOBS
    media_seq = perso_upload_media(local_path=media_path, file_name="bench.wav", media_type="audio", validate=False)
    started = time.monotonic()
    jobs = [running_job(owner) for _ in range(WAITING_JOBS)]
    for job in jobs:
        perso_submit_project(job=job, kind="stt", media_seq=media_seq, on_complete_stage="bench_done")
    submit_sec = time.monotonic() - started
    waiting = Job.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.WAITING).count()
    processing = Job.objects.filter(status=JobStatus.PROCESSING).count()
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    before = ExternalCall.objects.filter(endpoint__endswith="/progress").count()
    tick_started = time.monotonic()
    handled = poll_due_jobs(limit=WAITING_JOBS)
    tick_sec = time.monotonic() - tick_started
    polls = ExternalCall.objects.filter(endpoint__endswith="/progress").count() - before
    print(f"{WAITING_JOBS} jobs waiting on Perso (submitted in {submit_sec:.1f} s)")
    print(f"  jobs WAITING: {waiting}; jobs PROCESSING (worker slots held): {processing}")
    print(f"  one poll tick over all of them: {handled} jobs, {polls} progress calls, {tick_sec:.2f} s")


def main() -> None:
    processing_sec = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    recreate_database(DATABASE)
    environment = bench_environment(DATABASE)
    folder = Path(tempfile.mkdtemp(prefix="perso-bench-"))
    environment.update(
        PERSO_SIM_DATA_DIR=str(folder / "sim"),
        PERSO_SIM_STEP_SEC=str(processing_sec / 3),  # an STT project has three stages
        PERSO_SIM_QUEUE_MAX="500",
        PERSO_MAX_IN_FLIGHT="500",
    )
    with gunicorn_server(environment, workers=2) as base:
        environment.update(PERSO_API_BASE_URL=f"{base}/sim/perso", PERSO_STORAGE_BASE_URL=f"{base}/sim/perso-storage")
        os.environ.update(environment)
        setup_django(environment)
        from apps.accounts.models import User
        from apps.jobs.stages import STAGE_TASKS

        STAGE_TASKS[("subtitles", "bench_done")] = "workers.housekeeping.reconcile_jobs_task"
        owner = User.objects.create(username="google:bench", google_sub="bench", email="bench@x.test")
        media_path = speech_file(folder)
        one_job(owner, media_path, processing_sec)
        many_waiting(owner, media_path)


if __name__ == "__main__":
    main()
