"""Every client flow completes against the doc-only fake (tests/perso/doc_fake.py), which sends
nothing the Perso documentation does not show: the three-step upload with a 403 SAS re-issue, queue
init, STT, translation, separation, polling to COMPLETED and FAILED, download-info and a download per
target, delete."""

import threading
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.jobs import stages
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_cancel, job_claim, job_create
from apps.perso.client import PersoClient
from apps.perso.outputs import (
    TARGET_READY_FLAGS,
    perso_download_background,
    perso_download_original_voice,
    perso_download_speaker_archive,
    perso_download_target,
    perso_stt_sentences,
    perso_translation_script,
)
from apps.perso.polling import poll_due_jobs
from apps.perso.project_cleanup import perso_job_projects_delete
from apps.perso.submits import perso_submit_project
from apps.perso.uploads import perso_upload_media
from tests.perso.doc_fake import API_KEY, TARGET_FIELDS, DocFake

pytestmark = pytest.mark.django_db
DONE_STAGE = "doc_fake_done"


@pytest.fixture
def doc_fake(settings, monkeypatch):
    fake = DocFake.start()
    settings.PERSO_API_BASE_URL = fake.api_base
    settings.PERSO_STORAGE_BASE_URL = fake.file_base
    settings.PERSO_API_KEY = API_KEY
    settings.PERSO_SPACE_SEQ = 1
    settings.PERSO_DOWNLOAD_ALLOWED_HOSTS = []  # the file base's host only
    settings.PERSO_RETRY_BASE_MS = 20
    settings.PERSO_STORAGE_READY_WAIT_SEC = 0
    settings.PERSO_POLL_FIRST_DELAY_SEC = 0
    settings.PERSO_POLL_MIN_INTERVAL_SEC = fake.state.poll_floor_sec
    settings.LANGUAGES_CACHE_SEC = 0
    monkeypatch.setitem(stages.STAGE_TASKS, ("subtitles", DONE_STAGE), "workers.perso.poll_due_jobs_task")
    yield fake
    fake.stop()
    assert fake.state.polls_too_soon == 0  # the client kept the documented polling floor


def _upload(path, *, media_type: str = "audio") -> int:
    return perso_upload_media(local_path=path, file_name=path.name, media_type=media_type)


