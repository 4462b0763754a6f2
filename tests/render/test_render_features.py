"""Renders through the HTTP API and the render stage, each feature checked on the output file."""

import pytest

from apps.jobs.models import Job, JobKind
from tests.render.helpers import download, run_render, submit
from tests.render.measure import mean_volume_db, pixel_rgb, probe_streams

FRAME = 1 / 30

pytestmark = pytest.mark.django_db


def _close(rgb, expected, tolerance=60):
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=True))


RED, BLUE, GREEN, YELLOW, MAGENTA = (255, 0, 0), (0, 0, 255), (0, 128, 0), (255, 255, 0), (255, 0, 255)


def test_multi_segment_render_trims_scales_letterboxes_overlays_and_mixes(alice_client, media, tmp_path):
    files = {
        "video_0": media.video("blue.mp4", seconds=3, color="blue", tone_hz=440, tone_volume=0.05),
        "video_1": media.video("green.mp4", seconds=1, size="320x240", color="green", tone_hz=None),
        "segment_image_2": media.image("yellow.png", color="yellow", size="40x40"),
        "image_0": media.image("red.png", color="red", size="32x32"),
        "audio_0": media.tone("dub.wav", seconds=1.0, hz=1000, volume=0.8),
    }
    config = {
        "dubClips": [{"audioFileKey": "audio_0", "startMs": 1500, "durationMs": 0, "volume": 1.0}],
        "segments": [
            {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 3000, "trimStartMs": 500,
             "trimEndMs": 2500, "speedScale": 2.0, "volumeScale": 1.0, "width": None, "height": None,
             "imageXPct": None, "imageYPct": None, "imageWidthPct": None, "imageHeightPct": None},
            {"sourceFileKey": "video_1", "type": "VIDEO", "order": 1, "durationMs": 1000, "trimStartMs": 0,
             "trimEndMs": 0},
            {"sourceFileKey": "segment_image_2", "type": "IMAGE", "order": 2, "durationMs": 1000,
             "trimStartMs": 0, "trimEndMs": 0, "imageWidthPct": 50, "imageHeightPct": 50},
        ],
        "imageClips": [{"imageFileKey": "image_0", "startMs": 200, "endMs": 700, "xPct": 50, "yPct": 50,
                        "widthPct": 20, "heightPct": 20}],
        "frame": {"width": 160, "height": 120, "backgroundColorHex": "#FF00FF"},
        "bgmClips": [],
        "audioOverrideKey": None,
        "separationDirectives": [],
        "outputLanguageCode": "original",
        "outputKind": "video",
        "aKeyFromTheFuture": {"ignored": True},
    }  # fmt: skip
    response = submit(alice_client, files=files, config=config)
    assert response.status_code == 200, response.data
    job_id = response.data["jobId"]
    assert job_id.startswith("rnd-")
    status = alice_client.get(f"/api/v2/render/{job_id}/status").json()
    assert status == {"jobId": job_id, "status": "PENDING", "progress": 0, "progressReason": "queued", "error": None}

    job = run_render(job_id)
    assert job.status == "succeeded", job.error_detail
    status = alice_client.get(f"/api/v2/render/{job_id}/status").json()
    assert (status["status"], status["progress"], status["error"]) == ("COMPLETED", 100, None)

    output = download(alice_client, job_id, tmp_path / "out.mp4")
    streams = probe_streams(output)
    assert abs(streams["duration"] - 3.0) <= FRAME
    assert (streams["video"]["width"], streams["video"]["height"]) == (160, 120)
    assert streams["audio"]["codec_name"] == "aac"
    # sticker only inside 0.2–0.7 s, over the blue segment; then the green one, then the letterboxed still
    assert _close(pixel_rgb(output, at=0.1, x=80, y=60), BLUE)
    assert _close(pixel_rgb(output, at=0.45, x=80, y=60), RED)
    assert _close(pixel_rgb(output, at=0.85, x=80, y=60), BLUE)
    assert _close(pixel_rgb(output, at=1.5, x=80, y=60), GREEN)
    assert _close(pixel_rgb(output, at=2.5, x=80, y=60), YELLOW)
    assert _close(pixel_rgb(output, at=2.5, x=5, y=5), MAGENTA)
    # the dub clip at 1.5 s is far louder than the silent green segment before it
    assert mean_volume_db(output, start=1.6, seconds=0.8) > mean_volume_db(output, start=1.05, seconds=0.4) + 30
    # the inputs are gone once the output exists; the output is kept
    assert sorted(p.name for p in (tmp_path / "media" / "jobs" / job_id).iterdir()) == ["output.mp4"]


