"""Redis restarts (keeping nothing) while accepted jobs sit in its queues with no worker running:
the messages are gone, the rows are not. The reconciler re-sends every job that stayed PENDING
past JOB_REDISPATCH_AFTER_SEC, and all of them complete."""

import pytest

from apps.jobs.models import Job, JobEvent, JobStatus
from tests.faults.conftest import describe, jobs_settled, subtitles_submit, timeline, wait_until

pytestmark = pytest.mark.worker

JOB_COUNT = 5
# Production waits 10 min before deciding a queued message was lost; 3 s here keeps the test short.
REDISPATCH_AFTER_SEC = 3


@pytest.fixture
def broker_url(own_redis) -> str:
    """This test's workers, beat and API all use the private redis-server."""
    return own_redis.url


def test_jobs_queued_when_redis_restarts_are_resent_and_complete(alice_client, own_redis, workers, speech_wav):
    job_ids = [subtitles_submit(alice_client, speech_wav) for _ in range(JOB_COUNT)]
    assert own_redis.keys() > 0  # the first stages' messages wait in the queue

    own_redis.kill()  # SIGKILL; no RDB, no AOF: everything queued is lost
    own_redis.start()
    assert own_redis.keys() == 0
    pending = list(Job.objects.filter(public_id__in=job_ids))
    assert all(job.status == JobStatus.PENDING for job in pending), describe(pending)

    fleet = {"JOB_REDISPATCH_AFTER_SEC": REDISPATCH_AFTER_SEC, "PERSO_MAX_IN_FLIGHT": JOB_COUNT}
    workers.worker("all", "upload,perso,gemini,default", concurrency=2, **fleet)
    workers.beat(**fleet)
    wait_until(lambda: jobs_settled(job_ids), timeout=90, what="every job to finish after the restart", every=0.5)

    jobs = list(Job.objects.filter(public_id__in=job_ids))
    assert all(job.status == JobStatus.SUCCEEDED for job in jobs), describe(jobs)
    for job in jobs:
        events = timeline(job)
        # The first stage's message was lost: the reconciler, not the original send, started it.
        first_redispatch = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.REDISPATCH).order_by("at").first()
        assert first_redispatch is not None, events
        assert first_redispatch.stage == "upload"
        assert first_redispatch.message == "re-sent upload: queued message lost"
        first_start = JobEvent.objects.filter(job=job, message__startswith="started upload").order_by("at").first()
        assert first_start.at > first_redispatch.at
        assert events.count(JobEvent.Kind.SUCCEEDED) == 1
        body = alice_client.get(f"/api/v2/subtitles/{job.public_id}").json()
        assert body["status"] == "READY", body
