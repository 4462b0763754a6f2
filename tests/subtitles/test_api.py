"""Subtitles API without a worker: bad input, status shapes, signed SRT downloads, IDOR."""

import json
import time

import pytest
from rest_framework.test import APIClient

from apps.core.signing import sign_token
from apps.core.storage import job_file_key, storage_save_stream
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id
from tests.subtitles.conftest import body_bytes, finished_render, submit
from tests.support.jobs import finished_job

pytestmark = pytest.mark.django_db

GOOD_SPEC = {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["ko"]}
SRT = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"


@pytest.fixture
def tone(make_media):
    return make_media("tone.mp3", seconds=6)


@pytest.mark.parametrize(
    "spec, status, code, detail_part",
    [
        (None, 400, "spec_required", "spec is required"),
        ("{not json", 400, "invalid_spec", "not valid JSON"),
        ("[1, 2]", 400, "invalid_spec", "JSON object"),
        ({**GOOD_SPEC, "mediaType": "IMAGE"}, 400, "invalid_media_type", "VIDEO or AUDIO"),
        ({**GOOD_SPEC, "mediaType": None}, 400, "invalid_media_type", "VIDEO or AUDIO"),
        ({**GOOD_SPEC, "sourceLanguageCode": ""}, 400, "source_language_required", "sourceLanguageCode"),
        ({**GOOD_SPEC, "sourceLanguageCode": "   "}, 400, "source_language_required", "sourceLanguageCode"),
        ({**GOOD_SPEC, "sourceLanguageCode": "english please"}, 400, "unsupported_language", "sourceLanguageCode"),
        ({**GOOD_SPEC, "targetLanguageCodes": ["k0!"]}, 400, "unsupported_language", "targetLanguageCodes"),
        ({**GOOD_SPEC, "targetLanguageCodes": "ko"}, 400, "invalid_spec", "list"),
        ({**GOOD_SPEC, "numberOfSpeakers": 11}, 400, "invalid_number_of_speakers", "1..10"),
    ],
)
def test_bad_specs_are_4xx_with_codes(alice_client, tone, spec, status, code, detail_part):
    response = submit(alice_client, "/api/v2/subtitles", file_path=tone, spec=spec)

    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert detail_part in response.json()["detail"]
    assert not Job.objects.exists()


def test_explicit_nulls_and_unknown_keys_are_accepted(alice_client, tone):
    spec = {**GOOD_SPEC, "targetLanguageCodes": None, "numberOfSpeakers": None, "editedRenderJobId": None, "x": 1}
    response = submit(alice_client, "/api/v2/subtitles", file_path=tone, spec=spec)

    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["jobId"])
    assert job.kind == "subtitles" and job.spec["targetLanguageCodes"] == []
    assert job.spec["source"]["hasVideo"] is False


def test_no_file_and_no_render_is_a_400(alice_client):
    response = submit(alice_client, "/api/v2/subtitles", spec=GOOD_SPEC)

    assert response.status_code == 400
    assert response.json() == {
        "error": "source_required",
        "detail": "either file part or editedRenderJobId is required",
    }