def test_subtitles_are_burned_in_during_their_window_only(alice_client, media, tmp_path):
    files = {
        "video": media.video("blue.mp4", seconds=2, color="blue"),
        "subtitles": media.ass("x';[0:v]drawbox=c=red:t=fill[v];[v]null.ass", start="0:00:00.50", end="0:00:01.20"),
    }
    response = submit(alice_client, files=files, config={"dubClips": [], "videoDurationMs": 2000})
    assert response.status_code == 200, response.data
    job = run_render(response.data["jobId"])
    assert job.status == "succeeded", job.error_detail
    output = download(alice_client, job.public_id, tmp_path / "out.mp4")

    def whites(at):
        from tests.render.measure import count_pixels

        return count_pixels(output, at=at, predicate=lambda r, g, b: r > 200 and g > 200 and b > 200)

    assert whites(0.8) > 200
    assert whites(0.2) == 0 and whites(1.6) == 0
    assert probe_streams(output)["video"]["width"] == 160  # legacy: the source's own size


def test_audio_only_render_writes_m4a_with_dub_and_sped_up_bgm(alice_client, media, tmp_path):
    files = {
        "video_0": media.video("quiet.mp4", seconds=3, tone_hz=None),
        "audio_0": media.speech("dub.wav", text="hello"),
        "bgm_0": media.tone("bgm.wav", seconds=2.0, hz=300, volume=0.5),
    }
    config = {
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 3000}],
        "dubClips": [{"audioFileKey": "audio_0", "startMs": 2000, "durationMs": 0, "volume": 1.0}],
        "bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 1.0, "speed": 2.0}],
        "outputKind": "audio",
        "frame": None,
    }
    response = submit(alice_client, files=files, config=config)
    assert response.status_code == 200, response.data
    job = run_render(response.data["jobId"])
    assert job.status == "succeeded", job.error_detail
    output = download(alice_client, job.public_id, tmp_path / "out.m4a")
    streams = probe_streams(output)
    assert "video" not in streams
    assert abs(streams["duration"] - 3.0) <= FRAME
    assert streams["audio"]["codec_name"] == "aac"
    bgm_playing = mean_volume_db(output, start=0.1, seconds=0.7)
    assert bgm_playing > -40
    # 2 s of BGM at 2x lasts 1 s: silence follows until the dub starts at 2 s
    assert mean_volume_db(output, start=1.2, seconds=0.6) < bgm_playing - 40
    assert mean_volume_db(output, start=2.05, seconds=0.4) > mean_volume_db(output, start=1.2, seconds=0.6) + 30


def test_legacy_render_places_stickers_on_the_probed_size_and_cuts_to_video_duration(alice_client, media, tmp_path):
    files = {"video": media.video(seconds=2, size="200x100", color="blue"), "image_0": media.image()}
    config = {
        "dubClips": [],
        "videoDurationMs": 1500,
        "imageClips": [
            {
                "imageFileKey": "image_0",
                "startMs": 0,
                "endMs": 1500,
                "xPct": 25,
                "yPct": 50,
                "widthPct": 10,
                "heightPct": 20,
            }
        ],
    }
    response = submit(alice_client, files=files, config=config)
    job = run_render(response.data["jobId"])
    output = download(alice_client, job.public_id, tmp_path / "out.mp4")
    streams = probe_streams(output)
    assert (streams["video"]["width"], streams["video"]["height"]) == (200, 100)
    assert abs(streams["duration"] - 1.5) <= FRAME
    assert _close(pixel_rgb(output, at=0.5, x=50, y=50), RED)  # centre at 25 % x 50 %
    assert _close(pixel_rgb(output, at=0.5, x=150, y=50), BLUE)


