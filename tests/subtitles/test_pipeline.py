"""Subtitles end to end: the API, a real worker, the Perso and Gemini simulators over HTTP, real ffmpeg."""

import pytest
from rest_framework.test import APIClient

from apps.jobs.models import ExternalCall, Job
from apps.jobs.services import job_retry
from apps.media.srt import srt_parse_bytes
from tests.gemini.sim import gemini_sim_control, gemini_sim_requests
from tests.subtitles.conftest import (
    SPEECH_SENTENCES,
    accepted_job_id,
    body_bytes,
    finished_render,
    perso_sim_control,
    run,
    submit,
    wait_for_job,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _srt(url: str) -> tuple[list, object]:
    response = APIClient().get(url)
    assert response.status_code == 200, response.content
    return srt_parse_bytes(body_bytes(response)), response


def test_video_with_speech_gives_subtitles_in_two_languages_with_the_original_timing(
    pipeline, alice_client, speech_video
):
    response = submit(
        alice_client,
        "/api/v2/subtitles",
        file_path=speech_video,
        spec={
            "mediaType": "VIDEO",
            "sourceLanguageCode": "en",
            "targetLanguageCodes": ["ko", "ja"],
            "numberOfSpeakers": 1,
            "editedRenderJobId": None,
        },
    )
    job_id = accepted_job_id(response, "sub-")

    body = wait_for_job(alice_client, f"/api/v2/subtitles/{job_id}")

    assert body["status"] == "READY", body
    assert body["progress"] == 100
    assert body["originalSrtUrl"].startswith(f"/api/v2/subtitles/{job_id}/srt?lang=original&token=")
    assert list(body["translatedSrtUrlsByLang"]) == ["ko", "ja"]
    assert body["translatedSrtUrl"] == body["translatedSrtUrlsByLang"]["ko"]
    original, response = _srt(body["originalSrtUrl"])
    assert response["Content-Type"] == "application/x-subrip; charset=utf-8"
    assert [cue.text for cue in original] == SPEECH_SENTENCES
    assert original[0].start_ms < original[1].start_ms < original[2].start_ms
    for lang in ("ko", "ja"):
        translated, _ = _srt(body["translatedSrtUrlsByLang"][lang])
        assert [(c.index, c.start_ms, c.end_ms) for c in translated] == [
            (c.index, c.start_ms, c.end_ms) for c in original
        ]
        assert [c.text for c in translated] == [f"[{lang}] {text}" for text in SPEECH_SENTENCES]
    job = Job.objects.get(public_id=job_id)
    gemini_calls = ExternalCall.objects.filter(job=job, service="gemini")
    assert gemini_calls.count() == 2 and all(call.input_tokens for call in gemini_calls)
    assert ExternalCall.objects.filter(job=job, service="perso", endpoint__contains="/stt").exists()


def test_transcription_only_with_auto_source_and_a_target_equal_to_the_detected_language(
    pipeline, alice_client, speech_wav
):
    response = submit(
        alice_client,
        "/api/v2/subtitles",
        file_path=speech_wav,
        spec={"mediaType": "AUDIO", "sourceLanguageCode": "auto", "targetLanguageCodes": ["en", "de"]},
    )
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "READY", body
    original, original_response = _srt(body["originalSrtUrl"])
    english, english_response = _srt(body["translatedSrtUrlsByLang"]["en"])
    german, _ = _srt(body["translatedSrtUrlsByLang"]["de"])
    assert body_bytes(english_response) == body_bytes(original_response)  # a copy, no Gemini call
    assert [c.text for c in german] == [f"[de] {text}" for text in SPEECH_SENTENCES]
    assert [r["targetLanguage"] for r in gemini_sim_requests(pipeline)] == ["de"]


def test_transcription_only_makes_no_gemini_call(pipeline, alice_client, speech_wav):
    response = submit(
        alice_client,
        "/api/v2/subtitles",
        file_path=speech_wav,
        spec={"mediaType": "AUDIO", "sourceLanguageCode": "auto", "targetLanguageCodes": []},
    )
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "READY" and body["translatedSrtUrlsByLang"] == {} and body["translatedSrtUrl"] is None
    assert [c.text for c in _srt(body["originalSrtUrl"])[0]] == SPEECH_SENTENCES
    assert gemini_sim_requests(pipeline) == []


def test_media_without_speech_fails_with_a_readable_reason(pipeline, alice_client, tmp_path, ffmpeg_tools):
    silent = tmp_path / "silence.mp3"
    run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "6", str(silent)])
    response = submit(
        alice_client, "/api/v2/subtitles", file_path=silent, spec={"mediaType": "AUDIO", "sourceLanguageCode": "en"}
    )
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "FAILED"
    assert body["error"] == "No speech was recognised in the media"
    assert body["originalSrtUrl"] is None


