"""Separation end to end: a real worker, the Perso simulator over HTTP and real ffmpeg, from the
upload of two generated voices over a tone to the stems, a mix, and its disposal."""

import array
import time
import wave
from pathlib import Path

import pytest
from django.utils import timezone

from apps.jobs.models import ExternalCall, Job, JobStatus
from apps.perso.polling import poll_due_jobs
from tests.separation.conftest import duration_ms, run, volume_stats
from tests.separation.test_stems_and_mix import body_of, expected_mix_mean_db, status_of, submit_mix, wait_for_mix
from tests.separation.test_submit import spec_json, submit

pytestmark = pytest.mark.worker

TRIM_START_MS, TRIM_END_MS = 200, 6800
WINDOW_MS = TRIM_END_MS - TRIM_START_MS


@pytest.fixture
def fast_perso(simulators, settings, tmp_path):
    """The simulator with its own state and fast project stages; the client retries quickly."""
    settings.PERSO_SIM_DATA_DIR = str(tmp_path / "sim-perso")
    settings.PERSO_SIM_STEP_SEC = 0.2
    settings.PERSO_RETRY_BASE_MS = 20
    settings.PERSO_STORAGE_READY_WAIT_SEC = 0
    return simulators


def drive_until_settled(client, job_id: str, *, timeout: float = 90.0) -> dict:
    """Plays the beat: the beat scheduler does not run in tests, so the test calls the poller itself.
    A polled job is scheduled at least 5 s ahead (Perso rate-limits faster polling); the simulator
    finishes in about a second, so each round makes waiting jobs due now instead of sleeping 5 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = status_of(client, job_id)
        if body["status"] in ("READY", "FAILED"):
            return body
        Job.objects.filter(status=JobStatus.WAITING).update(next_poll_at=timezone.now())
        poll_due_jobs()
        time.sleep(0.25)
    pytest.fail(f"separation {job_id} did not settle: {body}")


def loud_part_starts_ms(path: Path, *, slice_ms: int = 500) -> int:
    """Start of the loudest slice of a 16-bit PCM WAV (where that speaker talks)."""
    with wave.open(str(path)) as reader:
        assert reader.getsampwidth() == 2
        frames_per_slice = reader.getframerate() * reader.getnchannels() * slice_ms // 1000
        samples = array.array("h", reader.readframes(reader.getnframes()))
    energies = [
        sum(sample * sample for sample in samples[start : start + frames_per_slice])
        for start in range(0, len(samples), frames_per_slice)
    ]
    return energies.index(max(energies)) * slice_ms


def test_two_speakers_over_a_tone_separate_into_stems_that_mix_back(
    alice, alice_client, client, fast_perso, celery_worker_all_queues, two_speaker_audio, tmp_path
):
    spec = spec_json(mediaType="AUDIO", numberOfSpeakers=2, trimStartMs=TRIM_START_MS, trimEndMs=TRIM_END_MS)

    first = submit(alice_client, two_speaker_audio, spec)
    double_tap = submit(alice_client, two_speaker_audio, spec)

    assert first.status_code == double_tap.status_code == 202, first.content
    job_id = first.json()["jobId"]
    assert double_tap.json()["jobId"] == job_id

    ready = drive_until_settled(alice_client, job_id)

    assert ready["status"] == "READY", ready
    assert ready["mixJobId"] is None
    assert [(s["stemId"], s["label"]) for s in ready["stems"]] == [
        ("voice_all", "All speakers"),
        ("speaker_0", "Speaker 1"),
        ("speaker_1", "Speaker 2"),
        ("background", "Background audio"),
    ]
    stem_files: dict[str, Path] = {}
    for stem in ready["stems"]:
        assert stem["url"].startswith(f"/api/v2/separate/{job_id}/stem/{stem['stemId']}?token=")
        response = client.get(stem["url"])  # no Bearer: a media player
        assert response.status_code == 200, stem
        stem_files[stem["stemId"]] = tmp_path / f"{stem['stemId']}.wav"
        stem_files[stem["stemId"]].write_bytes(body_of(response))
        assert abs(duration_ms(stem_files[stem["stemId"]]) - WINDOW_MS) <= 60, stem
        assert abs(stem["durationMs"] - WINDOW_MS) <= 60, stem
    # Speakers are ordered by the archive's names: speaker 1 talks first (0.4 s - 0.2 s trim), speaker 2 later.
    assert loud_part_starts_ms(stem_files["speaker_0"]) < 2500
    assert loud_part_starts_ms(stem_files["speaker_1"]) >= 3000

    # The same request once more, now that it is READY: the same job, no second Perso project.
    again = submit(alice_client, two_speaker_audio, spec)
    assert again.json()["jobId"] == job_id
    accepted = ExternalCall.objects.filter(status_code__gte=200, status_code__lt=300)
    assert accepted.filter(endpoint__endswith="/audio-separation").count() == 1
    assert accepted.filter(endpoint__endswith="/upload/audio").count() == 1

    volumes = {"speaker_0": 1.0, "speaker_1": 0.7, "background": 1.5}
    expected_db = expected_mix_mean_db([(stem_files[stem_id], volume) for stem_id, volume in volumes.items()])
    mix = submit_mix(alice_client, job_id, volumes)
    assert mix.status_code == 202, mix.content
    mix_status = wait_for_mix(alice_client, mix.json()["mixJobId"])
    assert mix_status["status"] == "COMPLETED", mix_status
    mix_path = tmp_path / "mix.mp3"
    mix_path.write_bytes(body_of(client.get(mix_status["downloadUrl"])))
    measured = volume_stats(mix_path)
    assert abs(measured["mean_volume"] - expected_db) <= 1.0, (measured, expected_db)
    assert measured["max_volume"] < 0.0
    assert abs(duration_ms(mix_path) - WINDOW_MS) <= 100

    second_mix = alice_client.post(
        f"/api/v2/separate/{job_id}/mix", {"stems": [{"stemId": "speaker_0"}]}, format="json"
    )
    assert second_mix.status_code == 409
    consumed = status_of(alice_client, job_id)
    assert consumed["mixJobId"] == mix.json()["mixJobId"] and consumed["stems"] == []
    assert client.get(ready["stems"][1]["url"]).status_code == 404


def test_short_window_of_a_video_is_padded_for_perso_and_its_stems_cut_back(
    alice, alice_client, client, fast_perso, celery_worker_all_queues, two_speaker_audio, tmp_path
):
    """A 2.5 s window (Perso refuses media under 5 s) of a video in which only the first voice talks:
    one speaker, so no voice_all; every stem is as long as the window."""
    video = tmp_path / "separation.mp4"
    run(
        [
            "ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=7",
            "-i", str(two_speaker_audio), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "copy", "-shortest", str(video),
        ]
    )  # fmt: skip

    response = submit(alice_client, video, spec_json(mediaType="VIDEO", trimStartMs=300, trimEndMs=2800))
    assert response.status_code == 202, response.content
    ready = drive_until_settled(alice_client, response.json()["jobId"])

    assert ready["status"] == "READY", ready
    assert [stem["stemId"] for stem in ready["stems"]] == ["speaker_0", "background"]
    for stem in ready["stems"]:
        assert abs(stem["durationMs"] - 2500) <= 40, stem
        downloaded = tmp_path / f"short-{stem['stemId']}.wav"
        downloaded.write_bytes(body_of(client.get(stem["url"])))
        assert abs(duration_ms(downloaded) - 2500) <= 40, stem
