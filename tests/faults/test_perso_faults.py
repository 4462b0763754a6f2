"""Perso misbehaving: 20% of its API answers are 500s and 429 bursts come and go while the jobs run →
every job still completes (client retries, stage retries, polls again later) and each is submitted once. A
permanent failure (no credits, a failed project) ends the job FAILED with a clear code at once:
at the submit, or at the first poll that sees the project failed."""

import threading

import pytest

from apps.jobs.models import ExternalCall, Job, JobEvent, JobStatus
from tests.faults.conftest import describe, jobs_settled, subtitles_submit, timeline, wait_until

pytestmark = pytest.mark.worker

JOB_COUNT = 10
FLEET = {"PERSO_MAX_IN_FLIGHT": JOB_COUNT}
# Bursts come while the jobs are in flight, then stop. Bursts set for ever would end up aimed at the
# last job alone: each of its stage attempts meets a fresh burst (plus a 500 now and then) and waits
# out a 5-30 s stage backoff, until its fifth attempt fails the job — a storm longer than the
# retry budget promises to ride out, not the transient fault this test is about.
BURSTS = 3
BURST_EVERY_SEC = 3.0
BURST_SIZE = 3  # the client makes 4 attempts, so one call can ride out a whole burst


def _start_fleet(workers) -> None:
    workers.worker("all", "upload,perso,gemini,default", concurrency=2, **FLEET)
    workers.beat(**FLEET)


def _perso_calls(job: Job, *, endpoint_suffix: str, ok: bool | None = None):
    calls = ExternalCall.objects.filter(job=job, service="perso", endpoint__endswith=endpoint_suffix)
    if ok is not None:
        calls = calls.filter(status_code__lt=300) if ok else calls.exclude(status_code__lt=300)
    return calls


def test_jobs_complete_through_transient_500s_and_429_bursts(alice_client, workers, perso_sim, speech_wav):
    perso_sim.control(transient_500_rate=0.2, retry_after_sec=1, queue_max=JOB_COUNT + 5)
    _start_fleet(workers)
    stop_bursts = threading.Event()

    def bursts() -> None:
        for _ in range(BURSTS):
            if stop_bursts.wait(BURST_EVERY_SEC):
                return
            perso_sim.control(rate_limit_burst=BURST_SIZE)

    burster = threading.Thread(target=bursts, daemon=True)
    burster.start()
    try:
        job_ids = [subtitles_submit(alice_client, speech_wav) for _ in range(JOB_COUNT)]
        try:
            wait_until(lambda: jobs_settled(job_ids), timeout=120, what="every job to finish", every=0.5)
        except TimeoutError:
            print(describe(Job.objects.filter(public_id__in=job_ids)))
            raise
    finally:
        stop_bursts.set()
        burster.join(timeout=10)
        perso_sim.control(transient_500_rate=0.0, rate_limit_burst=0)

    jobs = list(Job.objects.filter(public_id__in=job_ids))
    assert all(job.status == JobStatus.SUCCEEDED for job in jobs), describe(jobs)
    calls = ExternalCall.objects.filter(job__in=jobs, service="perso")
    # The faults really happened, on these jobs' calls.
    assert calls.filter(status_code=500).count() >= 5
    assert calls.filter(status_code=429).exists()
    for job in jobs:
        assert _perso_calls(job, endpoint_suffix="/stt", ok=True).count() == 1, job.public_id
        assert timeline(job).count(JobEvent.Kind.SUCCEEDED) == 1
        body = alice_client.get(f"/api/v2/subtitles/{job.public_id}").json()
        assert body["status"] == "READY" and body["originalSrtUrl"], body


def test_permanent_perso_failures_fail_the_job_with_a_clear_code_at_once(alice_client, workers, perso_sim, speech_wav):
    _start_fleet(workers)

    # A project Perso fails: the first poll that sees it ends the job.
    perso_sim.control(project_fail_at_percent=1)
    failed_project_id = subtitles_submit(alice_client, speech_wav)
    wait_until(lambda: jobs_settled([failed_project_id]), timeout=60, what="the failed project's job to end")
    job = Job.objects.get(public_id=failed_project_id)
    assert job.status == JobStatus.FAILED and job.error_code == "perso_failed", describe([job])
    assert job.progress_reason.startswith("Perso reported failure")
    assert _perso_calls(job, endpoint_suffix="/progress").count() == 1  # within one poll
    body = alice_client.get(f"/api/v2/subtitles/{failed_project_id}").json()
    assert body["status"] == "FAILED" and body["error"].startswith("Perso reported failure"), body

    # No credits left: Perso refuses the submit (402 VT4021); nothing is polled, nothing retried.
    perso_sim.control(project_fail_at_percent=None, credits_exhausted=True)
    no_credits_id = subtitles_submit(alice_client, speech_wav)
    wait_until(lambda: jobs_settled([no_credits_id]), timeout=60, what="the job without credits to end")
    job = Job.objects.get(public_id=no_credits_id)
    assert job.status == JobStatus.FAILED and job.error_code == "insufficient_credits", describe([job])
    assert job.failed_stage == "submit"
    refused = _perso_calls(job, endpoint_suffix="/stt")
    assert [(call.status_code, call.error_code) for call in refused] == [(402, "VT4021")]
    assert not _perso_calls(job, endpoint_suffix="/progress").exists()
    assert JobEvent.Kind.RETRY not in timeline(job)
    body = alice_client.get(f"/api/v2/subtitles/{no_credits_id}").json()
    assert body["status"] == "FAILED" and "credits" in body["error"], body
