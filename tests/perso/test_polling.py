"""Submitting Perso projects and the beat poller, against Postgres and the simulator over HTTP."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.errors import JobFailure
from apps.jobs import stages
from apps.jobs.models import ExternalCall, Job, JobStatus
from apps.jobs.services import JobLost, job_claim, job_create
from apps.perso.polling import next_poll_delay_sec, poll_due_jobs
from apps.perso.submits import perso_submit_project, perso_try_submit
from apps.perso.uploads import perso_upload_media
from tests.conftest import TEST_POLL_FLOOR_SEC

DONE_STAGE = "perso_test_done"


@pytest.fixture
def done_stage(monkeypatch):
    """A stage to advance to when Perso completes (only for these tests)."""
    monkeypatch.setitem(stages.STAGE_TASKS, ("subtitles", DONE_STAGE), "workers.perso.poll_due_jobs_task")
    return DONE_STAGE


def _running_job(owner) -> Job:
    job, _ = job_create(kind="subtitles", owner=owner, spec={}, first_stage=None)
    claimed = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    assert claimed is not None
    return claimed


def _submit(job: Job, media_seq: int, **options) -> Job:
    perso_submit_project(
        job=job, kind="stt", media_seq=media_seq, on_complete_stage=DONE_STAGE, progress_span=(10, 80), **options
    )
    job.refresh_from_db()
    return job


def _make_due(*jobs: Job) -> None:
    """Time passes: the next poll of these jobs is due now."""
    Job.objects.filter(pk__in=[job.pk for job in jobs]).update(next_poll_at=timezone.now() - timedelta(seconds=1))


def _progress_calls(job: Job) -> int:
    return ExternalCall.objects.filter(service="perso", endpoint__endswith="/progress", job=job).count()


@pytest.fixture
def media_seq(perso_sim, speech_wav) -> int:
    return perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)


@pytest.mark.django_db
def test_submit_initialises_the_queue_and_hands_the_job_to_the_poller(alice, media_seq, done_stage):
    before = timezone.now()
    job = _submit(_running_job(alice), media_seq)

    assert job.status == JobStatus.WAITING
    assert job.upstream["persoProjectSeq"] > 0
    assert job.upstream["onCompleteStage"] == DONE_STAGE
    assert job.next_poll_at >= before + timedelta(seconds=5)
    endpoints = list(ExternalCall.objects.filter(service="perso", job=job).values_list("endpoint", "status_code"))
    # The documented order: the queue is initialised before the space's first submit.
    assert [e for e in endpoints if e[0].endswith("/stt") or e[0].endswith("/queue")] == [
        ("/video-translator/api/v1/projects/spaces/1/queue", 200),
        ("/video-translator/api/v1/projects/spaces/1/stt", 201),
    ]


@pytest.mark.django_db
def test_the_queue_is_initialised_once_per_space_and_again_on_queue_not_found(alice, media_seq, done_stage, perso_sim):
    _submit(_running_job(alice), media_seq)
    _submit(_running_job(alice), media_seq)
    assert perso_sim.counters()["queueInits"] == 1  # cached: once per space

    perso_sim.control(queue_initialised=False)  # the space lost its queue upstream
    job = _submit(_running_job(alice), media_seq)

    assert job.status == JobStatus.WAITING
    assert perso_sim.counters()["queueInits"] == 2
    statuses = [call.status_code for call in ExternalCall.objects.filter(job=job, endpoint__regex=r"/(stt|queue)$")]
    assert statuses == [404, 200, 201]


@pytest.mark.django_db
def test_poller_maps_progress_backs_off_and_advances_on_completion(alice, media_seq, done_stage, perso_sim):
    perso_sim.control(step_sec=1.0)
    job = _submit(_running_job(alice), media_seq)

    polls = 0
    while True:
        _make_due(job)
        polled_at = timezone.now()
        assert poll_due_jobs() == 1
        polls += 1
        job.refresh_from_db()
        if job.status != JobStatus.WAITING:
            break
        assert job.next_poll_at >= polled_at + timedelta(seconds=5)  # never sooner than 5 s
        assert 10 <= job.progress <= 80
        assert job.progress_reason in ("Enqueue Pending", "Uploading", "Transcribing")
        assert polls < 200
        threading.Event().wait(TEST_POLL_FLOOR_SEC)

    assert job.status == JobStatus.PENDING and job.stage == DONE_STAGE
    assert job.progress == 80
    assert _progress_calls(job) == polls


def test_backoff_grows_from_five_seconds_to_the_cap(settings):
    settings.PERSO_POLL_MAX_INTERVAL_SEC = 30
    delays = [next_poll_delay_sec(unchanged_polls=n) for n in range(8)]
    assert delays[0] == 5
    assert delays == sorted(delays) and min(delays) >= 5 and max(delays) == 30


@pytest.mark.django_db
@pytest.mark.parametrize("fail_mode", ["hasFailed", "reasonOnly"])
def test_perso_failure_fails_the_job_with_a_code(alice, media_seq, done_stage, perso_sim, fail_mode):
    perso_sim.control(project_fail_at_percent=30, fail_mode=fail_mode)
    job = _submit(_running_job(alice), media_seq)
    threading.Event().wait(0.5)

    _make_due(job)
    poll_due_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_code == "perso_failed"
    assert job.error_detail.startswith("Perso reported failure")


@pytest.mark.django_db
def test_a_job_past_its_deadline_fails_as_timed_out(alice, media_seq, done_stage, perso_sim):
    perso_sim.control(step_sec=60)
    job = _submit(_running_job(alice), media_seq)
    Job.objects.filter(pk=job.pk).update(poll_deadline_at=timezone.now() - timedelta(seconds=1))
    _make_due(job)

    poll_due_jobs()

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "perso_timeout")
    assert _progress_calls(job) == 0


@pytest.mark.django_db
def test_insufficient_credits_fail_the_submit(alice, media_seq, done_stage, perso_sim):
    perso_sim.control(credits_exhausted=True, queue_initialised=True)
    with pytest.raises(JobFailure) as raised:
        _submit(_running_job(alice), media_seq)
    assert raised.value.code == "insufficient_credits"


@pytest.mark.django_db
def test_our_in_flight_cap_queues_the_job_until_a_slot_frees(alice, media_seq, done_stage, perso_sim, settings):
    settings.PERSO_MAX_IN_FLIGHT = 1
    first = _submit(_running_job(alice), media_seq)
    second = _submit(_running_job(alice), media_seq)

    assert second.status == JobStatus.WAITING
    assert (second.upstream["persoState"], second.progress_reason) == ("queued", "Queued")
    assert "persoProjectSeq" not in second.upstream

    while first.status == JobStatus.WAITING:  # the first completes and frees its slot
        threading.Event().wait(0.2)
        _make_due(first)
        poll_due_jobs()
        first.refresh_from_db()
    _make_due(second)
    poll_due_jobs()

    second.refresh_from_db()
    assert second.upstream["persoState"] == "processing" and second.upstream["persoProjectSeq"] > 0


@pytest.mark.django_db
def test_perso_queue_full_waits_instead_of_failing(alice, media_seq, done_stage, perso_sim):
    perso_sim.control(queue_max=1, queue_initialised=True, step_sec=60)
    _submit(_running_job(alice), media_seq)
    second = _submit(_running_job(alice), media_seq)

    assert second.status == JobStatus.WAITING
    assert second.upstream["persoQueuedReason"] == "Perso queue full (VT5034)"
    assert second.next_poll_at >= timezone.now() + timedelta(seconds=4)


@pytest.mark.django_db(transaction=True)
def test_two_pollers_never_poll_the_same_job_twice(alice, media_seq, done_stage, perso_sim, settings):
    settings.PERSO_MAX_IN_FLIGHT = 50
    perso_sim.control(step_sec=60, queue_max=50)
    jobs = [_submit(_running_job(alice), media_seq) for _ in range(12)]
    _make_due(*jobs)
    handled = []

    def poller():
        try:
            handled.append(poll_due_jobs())
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(handled) == 12
    assert [_progress_calls(job) for job in jobs] == [1] * 12


@pytest.mark.django_db(transaction=True)
def test_a_new_poller_resumes_from_the_database(alice, media_seq, done_stage, perso_sim):
    job = _submit(_running_job(alice), media_seq)
    threading.Event().wait(1.0)  # the simulated project completes meanwhile
    _make_due(job)

    def fresh_poller():  # another thread: its own connection, nothing shared but the database
        try:
            poll_due_jobs()
        finally:
            connection.close()

    thread = threading.Thread(target=fresh_poller)
    thread.start()
    thread.join(timeout=60)

    job.refresh_from_db()
    assert (job.status, job.stage) == (JobStatus.PENDING, DONE_STAGE)


def _polled_once(job: Job) -> Job:
    _make_due(job)
    poll_due_jobs()
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_poll_never_comes_sooner_than_the_floor_after_the_last(alice, media_seq, done_stage, perso_sim, settings):
    settings.PERSO_POLL_MIN_INTERVAL_SEC = 5
    settings.PERSO_SIM_POLL_MIN_INTERVAL_SEC = 5
    perso_sim.control(step_sec=60)
    job = _polled_once(_submit(_running_job(alice), media_seq))
    last_poll_at = datetime.fromisoformat(job.upstream["persoLastPollAt"])

    job = _polled_once(job)  # due again at once (e.g. another worker's stale schedule)

    assert _progress_calls(job) == 1
    assert job.next_poll_at == last_poll_at + timedelta(seconds=5)
    assert perso_sim.counters()["pollsTooSoon"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "code"), [(404, "VT4041"), (403, "VT4031"), (409, "VT4091"), (400, "")])
def test_a_4xx_poll_answer_ends_the_job_with_the_upstream_code(alice, media_seq, done_stage, perso_sim, status, code):
    job = _submit(_running_job(alice), media_seq)
    perso_sim.control(fail_next=[{"match": "/progress", "status": status, "code": code}])

    job = _polled_once(job)

    assert job.status == JobStatus.FAILED
    assert job.error_code == f"perso_{code or status}"
    assert str(status) in job.error_detail


@pytest.mark.django_db
def test_a_rate_limited_poll_waits_for_retry_after(alice, media_seq, done_stage, perso_sim):
    job = _submit(_running_job(alice), media_seq)
    perso_sim.control(rate_limit_burst=1, retry_after_sec=40)
    before = timezone.now()

    job = _polled_once(job)

    assert job.status == JobStatus.WAITING
    assert job.next_poll_at >= before + timedelta(seconds=40)
    assert _progress_calls(job) == 1


def _delays_of_polls(job: Job, *, polls: int) -> tuple[Job, list[int]]:
    """Polls the job `polls` times, each as soon as the floor allows; the seconds until each next poll."""
    delays = []
    for _ in range(polls):
        Job.objects.filter(pk=job.pk).update(upstream={**job.upstream, "persoLastPollAt": None})
        job.refresh_from_db()
        before = timezone.now()
        job = _polled_once(job)
        delays.append(round((job.next_poll_at - before).total_seconds()))
    return job, delays


@pytest.mark.django_db
def test_repeated_rate_limits_follow_retry_after_and_do_not_escalate(alice, media_seq, done_stage, perso_sim, settings):
    """Found by the chaos run: every poll landing in a short 429 burst pushed the next one further
    (up to the 120 s cap) although Perso asked for 1 s; jobs then missed their deadline."""
    settings.PERSO_POLL_MIN_INTERVAL_SEC = 5
    job = _submit(_running_job(alice), media_seq)
    perso_sim.control(rate_limit_burst=4, retry_after_sec=1)
    job, delays = _delays_of_polls(job, polls=4)

    assert job.status == JobStatus.WAITING
    assert delays == [5, 5, 5, 5]


@pytest.mark.django_db
def test_5xx_polls_back_off_doubling_up_to_the_cap(alice, media_seq, done_stage, perso_sim, settings):
    settings.PERSO_POLL_MIN_INTERVAL_SEC = 5
    settings.PERSO_POLL_ERROR_MAX_INTERVAL_SEC = 15
    job = _submit(_running_job(alice), media_seq)
    perso_sim.control(fail_next=[{"match": "/progress", "status": 503, "code": "", "times": 4}])
    job, delays = _delays_of_polls(job, polls=4)

    assert job.status == JobStatus.WAITING
    assert delays == [5, 10, 15, 15]
    assert _progress_calls(job) == 4


@pytest.mark.django_db
def test_a_job_left_submitting_adopts_the_project_its_submit_made(alice, media_seq, done_stage, perso_sim):
    job = _submit(_running_job(alice), media_seq)
    made = job.upstream["persoProjectSeqs"]
    # As if the worker died between Perso's answer and writing it down.
    lost = {k: v for k, v in job.upstream.items() if k not in ("persoProjectSeq", "persoProjectSeqs")}
    Job.objects.filter(pk=job.pk).update(upstream={**lost, "persoState": "submitting"})

    job = _polled_once(Job.objects.get(pk=job.pk))

    assert job.status == JobStatus.WAITING
    assert (job.upstream["persoState"], job.upstream["persoProjectSeqs"]) == ("processing", made)
    assert perso_sim.counters()["projectsCreated"] == 1


@pytest.mark.django_db
def test_a_job_left_submitting_without_a_project_is_submitted_again(alice, media_seq, done_stage, perso_sim, settings):
    settings.PERSO_MAX_IN_FLIGHT = 1
    first = _submit(_running_job(alice), media_seq)
    second = _submit(_running_job(alice), media_seq)  # queued behind our cap: never sent
    assert "persoProjectSeq" not in second.upstream
    Job.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)  # frees the slot
    Job.objects.filter(pk=second.pk).update(upstream={**second.upstream, "persoState": "submitting"})

    second = _polled_once(Job.objects.get(pk=second.pk))

    assert second.upstream["persoState"] == "processing" and second.upstream["persoProjectSeq"] > 0
    counters = perso_sim.counters()
    assert (counters["submits"], counters["projectsCreated"]) == (2, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("slots_after", [2, 3])
def test_a_queued_job_taken_by_two_pollers_is_submitted_once(
    alice, media_seq, done_stage, perso_sim, settings, slots_after
):
    """A freed slot's wake makes the oldest queued jobs due, also one a poller is submitting right
    then: a second poller then holds a stale copy of it. Its attempt must neither submit again (a free
    slot) nor queue the job over the first submit (no slot), which would lose the project and pay twice."""
    settings.PERSO_MAX_IN_FLIGHT = 1
    _submit(_running_job(alice), media_seq)
    second = _submit(_running_job(alice), media_seq)
    stale = Job.objects.get(pk=second.pk)
    assert stale.upstream["persoState"] == "queued"

    settings.PERSO_MAX_IN_FLIGHT = slots_after
    perso_try_submit(job=second)
    second.refresh_from_db()
    project_seq = second.upstream["persoProjectSeq"]
    with pytest.raises(JobLost):
        perso_try_submit(job=stale)

    second.refresh_from_db()
    assert (second.upstream["persoState"], second.upstream["persoProjectSeq"]) == ("processing", project_seq)
    assert perso_sim.counters()["projectsCreated"] == 2
