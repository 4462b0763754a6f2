"""POST /api/v2/separate: spec parsing, the trim validation table (in order), source probing and
idempotent re-submits. No worker runs here: the job rows are the observable outcome."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobKind, JobStatus

pytestmark = pytest.mark.django_db

SUBMIT_URL = "/api/v2/separate"


def spec_json(**overrides) -> str:
    spec = {
        "mediaType": "AUDIO",
        "numberOfSpeakers": 2,
        "sourceLanguageCode": "auto",
        "trimStartMs": None,
        "trimEndMs": None,
        "editedRenderJobId": None,
    }
    spec.update(overrides)
    return json.dumps(spec)


def submit(client, path: Path | None, spec: str | None, **extra):
    data = {}
    if path is not None:
        data["file"] = path.open("rb")
    if spec is not None:
        data["spec"] = spec
    try:
        return client.post(SUBMIT_URL, data, format="multipart", **extra)
    finally:
        if path is not None:
            data["file"].close()


@pytest.fixture
def three_second_wav(make_media) -> Path:
    return make_media("three.wav", seconds=3.0)


@pytest.mark.parametrize(
    ("trim_start", "trim_end", "code"),
    [
        (1000, None, "partial_trim_range"),
        (None, 1000, "partial_trim_range"),
        (-5, None, "partial_trim_range"),  # one bound missing is checked before its sign
        (-1, 1000, "trim_start_negative"),
        (-5, -1, "trim_start_negative"),  # negative start is checked before end <= start
        (1000, 1000, "trim_range_invalid"),
        (2000, 1000, "trim_range_invalid"),
        (0, 0, "trim_range_invalid"),
        (1000, 1499, "trim_range_too_short"),
        (0, 3101, "trim_end_exceeds_duration"),
        (2600, 3500, "trim_end_exceeds_duration"),
    ],
)
def test_trim_validation_rows(alice_client, three_second_wav, trim_start, trim_end, code):
    response = submit(alice_client, three_second_wav, spec_json(trimStartMs=trim_start, trimEndMs=trim_end))

    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert not Job.objects.filter(kind=JobKind.SEPARATION).exists()


def test_trim_end_beyond_duration_reports_the_measured_duration(alice_client, three_second_wav):
    response = submit(alice_client, three_second_wav, spec_json(trimStartMs=0, trimEndMs=3500))

    assert response.status_code == 400
    assert response.json() == {
        "error": "trim_end_exceeds_duration",
        "detail": "trimEndMs=3500 but file duration=3000 ms",
    }


def test_trim_end_within_100ms_past_the_duration_is_clamped(alice_client, three_second_wav):
    response = submit(alice_client, three_second_wav, spec_json(trimStartMs=500, trimEndMs=3090))

    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["jobId"])
    assert (job.spec["trimStartMs"], job.spec["trimEndMs"]) == (500, 3000)
    assert job.spec["source"]["durationMs"] == 3000


def test_a_window_of_exactly_500ms_is_accepted(alice_client, three_second_wav):
    response = submit(alice_client, three_second_wav, spec_json(trimStartMs=1000, trimEndMs=1500))

    assert response.status_code == 202, response.content
    assert response.json()["jobId"].startswith("sep-")


def test_static_trim_errors_come_before_the_media_is_probed(alice_client, tmp_path):
    text_file = tmp_path / "notes.mp3"
    text_file.write_text("this is not audio at all")

    response = submit(alice_client, text_file, spec_json(trimStartMs=1000, trimEndMs=None))

    assert response.json()["error"] == "partial_trim_range"


def test_non_media_file_is_a_400(alice_client, tmp_path):
    text_file = tmp_path / "separation.mp3"  # the phone's names lie; the bytes decide
    text_file.write_text("hello, I am plain text\n" * 20)

    response = submit(alice_client, text_file, spec_json())

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_media"


def test_broken_media_that_looks_like_mp4_is_a_500_ffmpeg_error(alice_client, tmp_path):
    broken = tmp_path / "separation.mp4"
    broken.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x17garbage" * 300)

    response = submit(alice_client, broken, spec_json(mediaType="VIDEO"))

    assert response.status_code == 500
    assert response.json() == {"error": "ffmpeg_error", "detail": "Could not probe source duration"}


def test_video_without_audio_is_refused(alice_client, make_media):
    silent_video = make_media("silent.mp4", seconds=2, video=True, audio=False)

    response = submit(alice_client, silent_video, spec_json(mediaType="VIDEO"))

    assert response.status_code == 400
    assert response.json()["error"] == "no_audio_stream"


@pytest.mark.parametrize(
    ("spec", "code", "detail_part"),
    [
        (None, "spec_required", "spec is required"),
        ("{not json", "invalid_spec", "not valid JSON"),
        ("[1, 2]", "invalid_spec", "JSON object"),
        (
            spec_json(mediaType="AUDIO_ONLY"),
            "invalid_media_type",
            "mediaType must be VIDEO or AUDIO (got 'AUDIO_ONLY')",
        ),
        (spec_json(mediaType=None), "invalid_media_type", "got None"),
        (spec_json(numberOfSpeakers=11), "invalid_number_of_speakers", "numberOfSpeakers must be in 1..10 (got 11)"),
        (spec_json(numberOfSpeakers=0), "invalid_number_of_speakers", "got 0"),
        (spec_json(numberOfSpeakers="2"), "invalid_number_of_speakers", "got '2'"),
        (spec_json(trimStartMs="100", trimEndMs=900), "invalid_spec", "trimStartMs must be an integer"),
    ],
)
def test_spec_errors_are_clear(alice_client, three_second_wav, spec, code, detail_part):
    response = submit(alice_client, three_second_wav, spec)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert detail_part in response.json()["detail"]


def test_explicit_nulls_and_unknown_keys_are_accepted(alice_client, three_second_wav):
    spec = json.loads(spec_json(numberOfSpeakers=None, sourceLanguageCode=None))
    spec["someFutureKey"] = {"x": 1}

    response = submit(alice_client, three_second_wav, json.dumps(spec))

    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["jobId"])
    assert job.spec["numberOfSpeakers"] is None
    assert job.spec["sourceLanguageCode"] == "auto"
    assert job.status == JobStatus.PENDING and job.stage == "prepare"
    assert job.expires_at is not None and (job.expires_at - job.created_at).days >= 7


def test_neither_file_nor_render_is_a_400(alice_client):
    response = submit(alice_client, None, spec_json())

    assert response.status_code == 400
    assert response.json() == {
        "error": "source_required",
        "detail": "either file part or editedRenderJobId is required",
    }


def test_unknown_or_foreign_render_id_is_a_400(alice_client, bob, make_media):
    bobs_render = Job.objects.create(
        public_id="rnd-00000000-0000-0000-0000-000000000001",
        kind=JobKind.RENDER,
        owner=bob,
        status=JobStatus.SUCCEEDED,
        result={"output_key": "jobs/rnd-x/out.m4a", "output_kind": "audio", "duration_ms": 3000},
    )

    for render_id in ("rnd-does-not-exist", bobs_render.public_id):
        response = submit(alice_client, None, spec_json(editedRenderJobId=render_id))
        assert response.status_code == 400
        assert response.json()["error"] == "edited_render_not_ready"
        assert response.json()["detail"] == f"editedRenderJobId not found or not ready: {render_id}"


def test_submit_needs_a_bearer(client, three_second_wav):
    with three_second_wav.open("rb") as handle:
        response = client.post(SUBMIT_URL, {"file": handle, "spec": spec_json()})

    assert response.status_code == 401


# --- idempotency ------------------------------------------------------------------------------------


def test_same_user_same_file_same_spec_gets_the_same_job(alice_client, three_second_wav, tmp_path):
    copy = tmp_path / "renamed.m4a"
    copy.write_bytes(three_second_wav.read_bytes())

    first = submit(alice_client, three_second_wav, spec_json(trimStartMs=0, trimEndMs=2000))
    second = submit(alice_client, copy, spec_json(trimStartMs=0, trimEndMs=2000))

    assert first.status_code == second.status_code == 202
    assert first.json()["jobId"] == second.json()["jobId"]
    assert Job.objects.filter(kind=JobKind.SEPARATION).count() == 1


def test_a_different_range_or_user_is_a_new_job(alice_client, bob_client, three_second_wav):
    first = submit(alice_client, three_second_wav, spec_json(trimStartMs=0, trimEndMs=2000))
    other_range = submit(alice_client, three_second_wav, spec_json(trimStartMs=0, trimEndMs=2500))
    other_user = submit(bob_client, three_second_wav, spec_json(trimStartMs=0, trimEndMs=2000))

    assert len({first.json()["jobId"], other_range.json()["jobId"], other_user.json()["jobId"]}) == 3


def test_a_failed_job_does_not_block_a_new_submit(alice_client, three_second_wav):
    first_id = submit(alice_client, three_second_wav, spec_json()).json()["jobId"]
    Job.objects.filter(public_id=first_id).update(status=JobStatus.FAILED)

    second_id = submit(alice_client, three_second_wav, spec_json()).json()["jobId"]

    assert second_id != first_id


def test_idempotency_key_header_returns_the_same_job_only_for_the_same_request(
    alice_client, three_second_wav, make_media
):
    other_file = make_media("other.wav", seconds=2.0)
    headers = {"HTTP_IDEMPOTENCY_KEY": "tap-42"}

    first = submit(alice_client, three_second_wav, spec_json(), **headers)
    again = submit(alice_client, three_second_wav, spec_json(), **headers)
    other = submit(alice_client, other_file, spec_json(trimStartMs=0, trimEndMs=1000), **headers)

    assert first.json()["jobId"] == again.json()["jobId"]
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert Job.objects.filter(kind=JobKind.SEPARATION).count() == 1


def test_idempotency_key_header_expires_after_24_hours(alice_client, three_second_wav):
    headers = {"HTTP_IDEMPOTENCY_KEY": "tap-43"}
    first_id = submit(alice_client, three_second_wav, spec_json(), **headers).json()["jobId"]
    Job.objects.filter(public_id=first_id).update(
        created_at=Job.objects.get(public_id=first_id).created_at - timedelta(hours=25)
    )

    second_id = submit(alice_client, three_second_wav, spec_json(), **headers).json()["jobId"]

    assert second_id != first_id


def test_finished_render_is_a_source_and_wins_over_a_file(alice, alice_client, three_second_wav, make_media):
    render_output = make_media("render.m4a", seconds=4.0)
    render = Job.objects.create(
        public_id="rnd-00000000-0000-0000-0000-00000000c001",
        kind=JobKind.RENDER,
        owner=alice,
        status=JobStatus.SUCCEEDED,
        result={
            "output_key": storage_save_file(
                key=job_file_key("rnd-00000000-0000-0000-0000-00000000c001", "out.m4a"), local_path=render_output
            ),
            "output_kind": "audio",
            "duration_ms": 4000,
        },
        expires_at=timezone.now() + timedelta(hours=3),
    )
    spec = spec_json(editedRenderJobId=render.public_id, trimStartMs=1000, trimEndMs=4050)

    first = submit(alice_client, three_second_wav, spec)  # the file is ignored: the render wins
    again = submit(alice_client, None, spec)
    too_far = submit(alice_client, None, spec_json(editedRenderJobId=render.public_id, trimStartMs=0, trimEndMs=4200))

    assert first.status_code == 202, first.content
    assert again.json()["jobId"] == first.json()["jobId"]
    job = Job.objects.get(public_id=first.json()["jobId"])
    assert job.spec["source"] == {
        "kind": "render",
        "storageKey": render.result["output_key"],
        "renderJobId": render.public_id,
        "durationMs": 4000,
    }
    assert job.spec["trimEndMs"] == 4000
    assert too_far.json() == {
        "error": "trim_end_exceeds_duration",
        "detail": "trimEndMs=4200 but file duration=4000 ms",
    }
    render.refresh_from_db()
    assert render.expires_at > timezone.now() + timedelta(days=6)  # kept alive for the separation
