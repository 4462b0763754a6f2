"""Autodub end to end: the API, a real worker, the Perso simulator over HTTP, real ffmpeg."""

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_retry
from tests.subtitles.conftest import (
    accepted_job_id,
    body_bytes,
    ffprobe_json,
    media_duration_ms,
    submit,
    wait_for_job,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _fetch(url: str, target, **headers):
    response = APIClient().get(url, **headers)
    assert response.status_code in (200, 206), response.content
    target.write_bytes(body_bytes(response))
    return response


def _codecs(path) -> dict[str, str]:
    return {stream["codec_type"]: stream["codec_name"] for stream in ffprobe_json(path)["streams"]}


def test_video_autodub_gives_a_playable_mp4_and_mp3_as_long_as_the_source(
    pipeline, alice_client, speech_video, tmp_path
):
    response = submit(
        alice_client,
        "/api/v2/autodub",
        file_path=speech_video,
        spec={
            "mediaType": "VIDEO",
            "sourceLanguageCode": "en",
            "targetLanguageCode": "ko",
            "numberOfSpeakers": 1,
            "ttsModel": None,
            "editedRenderJobId": None,
        },
    )
    job_id = accepted_job_id(response, "dub-")

    body = wait_for_job(alice_client, f"/api/v2/autodub/{job_id}")

    assert body["status"] == "READY", body
    assert body["audioExtractFailed"] is False and body["progress"] == 100
    assert body["dubbedVideoUrl"].startswith(f"/api/v2/autodub/{job_id}/video?token=")
    assert body["dubbedAudioUrl"].startswith(f"/api/v2/autodub/{job_id}/audio?token=")
    video, audio = tmp_path / "dubbed.mp4", tmp_path / "dubbed.mp3"
    video_response = _fetch(body["dubbedVideoUrl"], video)
    audio_response = _fetch(body["dubbedAudioUrl"], audio)
    assert video_response["Content-Type"] == "video/mp4" and audio_response["Content-Type"] == "audio/mpeg"
    assert _codecs(video) == {"video": "h264", "audio": "aac"}
    assert _codecs(audio) == {"audio": "mp3"}
    source_ms = media_duration_ms(speech_video)
    assert abs(media_duration_ms(video) - source_ms) <= 100
    assert abs(media_duration_ms(audio) - source_ms) <= 100
    assert Job.objects.get(public_id=job_id).result["dubbedAudioOrigin"] == "extracted"

    partial = APIClient().get(body["dubbedVideoUrl"], HTTP_RANGE="bytes=100-1099")
    size = video.stat().st_size
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 100-1099/{size}"
    assert partial["Content-Length"] == "1000" and partial["Accept-Ranges"] == "bytes"
    assert body_bytes(partial) == video.read_bytes()[100:1100]


def test_audio_autodub_gives_an_mp3_and_no_video(pipeline, alice_client, speech_wav, tmp_path):
    response = submit(
        alice_client,
        "/api/v2/autodub",
        file_path=speech_wav,
        spec={"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ja", "ttsModel": "ELEVEN_V3"},
    )
    body = wait_for_job(alice_client, f"/api/v2/autodub/{response.json()['jobId']}")

    assert body["status"] == "READY", body
    assert body["dubbedVideoUrl"] is None
    audio = tmp_path / "dubbed.mp3"
    _fetch(body["dubbedAudioUrl"], audio)
    assert _codecs(audio) == {"audio": "mp3"}
    assert abs(media_duration_ms(audio) - media_duration_ms(speech_wav)) <= 100


def test_when_extraction_from_the_dubbed_video_fails_perso_audio_is_used(pipeline, alice_client, speech_video):
    job_id = submit(
        alice_client,
        "/api/v2/autodub",
        file_path=speech_video,
        spec={"mediaType": "VIDEO", "sourceLanguageCode": "en", "targetLanguageCode": "de"},
    ).json()["jobId"]
    assert wait_for_job(alice_client, f"/api/v2/autodub/{job_id}")["status"] == "READY"
    # Arrange a download stage that must run again with a cached dubbed video ffmpeg cannot read:
    # the failed state is set directly (as a crash would leave it), the retry is the admin's.
    job = Job.objects.get(public_id=job_id)
    with default_storage.open(job.result["dubbedVideoKey"], "wb") as handle:
        handle.write(b"not a video any more")
    default_storage.delete(job.result["dubbedAudioKey"])
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, failed_stage="download", stage="download")

    job_retry(job=job)
    body = wait_for_job(alice_client, f"/api/v2/autodub/{job_id}")

    assert body["status"] == "READY", body
    job.refresh_from_db()
    assert job.result["dubbedAudioOrigin"] == "perso"
    response = APIClient().get(body["dubbedAudioUrl"])
    assert response.status_code == 200 and len(body_bytes(response)) > 1000