def test_a_file_that_is_not_media_is_a_400_whatever_its_name(alice_client, tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42 but not really a video" * 100)
    response = submit(alice_client, "/api/v2/subtitles", file_path=fake, spec=GOOD_SPEC)

    assert response.status_code == 400
    assert response.json()["error"] == "not_media"


def test_a_video_without_sound_is_a_400(alice_client, make_media):
    silent_video = make_media("mute.mp4", seconds=2, video=True, audio=False)
    response = submit(alice_client, "/api/v2/subtitles", file_path=silent_video, spec=GOOD_SPEC)

    assert response.status_code == 400
    assert response.json()["error"] == "no_audio"


def test_a_file_over_the_limit_is_413(alice_client, tmp_path, settings):
    settings.MAX_UPLOAD_FILE_SIZE_MB = 1
    big = tmp_path / "big.mp3"
    big.write_bytes(b"\xff" * (2 * 1024 * 1024))
    response = submit(alice_client, "/api/v2/subtitles", file_path=big, spec=GOOD_SPEC)

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"


def test_unknown_and_foreign_render_ids_are_400_edited_render_not_ready(alice_client, bob, tone):
    bobs_render = finished_render(owner=bob, source=tone, output_kind="audio")
    for render_id in ("rnd-00000000-0000-0000-0000-000000000000", bobs_render.public_id):
        response = submit(alice_client, "/api/v2/subtitles", spec={**GOOD_SPEC, "editedRenderJobId": render_id})

        assert response.status_code == 400
        assert response.json()["error"] == "edited_render_not_ready"
        assert response.json()["detail"] == f"editedRenderJobId not found or not ready: {render_id}"


def test_render_id_wins_over_the_file(alice_client, alice, tone, make_media):
    render = finished_render(owner=alice, source=tone, output_kind="audio")
    video = make_media("clip.mp4", seconds=2, video=True)
    response = submit(
        alice_client, "/api/v2/subtitles", file_path=video, spec={**GOOD_SPEC, "editedRenderJobId": render.public_id}
    )

    assert response.status_code == 202
    source = Job.objects.get(public_id=response.json()["jobId"]).spec["source"]
    assert source["kind"] == "render" and source["storageKey"] == render.result["output_key"]


def test_submit_needs_a_bearer(tone):
    response = submit(APIClient(), "/api/v2/subtitles", file_path=tone, spec=GOOD_SPEC)

    assert response.status_code == 401


def test_regenerate_rejects_a_broken_srt_with_its_line(alice_client, tmp_path):
    broken = tmp_path / "edited.srt"
    broken.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n\nthis is garbage\n")
    response = submit(alice_client, "/api/v2/subtitles/regenerate", file_path=broken, spec={"sourceLanguageCode": "en"})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_srt", "detail": "line 5: expected a cue number or a timing line"}
    assert not Job.objects.exists()


def test_regenerate_without_file_or_spec_is_400(alice_client, tmp_path):
    edited = tmp_path / "edited.srt"
    edited.write_bytes(SRT)
    assert (
        submit(alice_client, "/api/v2/subtitles/regenerate", spec={"sourceLanguageCode": "en"}).json()["error"]
        == "file_required"
    )
    assert (
        submit(alice_client, "/api/v2/subtitles/regenerate", file_path=edited, spec=None).json()["error"]
        == "spec_required"
    )


def test_status_of_a_new_job_is_pending_with_integer_progress(alice_client, tone):
    job_id = submit(alice_client, "/api/v2/subtitles", file_path=tone, spec=GOOD_SPEC).json()["jobId"]
    body = alice_client.get(f"/api/v2/subtitles/{job_id}").json()

    assert body == {
        "jobId": job_id,
        "status": "PENDING",
        "progress": 0,
        "progressReason": "Queued",
        "error": None,
        "originalSrtUrl": None,
        "translatedSrtUrlsByLang": {},
        "translatedSrtUrl": None,
    }


# --- downloads ------------------------------------------------------------------------------------------


@pytest.fixture
def ready_job(alice) -> Job:
    """A READY subtitles job with an original and a Korean SRT in storage."""
    public_id = new_public_id(JobKind.SUBTITLES)
    original = storage_save_stream(key=job_file_key(public_id, "original.srt"), stream=_bytes_io(SRT))
    korean = storage_save_stream(
        key=job_file_key(public_id, "t_ko.srt"), stream=_bytes_io("1\n00:00:01,000 --> 00:00:02,000\n안녕\n".encode())
    )
    result = {"originalSrtKey": original, "translatedSrtKeys": {"ko": korean}, "sourceLanguage": "en"}
    return finished_job(
        alice, JobKind.SUBTITLES, public_id=public_id, spec={"targetLanguageCodes": ["ko"]}, result=result
    )


def _bytes_io(data: bytes):
    from io import BytesIO

    return BytesIO(data)


def test_ready_status_carries_signed_path_only_urls(alice_client, ready_job):
    body = alice_client.get(f"/api/v2/subtitles/{ready_job.public_id}").json()

    assert body["status"] == "READY"
    assert body["originalSrtUrl"].startswith(f"/api/v2/subtitles/{ready_job.public_id}/srt?lang=original&token=")
    assert list(body["translatedSrtUrlsByLang"]) == ["ko"]
    korean = APIClient().get(body["translatedSrtUrlsByLang"]["ko"])
    assert korean.status_code == 200
    assert body_bytes(korean).decode() == "1\n00:00:01,000 --> 00:00:02,000\n안녕\n"
    assert korean["Content-Type"] == "application/x-subrip; charset=utf-8"


def test_lang_omitted_means_original(alice_client, ready_job):
    url = alice_client.get(f"/api/v2/subtitles/{ready_job.public_id}").json()["originalSrtUrl"]
    response = APIClient().get(url.replace("lang=original&", ""))

    assert response.status_code == 200 and body_bytes(response) == SRT


def test_srt_download_supports_range(alice_client, ready_job):
    url = alice_client.get(f"/api/v2/subtitles/{ready_job.public_id}").json()["originalSrtUrl"]
    response = APIClient().get(url, HTTP_RANGE="bytes=2-9")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 2-9/{len(SRT)}"
    assert response["Content-Length"] == "8" and response["Accept-Ranges"] == "bytes"
    assert body_bytes(response) == SRT[2:10]


def test_token_errors(ready_job):
    path = f"/api/v2/subtitles/{ready_job.public_id}/srt"
    expired = sign_token(job_id=ready_job.public_id, resource_id="original", expires_at=int(time.time()) - 1)
    other_resource = sign_token(job_id=ready_job.public_id, resource_id="t_ko", expires_at=int(time.time()) + 60)
    client = APIClient()

    assert client.get(f"{path}?lang=original").status_code == 401
    assert client.get(f"{path}?lang=original&token=garbage").status_code == 403
    assert client.get(f"{path}?lang=original&token={expired}").status_code == 403
    assert client.get(f"{path}?lang=original&token={other_resource}").status_code == 403


def test_a_validly_signed_unknown_language_is_404(ready_job):
    token = sign_token(job_id=ready_job.public_id, resource_id="t_de", expires_at=int(time.time()) + 60)
    response = APIClient().get(f"/api/v2/subtitles/{ready_job.public_id}/srt?lang=de&token={token}")

    assert response.status_code == 404
    assert response.json()["detail"] == "SRT not available: de"


def test_bob_cannot_see_alices_job(bob_client, ready_job):
    response = bob_client.get(f"/api/v2/subtitles/{ready_job.public_id}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_unknown_job_is_404(alice_client):
    assert alice_client.get("/api/v2/subtitles/sub-nope").status_code == 404


def test_schema_documents_the_subtitles_endpoints(client):
    schema = json.loads(client.get("/api/schema", HTTP_ACCEPT="application/json").content)
    paths = schema["paths"]
    for path in (
        "/api/v2/subtitles",
        "/api/v2/subtitles/regenerate",
        "/api/v2/subtitles/{job_id}",
        "/api/v2/subtitles/{job_id}/srt",
    ):
        assert path in paths
