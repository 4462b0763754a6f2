"""Autodub API without a worker: bad input, status shapes, signed downloads, IDOR."""

import time
from io import BytesIO

import pytest
from rest_framework.test import APIClient

from apps.core.signing import sign_token
from apps.core.storage import job_file_key, storage_save_stream
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id
from tests.subtitles.conftest import body_bytes, finished_render, submit
from tests.support.jobs import finished_job

pytestmark = pytest.mark.django_db

GOOD_SPEC = {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ko"}


@pytest.fixture
def tone(make_media):
    return make_media("tone.mp3", seconds=6)


@pytest.mark.parametrize(
    "spec, code",
    [
        (None, "spec_required"),
        ("nope", "invalid_spec"),
        ({**GOOD_SPEC, "mediaType": "GIF"}, "invalid_media_type"),
        ({**GOOD_SPEC, "sourceLanguageCode": ""}, "source_language_required"),
        ({**GOOD_SPEC, "targetLanguageCode": None}, "target_language_required"),
        ({**GOOD_SPEC, "targetLanguageCode": "en"}, "same_language"),
        ({**GOOD_SPEC, "targetLanguageCode": "EN-us"}, "same_language"),
        ({**GOOD_SPEC, "targetLanguageCode": "korean!"}, "unsupported_language"),
        ({**GOOD_SPEC, "ttsModel": "eleven v2; drop"}, "invalid_tts_model"),
        ({**GOOD_SPEC, "numberOfSpeakers": 0}, "invalid_number_of_speakers"),
    ],
)
def test_bad_specs_are_400_with_codes(alice_client, tone, spec, code):
    response = submit(alice_client, "/api/v2/autodub", file_path=tone, spec=spec)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert not Job.objects.exists()


def test_same_language_message_is_the_contracts(alice_client, tone):
    response = submit(alice_client, "/api/v2/autodub", file_path=tone, spec={**GOOD_SPEC, "targetLanguageCode": "en"})

    assert response.json()["detail"] == "targetLanguageCode must differ from sourceLanguageCode for auto dubbing"


def test_a_valid_submit_is_202_with_a_dub_id(alice_client, tone):
    spec = {**GOOD_SPEC, "numberOfSpeakers": None, "ttsModel": "eleven_v2", "editedRenderJobId": None, "extra": True}
    response = submit(alice_client, "/api/v2/autodub", file_path=tone, spec=spec)

    assert response.status_code == 202
    job = Job.objects.get(public_id=response.json()["jobId"])
    assert job.public_id.startswith("dub-") and job.kind == "autodub"
    assert job.spec["ttsModel"] == "ELEVEN_V2" and job.spec["numberOfSpeakers"] == 1


def test_no_source_non_media_too_large_and_foreign_render(alice_client, bob, tone, tmp_path, settings):
    assert submit(alice_client, "/api/v2/autodub", spec=GOOD_SPEC).json()["error"] == "source_required"
    text = tmp_path / "autodub.mp4"
    text.write_text("hello, I am text pretending to be a video")
    assert submit(alice_client, "/api/v2/autodub", file_path=text, spec=GOOD_SPEC).json()["error"] == "not_media"
    bobs_render = finished_render(owner=bob, source=tone, output_kind="video")
    response = submit(alice_client, "/api/v2/autodub", spec={**GOOD_SPEC, "editedRenderJobId": bobs_render.public_id})
    assert response.status_code == 400 and response.json()["error"] == "edited_render_not_ready"
    settings.MAX_UPLOAD_FILE_SIZE_MB = 1
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\x00" * (1024 * 1024 + 10))
    assert submit(alice_client, "/api/v2/autodub", file_path=big, spec=GOOD_SPEC).status_code == 413


@pytest.fixture
def ready_dub(alice) -> Job:
    public_id = new_public_id(JobKind.AUTODUB)
    audio = storage_save_stream(key=job_file_key(public_id, "dubbed.mp3"), stream=BytesIO(b"ID3" + b"\x00" * 5000))
    video = storage_save_stream(key=job_file_key(public_id, "dubbed.mp4"), stream=BytesIO(b"\x00" * 8000))
    result = {"dubbedAudioKey": audio, "dubbedVideoKey": video, "dubbedAudioOrigin": "extracted"}
    return finished_job(alice, JobKind.AUTODUB, public_id=public_id, result=result)


def test_ready_status_and_downloads(alice_client, ready_dub):
    body = alice_client.get(f"/api/v2/autodub/{ready_dub.public_id}").json()

    assert body["status"] == "READY" and body["audioExtractFailed"] is False and body["error"] is None
    audio = APIClient().get(body["dubbedAudioUrl"])
    assert audio.status_code == 200 and len(body_bytes(audio)) == 5003
    assert audio["Content-Disposition"] == f'attachment; filename="{ready_dub.public_id}.mp3"'
    video = APIClient().get(body["dubbedVideoUrl"], HTTP_RANGE="bytes=-100")
    assert video.status_code == 206 and video["Content-Range"] == "bytes 7900-7999/8000"


def test_a_ready_job_whose_audio_is_gone_is_never_ready_without_audio(alice_client, ready_dub):
    Job.objects.filter(pk=ready_dub.pk).update(result={**ready_dub.result, "dubbedAudioKey": None})
    body = alice_client.get(f"/api/v2/autodub/{ready_dub.public_id}").json()

    assert body["status"] == "FAILED" and body["dubbedAudioUrl"] is None


def test_download_token_errors(ready_dub):
    path = f"/api/v2/autodub/{ready_dub.public_id}"
    audio_token_on_video = sign_token(
        job_id=ready_dub.public_id, resource_id="dubbed", expires_at=int(time.time()) + 60
    )
    expired = sign_token(job_id=ready_dub.public_id, resource_id="dubbed", expires_at=int(time.time()) - 5)
    client = APIClient()

    assert client.get(f"{path}/audio").status_code == 401
    assert client.get(f"{path}/audio?token=1.abc").status_code == 403
    assert client.get(f"{path}/audio?token={expired}").status_code == 403
    assert client.get(f"{path}/video?token={audio_token_on_video}").status_code == 403
    assert client.get(f"{path}/audio?token={audio_token_on_video}").status_code == 200


def test_video_of_an_audio_project_is_404(ready_dub):
    Job.objects.filter(pk=ready_dub.pk).update(result={**ready_dub.result, "dubbedVideoKey": None})
    token = sign_token(job_id=ready_dub.public_id, resource_id="dubbedvideo", expires_at=int(time.time()) + 60)

    response = APIClient().get(f"/api/v2/autodub/{ready_dub.public_id}/video?token={token}")

    assert response.status_code == 404 and response.json()["detail"] == "Dubbed video not ready"


def test_bob_cannot_see_alices_dub(bob_client, ready_dub):
    assert bob_client.get(f"/api/v2/autodub/{ready_dub.public_id}").status_code == 404
