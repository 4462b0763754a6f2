"""Status, signed stem streams, stem URLs sent back to /render, and the mix on a real worker
(READY separations here come from a factory with real stem files; test_end_to_end.py runs Perso)."""

import io
import math
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage

from apps.core.errors import BadRequest
from apps.core.signing import sign_token
from apps.jobs.models import Job, JobKind, JobStatus
from apps.media.stems import stem_storage_key_from_url
from tests.separation.conftest import volume_stats


def status_of(client, job_id: str) -> dict:
    response = client.get(f"/api/v2/separate/{job_id}")
    assert response.status_code == 200, response.content
    return response.json()


def submit_mix(client, job_id: str, volumes: dict[str, float]):
    """POSTs a mix of the separation's stems at `volumes` (stemId -> volume)."""
    stems = [{"stemId": stem_id, "volume": volume} for stem_id, volume in volumes.items()]
    return client.post(f"/api/v2/separate/{job_id}/mix", {"stems": stems}, format="json")


def wait_for_mix(client, mix_job_id: str, *, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v2/separate/mix/{mix_job_id}").json()
        if body["status"] in ("COMPLETED", "FAILED"):
            return body
        time.sleep(0.2)
    pytest.fail(f"mix {mix_job_id} did not finish: {body}")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- status and stem streams -----------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_status_lists_stems_with_labels_path_only_urls_and_durations(alice, alice_client, make_ready_separation):
    job = make_ready_separation(alice, seconds=2.0)

    body = status_of(alice_client, job.public_id)

    assert body["status"] == "READY"
    assert body["progress"] == 100 and body["mixJobId"] is None and body["error"] is None
    assert [(s["stemId"], s["label"], s["durationMs"]) for s in body["stems"]] == [
        ("speaker_0", "Speaker 1", 2000),
        ("speaker_1", "Speaker 2", 2000),
        ("background", "Background audio", 2000),
    ]
    for stem in body["stems"]:
        parts = urlsplit(stem["url"])
        assert not parts.scheme and not parts.netloc
        assert parts.path == f"/api/v2/separate/{job.public_id}/stem/{stem['stemId']}"
        expires_at = int(parse_qs(parts.query)["token"][0].split(".")[0])
        assert expires_at <= int(job.expires_at.timestamp())  # never outlives the stems
        assert expires_at >= int(time.time()) + 6 * 24 * 3600


@pytest.mark.django_db
def test_failed_status_puts_the_readable_reason_in_progress_reason(alice, alice_client):
    job = Job.objects.create(
        public_id="sep-00000000-0000-0000-0000-00000000f001",
        kind=JobKind.SEPARATION,
        owner=alice,
        status=JobStatus.FAILED,
        error_code="perso_failed",
        error_detail="Perso reported failure: Failed",
        progress_reason="Perso reported failure: Failed",
    )

    body = status_of(alice_client, job.public_id)

    assert body["status"] == "FAILED"
    assert body["progressReason"] == "Perso reported failure: Failed"
    assert body["error"] == "Perso reported failure: Failed"
    assert body["stems"] == []


@pytest.mark.django_db
def test_stem_stream_needs_only_the_token_and_supports_range(alice, alice_client, client, make_ready_separation):
    job = make_ready_separation(alice, seconds=1.0)
    stem_url = status_of(alice_client, job.public_id)["stems"][0]["url"]
    stored = default_storage.open(job.result["stems"][0]["storageKey"]).read()

    whole = client.get(stem_url)
    partial = client.get(stem_url, HTTP_RANGE="bytes=0-99")

    assert whole.status_code == 200
    assert whole["Content-Type"] == "audio/wav"
    whole_body = body_of(whole)
    assert whole_body == stored and whole_body[:4] == b"RIFF"
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 0-99/{len(stored)}"
    assert body_of(partial) == stored[:100]


@pytest.mark.django_db
def test_stem_token_errors(alice, alice_client, client, make_ready_separation):
    job = make_ready_separation(alice, seconds=1.0)
    base = f"/api/v2/separate/{job.public_id}/stem/speaker_0"
    future = int(time.time()) + 3600
    speaker_1_token = sign_token(job_id=job.public_id, resource_id="speaker_1", expires_at=future)
    expired = sign_token(job_id=job.public_id, resource_id="speaker_0", expires_at=int(time.time()) - 10)
    unknown_stem_token = sign_token(job_id=job.public_id, resource_id="speaker_7", expires_at=future)

    assert client.get(base).status_code == 401
    assert client.get(base, {"token": "garbage"}).status_code == 403
    assert client.get(base, {"token": f"{future}.AAAA"}).status_code == 403
    assert client.get(base, {"token": speaker_1_token}).status_code == 403  # bound to its stem
    assert client.get(base, {"token": expired}).status_code == 403
    unknown = client.get(f"/api/v2/separate/{job.public_id}/stem/speaker_7", {"token": unknown_stem_token})
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


# --- IDOR -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_user_gets_404_on_status_stems_and_mix(alice, alice_client, bob_client, make_ready_separation):
    job = make_ready_separation(alice, seconds=1.0)
    stem_url = status_of(alice_client, job.public_id)["stems"][0]["url"]
    mix = Job.objects.create(
        public_id="mix-00000000-0000-0000-0000-00000000a001",
        kind=JobKind.MIX,
        owner=alice,
        status=JobStatus.PENDING,
        source_job=job,
    )

    assert bob_client.get(f"/api/v2/separate/{job.public_id}").status_code == 404
    assert bob_client.get(stem_url).status_code == 404  # a leaked URL under another user's Bearer
    assert (
        bob_client.post(
            f"/api/v2/separate/{job.public_id}/mix", {"stems": [{"stemId": "speaker_0"}]}, format="json"
        ).status_code
        == 404
    )
    assert bob_client.get(f"/api/v2/separate/mix/{mix.public_id}").status_code == 404
    assert alice_client.get(stem_url).status_code == 200  # the owner's own Bearer is fine


# --- stem URLs sent back to /render ----------------------------------------------------------------------


@pytest.mark.django_db
def test_stem_url_resolves_to_its_storage_key_in_any_form(alice, alice_client, make_ready_separation):
    job = make_ready_separation(alice, seconds=1.0)
    stem = status_of(alice_client, job.public_id)["stems"][1]
    expected_key = job.result["stems"][1]["storageKey"]

    assert stem_storage_key_from_url(stem["url"], alice) == expected_key
    assert stem_storage_key_from_url("https://api.vibi.example" + stem["url"], alice) == expected_key
    assert stem_storage_key_from_url("http://10.0.2.2:8080/bff" + stem["url"], alice) == expected_key


@pytest.mark.django_db
def test_stem_url_failures_are_invalid_stem_url(alice, bob, alice_client, make_ready_separation):
    job = make_ready_separation(alice, seconds=1.0)
    url = status_of(alice_client, job.public_id)["stems"][0]["url"]
    path, _, query = url.partition("?")
    expired = sign_token(job_id=job.public_id, resource_id="speaker_0", expires_at=int(time.time()) - 1)
    missing_job = "sep-00000000-0000-0000-0000-000000000000"
    missing_job_token = sign_token(job_id=missing_job, resource_id="speaker_0", expires_at=int(time.time()) + 60)

    bad_urls = {
        "other owner": (url, bob),
        "no token": (path, alice),
        "tampered token": (path + "?token=" + query.split("=", 1)[1][:-2] + "xx", alice),
        "expired token": (f"{path}?token={expired}", alice),
        "token of another stem": (url.replace("/stem/speaker_0", "/stem/speaker_1"), alice),
        "unknown job": (f"/api/v2/separate/{missing_job}/stem/speaker_0?token={missing_job_token}", alice),
        "foreign URL": ("https://evil.example/stem.wav", alice),
        "traversal in path": (f"/api/v2/separate/{job.public_id}/stem/../../etc/passwd?{query}", alice),
        "empty": ("", alice),
    }
    for name, (bad_url, owner) in bad_urls.items():
        with pytest.raises(BadRequest) as raised:
            stem_storage_key_from_url(bad_url, owner)
        assert raised.value.code == "invalid_stem_url", name


# --- mix ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stems", "code"),
    [
        ([], "no_stems"),
        ([{"stemId": "speaker_9", "volume": 1.0}], "unknown_stem"),
        ([{"stemId": "speaker_0", "volume": 2.5}], "invalid_volume"),
        ([{"stemId": "speaker_0", "volume": -0.1}], "invalid_volume"),
        ([{"stemId": "speaker_0", "volume": "loud"}], "invalid_volume"),
        ([{"stemId": "speaker_0"}, {"stemId": "speaker_0"}], "duplicate_stem"),
    ],
)
def test_mix_request_validation(alice, alice_client, make_ready_separation, stems, code):
    job = make_ready_separation(alice, seconds=1.0)

    response = alice_client.post(f"/api/v2/separate/{job.public_id}/mix", {"stems": stems}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert not Job.objects.filter(kind=JobKind.MIX).exists()


@pytest.mark.django_db
def test_mix_of_a_separation_still_running_is_409(alice, alice_client):
    job = Job.objects.create(
        public_id="sep-00000000-0000-0000-0000-00000000b001", kind=JobKind.SEPARATION, owner=alice, status="waiting"
    )

    response = alice_client.post(f"/api/v2/separate/{job.public_id}/mix", {"stems": [{"stemId": "x"}]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "separation_not_ready"


def expected_mix_mean_db(stem_paths_and_volumes: list[tuple[Path, float]]) -> float:
    """Stems at distinct frequencies (or disjoint in time) add in power: 10·log10(Σ v²·P)."""
    total_power = sum(
        volume**2 * 10 ** (volume_stats(path)["mean_volume"] / 10) for path, volume in stem_paths_and_volumes
    )
    return 10 * math.log10(total_power)


@pytest.mark.worker
def test_mix_keeps_loudness_then_disposes_stems_and_a_second_mix_is_409(
    alice, alice_client, client, make_ready_separation, celery_worker_all_queues, tmp_path
):
    job = make_ready_separation(alice, seconds=3.0)
    stems = status_of(alice_client, job.public_id)["stems"]
    stem_files = {entry["stemId"]: Path(default_storage.path(entry["storageKey"])) for entry in job.result["stems"]}
    volumes = {"speaker_0": 1.0, "speaker_1": 0.5, "background": 2.0}
    expected_db = expected_mix_mean_db([(stem_files[stem_id], volume) for stem_id, volume in volumes.items()])

    response = submit_mix(alice_client, job.public_id, volumes)
    assert response.status_code == 202, response.content
    mix_job_id = response.json()["mixJobId"]
    assert mix_job_id.startswith("mix-")

    mix_status = wait_for_mix(alice_client, mix_job_id)
    assert mix_status["status"] == "COMPLETED", mix_status
    assert mix_status["progress"] == 100
    download = client.get(mix_status["downloadUrl"])
    assert download.status_code == 200 and download["Content-Type"] == "audio/mpeg"
    mix_path = tmp_path / "mix.mp3"
    mix_path.write_bytes(body_of(download))
    measured = volume_stats(mix_path)
    assert abs(measured["mean_volume"] - expected_db) <= 1.0, (measured, expected_db)
    assert measured["max_volume"] < 0.0

    second = alice_client.post(
        f"/api/v2/separate/{job.public_id}/mix", {"stems": [{"stemId": "speaker_0", "volume": 1}]}, format="json"
    )
    assert second.status_code == 409
    assert second.json()["error"] == "separation_already_mixed"

    after = status_of(alice_client, job.public_id)
    assert after["mixJobId"] == mix_job_id and after["stems"] == [] and after["status"] == "READY"
    assert not any(path.exists() for path in stem_files.values())
    assert client.get(stems[0]["url"]).status_code == 404
    with pytest.raises(BadRequest):
        stem_storage_key_from_url(stems[0]["url"], alice)
    assert client.get(mix_status["downloadUrl"].split("?")[0]).status_code == 401


@pytest.mark.worker
def test_loud_mix_is_limited_without_clipping_and_a_single_stem_passes_through(
    alice, alice_client, client, make_ready_separation, celery_worker_all_queues, tmp_path
):
    loud = make_ready_separation(alice, seconds=2.0)
    single = make_ready_separation(alice, seconds=2.0, speakers=1, background=False)
    single_stem_path = Path(default_storage.path(single.result["stems"][0]["storageKey"]))
    single_expected = volume_stats(single_stem_path)["mean_volume"] + 20 * math.log10(1.5)

    loud_id = alice_client.post(
        f"/api/v2/separate/{loud.public_id}/mix",
        {"stems": [{"stemId": s, "volume": 2.0} for s in ("speaker_0", "speaker_1", "background")]},
        format="json",
    ).json()["mixJobId"]
    single_id = alice_client.post(
        f"/api/v2/separate/{single.public_id}/mix", {"stems": [{"stemId": "speaker_0", "volume": 1.5}]}, format="json"
    ).json()["mixJobId"]

    for mix_id, name in ((loud_id, "loud.mp3"), (single_id, "single.mp3")):
        status = wait_for_mix(alice_client, mix_id)
        assert status["status"] == "COMPLETED", status
        (tmp_path / name).write_bytes(body_of(client.get(status["downloadUrl"])))
    assert volume_stats(tmp_path / "loud.mp3")["max_volume"] < 0.0  # peaks of 1.2 brought under full scale
    single_measured = volume_stats(tmp_path / "single.mp3")["mean_volume"]
    assert abs(single_measured - single_expected) <= 1.0, (single_measured, single_expected)


@pytest.mark.worker
def test_a_failed_mix_releases_the_separation(alice, alice_client, make_ready_separation, celery_worker_all_queues):
    job = make_ready_separation(alice, seconds=1.0)
    stem_key = job.result["stems"][0]["storageKey"]
    stem_bytes = default_storage.open(stem_key).read()
    default_storage.delete(stem_key)  # the mix will find its input gone and fail

    first = alice_client.post(
        f"/api/v2/separate/{job.public_id}/mix", {"stems": [{"stemId": "speaker_0"}]}, format="json"
    )
    failed = wait_for_mix(alice_client, first.json()["mixJobId"])
    assert failed["status"] == "FAILED" and failed["downloadUrl"] is None
    assert status_of(alice_client, job.public_id)["mixJobId"] is None

    default_storage.save(stem_key, io.BytesIO(stem_bytes))
    second = alice_client.post(
        f"/api/v2/separate/{job.public_id}/mix", {"stems": [{"stemId": "speaker_0"}]}, format="json"
    )
    assert second.status_code == 202
    assert wait_for_mix(alice_client, second.json()["mixJobId"])["status"] == "COMPLETED"


@pytest.mark.django_db
def test_mix_with_the_same_idempotency_key_returns_the_same_mix_instead_of_409(
    alice, alice_client, make_ready_separation
):
    job = make_ready_separation(alice, seconds=1.0)
    url = f"/api/v2/separate/{job.public_id}/mix"
    body = {"stems": [{"stemId": "speaker_0", "volume": 1.0}]}

    first = alice_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="mix-tap-1")
    again = alice_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="mix-tap-1")
    without_key = alice_client.post(url, body, format="json")

    assert first.status_code == again.status_code == 202
    assert again.json()["mixJobId"] == first.json()["mixJobId"]
    assert without_key.status_code == 409
    assert status_of(alice_client, job.public_id)["mixJobId"] == first.json()["mixJobId"]