def test_perso_project_failure_fails_the_job(pipeline, alice_client, speech_wav):
    perso_sim_control(pipeline, project_fail_at_percent=50)
    response = submit(
        alice_client, "/api/v2/subtitles", file_path=speech_wav, spec={"mediaType": "AUDIO", "sourceLanguageCode": "en"}
    )
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "FAILED"
    assert body["error"].startswith("Perso reported failure")


def test_perso_out_of_credits_fails_the_job(pipeline, alice_client, speech_wav):
    perso_sim_control(pipeline, credits_exhausted=True)
    response = submit(
        alice_client, "/api/v2/subtitles", file_path=speech_wav, spec={"mediaType": "AUDIO", "sourceLanguageCode": "en"}
    )
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "FAILED"
    assert "credits" in body["error"]


def test_gemini_failure_fails_the_job_and_an_admin_retry_finishes_it(pipeline, alice_client, speech_wav, settings):
    settings.GEMINI_MAX_ATTEMPTS = 2
    gemini_sim_control(pipeline, fail_next=[500, 500])
    response = submit(
        alice_client,
        "/api/v2/subtitles",
        file_path=speech_wav,
        spec={"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["fr"]},
    )
    job_id = response.json()["jobId"]
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{job_id}")
    assert body["status"] == "FAILED"
    assert body["error"].startswith("Translation failed")
    job = Job.objects.get(public_id=job_id)
    assert job.failed_stage == "translate"

    job_retry(job=job)  # what the admin's "Retry selected jobs" action calls
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{job_id}")

    assert body["status"] == "READY", body
    assert [c.text for c in _srt(body["translatedSrtUrlsByLang"]["fr"])[0]] == [f"[fr] {t}" for t in SPEECH_SENTENCES]


def test_subtitles_of_a_finished_audio_render(pipeline, alice_client, alice, speech_wav, tmp_path):
    render_audio = tmp_path / "render.m4a"
    run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(speech_wav), "-c:a", "aac", str(render_audio)])
    render = finished_render(owner=alice, source=render_audio, output_kind="audio")
    response = submit(
        alice_client,
        "/api/v2/subtitles",
        spec={
            "mediaType": "AUDIO",
            "sourceLanguageCode": "en",
            "targetLanguageCodes": [],
            "editedRenderJobId": render.public_id,
        },
    )
    assert response.status_code == 202, response.content
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{response.json()['jobId']}")

    assert body["status"] == "READY", body
    assert len(_srt(body["originalSrtUrl"])[0]) == len(SPEECH_SENTENCES)


EDITED_SRT = (
    "\ufeff1\r\n00:00:00,500 --> 00:00:02,000\r\nHello, edited.\r\n\r\n"
    "2\r\n00:00:02,500 --> 00:00:04,250\r\nSecond line\r\nwith a break\r\n"
)


@pytest.mark.parametrize("field", ["file", "srtFile"])
def test_regenerate_translates_the_edited_srt_and_serves_it_as_the_original(pipeline, alice_client, tmp_path, field):
    edited = tmp_path / "edited.srt"
    edited.write_bytes(EDITED_SRT.encode("utf-8"))
    response = submit(
        alice_client,
        "/api/v2/subtitles/regenerate",
        file_path=edited,
        field=field,
        spec={"sourceLanguageCode": "en", "targetLanguageCodes": ["fr", "en"]},
    )
    job_id = accepted_job_id(response, "sub-")
    body = wait_for_job(alice_client, f"/api/v2/subtitles/{job_id}")

    assert body["status"] == "READY", body
    original_response = APIClient().get(body["originalSrtUrl"])
    assert body_bytes(original_response) == EDITED_SRT.encode("utf-8")
    french, _ = _srt(body["translatedSrtUrlsByLang"]["fr"])
    assert [(c.index, c.start_ms, c.end_ms) for c in french] == [(1, 500, 2000), (2, 2500, 4250)]
    assert [c.text for c in french] == ["[fr] Hello, edited.", "[fr] Second line\nwith a break"]
    english, _ = _srt(body["translatedSrtUrlsByLang"]["en"])
    assert [c.text for c in english] == ["Hello, edited.", "Second line\nwith a break"]
    assert [r["targetLanguage"] for r in gemini_sim_requests(pipeline)] == ["fr"]
    assert not ExternalCall.objects.filter(job__public_id=job_id, service="perso").exists()