def _finished_job(owner, fake: DocFake, **submit) -> Job:
    """Submits through the service and drives the durable poller until Perso is done with the job."""
    job, _ = job_create(kind="subtitles", owner=owner, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    perso_submit_project(job=job, on_complete_stage=DONE_STAGE, **submit)
    for _ in range(40):
        job.refresh_from_db()
        if job.status != JobStatus.WAITING:
            return job
        threading.Event().wait(fake.state.poll_floor_sec / 2)
        Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
        poll_due_jobs()
    raise AssertionError(f"the job did not finish: {job.upstream}")


def test_three_step_upload_with_a_sas_re_issue(doc_fake, speech_wav):
    doc_fake.state.expire_next_sas = 1

    media_seq = _upload(speech_wav)

    assert media_seq == 456
    calls = [call for call in doc_fake.state.requests if "/upload/" in call[1] or call[1].startswith("/files/")]
    assert [(method, path.split("/")[-1] if method == "PUT" else path) for method, path in calls][:1] == [
        ("GET", "/api/file/api/upload/sas-token")
    ]
    assert [method for method, _ in calls] == ["GET", "PUT", "GET", "PUT", "PUT"]  # SAS, 403, SAS, 201, register
    assert doc_fake.state.media[media_seq]["blob"].startswith("/files/container/")


def test_stt_polls_to_completed_and_reads_the_script(doc_fake, speech_wav, alice):
    job = _finished_job(alice, doc_fake, kind="stt", media_seq=_upload(speech_wav))

    assert (job.status, job.stage) == (JobStatus.PENDING, DONE_STAGE)
    assert ("PUT", "/api/video-translator/api/v1/projects/spaces/1/queue") in doc_fake.state.requests
    sentences = perso_stt_sentences(project_seq=job.upstream["persoProjectSeq"])
    assert [sentence.text for sentence in sentences] == ["Hello, world!"]


def test_translation_to_two_languages_and_the_queue_initialised_again(doc_fake, speech_wav, alice, tmp_path):
    media_seq = _upload(speech_wav)
    doc_fake.state.queue_ready = False  # cached as initialised, but the space lost its queue
    _finished_job(alice, doc_fake, kind="stt", media_seq=media_seq)  # initialises and caches the queue
    doc_fake.state.queue_ready = False

    job = _finished_job(
        alice,
        doc_fake,
        kind="translate",
        media_seq=media_seq,
        source_language="en",
        target_languages=[{"code": "ko"}, {"code": "ja"}],
    )

    assert job.stage == DONE_STAGE and len(job.upstream["persoProjectSeqs"]) == 2
    queue_inits = [call for call in doc_fake.state.requests if call[1].endswith("/queue")]
    assert len(queue_inits) == 2  # once for the space, once more after 'space queue not found'
    assert doc_fake.state.submits == 3  # stt, the refused translate, the translate
    project_seq = job.upstream["persoProjectSeq"]
    dubbed = perso_download_target(project_seq=project_seq, target="translatedAudio", dest=tmp_path / "dub.wav")
    assert dubbed.read_bytes() == speech_wav.read_bytes()
    script = perso_translation_script(project_seq=project_seq)
    assert [sentence.translated_text for sentence in script.sentences] == ["..."]


def test_separation_gives_speakers_background_and_voice(doc_fake, speech_wav, alice, tmp_path):
    job = _finished_job(alice, doc_fake, kind="separation", media_seq=_upload(speech_wav))
    project_seq = job.upstream["persoProjectSeq"]

    archive = perso_download_speaker_archive(project_seq=project_seq, dest=tmp_path / "speakers.archive")
    background = perso_download_background(project_seq=project_seq, dest=tmp_path / "background.wav")
    voice = perso_download_original_voice(project_seq=project_seq, dest=tmp_path / "voice.wav")

    assert zipfile.is_zipfile(archive)
    assert background.read_bytes() == voice.read_bytes() == speech_wav.read_bytes()
    assert any("target" not in path and path.endswith("/download") for _, path in doc_fake.state.requests)


def test_a_failed_project_fails_the_job(doc_fake, speech_wav, alice):
    doc_fake.state.fail_next_project = True

    job = _finished_job(alice, doc_fake, kind="stt", media_seq=_upload(speech_wav))

    assert (job.status, job.error_code) == (JobStatus.FAILED, "perso_failed")


def test_download_info_then_a_download_per_available_target(doc_fake, make_media, alice, tmp_path):
    video = make_media("clip.mp4", seconds=6, video=True)
    job = _finished_job(
        alice,
        doc_fake,
        kind="translate",
        media_seq=_upload(video, media_type="video"),
        is_video=True,
        source_language="auto",
        target_languages=[{"code": "ko"}],
    )
    project_seq = job.upstream["persoProjectSeq"]
    flags = PersoClient().download_info(project_seq)
    available = [
        target
        for target in TARGET_FIELDS
        if TARGET_READY_FLAGS.get(target) is None or flags.has(TARGET_READY_FLAGS[target])
    ]

    for target in available:
        perso_download_target(project_seq=project_seq, target=target, dest=tmp_path / target)

    assert {"dubbingVideo", "translatedAudio", "backgroundAudio", "translatedSubtitle", "all"} <= set(available)
    assert (tmp_path / "dubbingVideo").read_bytes() == video.read_bytes()
    assert zipfile.is_zipfile(tmp_path / "all")


def test_a_cancelled_job_deletes_its_project(doc_fake, speech_wav, alice):
    doc_fake.state.step_sec = 60
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    perso_submit_project(job=job, kind="stt", media_seq=_upload(speech_wav), on_complete_stage=DONE_STAGE)
    job_cancel(job=job)

    assert perso_job_projects_delete(job=Job.objects.get(pk=job.pk)) is True
    assert doc_fake.live_projects() == 0 and doc_fake.state.deletes == 1