def test_audio_override_replaces_the_source_audio(alice_client, media, tmp_path):
    files = {"video": media.video(seconds=2, tone_volume=0.8), "audio_override": media.silence(seconds=2)}
    config = {"dubClips": [], "audioOverrideKey": "audio_override"}
    response = submit(alice_client, files=files, config=config)
    job = run_render(response.data["jobId"])
    assert job.status == "succeeded", job.error_detail
    output = download(alice_client, job.public_id, tmp_path / "out.mp4")
    assert mean_volume_db(output, start=0, seconds=1.9) < -80


def _separation_with_stem(owner, media):
    """A finished separation of `owner` holding one stored stem (the separation pipeline is another area)."""
    from django.core.files.storage import default_storage

    from apps.separation.selectors import signed_stem_url

    job = Job.objects.create(public_id="sep-0b7c9a6e-1111-4222-8333-444455556666", kind=JobKind.SEPARATION,
                             owner=owner, status="succeeded")  # fmt: skip
    key = f"jobs/{job.public_id}/speaker_0.wav"
    with open(media.tone("stem.wav", seconds=2, hz=700, volume=0.8), "rb") as handle:
        default_storage.save(key, handle)
    job.result = {"stems": [{"stemId": "speaker_0", "label": "Speaker 1", "storageKey": key}]}
    job.save()
    return "https://phone-host.example" + signed_stem_url(job=job, stem_id="speaker_0")


def test_separation_directives_mute_the_range_and_mix_the_selected_stems(alice_client, alice, media, tmp_path):
    stem_url = _separation_with_stem(alice, media)
    files = {"video_0": media.video(seconds=3, tone_volume=0.5)}
    segments = [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0}]
    mute_only = {"id": "d0", "rangeStartMs": 1000, "rangeEndMs": 2000, "numberOfSpeakers": 1,
                 "muteOriginalSegmentAudio": True, "selections": []}  # fmt: skip
    response = submit(alice_client, files=files, config={"segments": segments, "separationDirectives": [mute_only]})
    muted = download(alice_client, run_render(response.data["jobId"]).public_id, tmp_path / "muted.mp4")
    assert mean_volume_db(muted, start=1.1, seconds=0.8) < -80
    assert mean_volume_db(muted, start=0.1, seconds=0.8) > -40

    with_stem = {**mute_only, "selections": [{"stemId": "speaker_0", "audioUrl": stem_url, "volume": 1.0}]}
    response = submit(alice_client, files=files, config={"segments": segments, "separationDirectives": [with_stem]})
    assert response.status_code == 200, response.data
    mixed = download(alice_client, run_render(response.data["jobId"]).public_id, tmp_path / "mixed.mp4")
    assert mean_volume_db(mixed, start=1.1, seconds=0.8) > -40

    forged = {**mute_only, "selections": [{"stemId": "speaker_0", "audioUrl": stem_url[:-3] + "AAA", "volume": 1}]}
    response = submit(alice_client, files=files, config={"segments": segments, "separationDirectives": [forged]})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_stem_url")


def test_render_from_an_input_id_maps_the_cached_video_to_every_segment(alice_client, bob_client, media, tmp_path):
    video = media.video(seconds=3, color="blue")
    response = submit(
        alice_client,
        files={"video": video, "audios": [media.tone("a.wav", hz=500), media.tone("b.wav", hz=900)]},
        config=None,
        url="/api/v2/render/inputs",
    )
    assert response.status_code == 200, response.data
    cached = response.json()
    assert cached["inputId"].startswith("inp-")
    assert cached["audioCount"] == 2 and cached["videoSizeBytes"] == video.stat().st_size
    assert cached["expiresAt"] > 1_700_000_000_000

    config = {
        "segments": [
            {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0, "trimEndMs": 1000},
            {"sourceFileKey": "video_1", "type": "VIDEO", "order": 1, "trimStartMs": 2000, "trimEndMs": 0},
        ],
        "dubClips": [{"audioFileKey": "audio_1", "startMs": 0, "durationMs": 0, "volume": 1.0}],
        "outputKind": "video",
    }
    response = submit(alice_client, files={}, config=config, input_id=cached["inputId"])
    assert response.status_code == 200, response.data
    job = run_render(response.data["jobId"])
    assert job.status == "succeeded", job.error_detail
    streams = probe_streams(download(alice_client, job.public_id, tmp_path / "out.mp4"))
    assert abs(streams["duration"] - 2.0) <= FRAME

    # the same upload again lands in the same entry; another user cannot use it
    again = submit(alice_client, files={"video": video}, config=None, url="/api/v2/render/inputs").json()
    assert again["inputId"] == cached["inputId"]
    response = submit(bob_client, files={}, config=config, input_id=cached["inputId"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_input_id")


@pytest.mark.parametrize(
    ("files", "config", "code"),
    [
        ({"video_0": "video"}, {"segments": [{"sourceFileKey": "video_1", "type": "VIDEO", "order": 0}]},
         "missing_file_part"),
        ({"video": "video"}, {"dubClips": [{"audioFileKey": "audio_0", "startMs": 0}]}, "missing_file_part"),
        ({}, {"dubClips": []}, "video_required"),
        ({"video": "text"}, {"dubClips": []}, "not_media"),
        ({"video": "video", "image_0": "text"}, {"dubClips": []}, "not_media"),
        ({"video": "video", "subtitles": "text"}, {"dubClips": []}, "invalid_subtitles"),
        ({"video": "video", "audio_0": "silent_video"}, {"dubClips": []}, "no_audio_stream"),
        ({"video_0": "video"}, {"segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0,
                                              "trimEndMs": 9000}]}, "trim_end_exceeds_duration"),
        ({"video": "video"}, {"segments": [{"sourceFileKey": "video", "type": "VIDEO", "order": 1}]},
         "segment_order_gap"),
        ({"video": "video"}, None, "config_required"),
        ({"video": "video"}, {"frame": {"width": 100, "height": 100, "backgroundColorHex": "#12345;"}},
         "invalid_background_color"),
    ],
)  # fmt: skip
def test_invalid_renders_are_refused_before_any_job_exists(alice_client, media, tmp_path, files, config, code):
    sources = {
        "video": lambda: media.video(seconds=1),
        "silent_video": lambda: media.video("silent.mp4", seconds=1, tone_hz=None),
        "text": lambda: _text_file(tmp_path),
    }
    response = submit(alice_client, files={name: sources[kind]() for name, kind in files.items()}, config=config)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert not Job.objects.filter(kind=JobKind.RENDER).exists()


def _text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("just some text, not media at all\n")
    return path


def test_status_and_download_are_for_the_owner_only(alice_client, bob_client, media, tmp_path):
    response = submit(alice_client, files={"video": media.video(seconds=1)}, config={"dubClips": []})
    job_id = response.data["jobId"]
    assert bob_client.get(f"/api/v2/render/{job_id}/status").status_code == 404
    assert alice_client.get(f"/api/v2/render/{job_id}/download").status_code == 404  # not ready yet
    run_render(job_id)
    assert bob_client.get(f"/api/v2/render/{job_id}/download").status_code == 404
    ranged = alice_client.get(f"/api/v2/render/{job_id}/download", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100
    assert alice_client.get("/api/v2/render/rnd-unknown/status").status_code == 404
