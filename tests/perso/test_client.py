"""Contract tests of the Perso client against the simulator over real HTTP."""

import subprocess
import tarfile
import time

import pytest
import requests

from apps.core.errors import JobFailure
from apps.jobs.models import ExternalCall
from apps.perso.client import PersoClient
from apps.perso.errors import PersoError, PersoNotFound, PersoSubmitUncertain
from apps.perso.outputs import (
    perso_download_background,
    perso_download_speaker_archive,
    perso_download_target,
    perso_stt_sentences,
)
from apps.perso.uploads import perso_upload_media
from tests.conftest import SPEECH_SENTENCES, TEST_POLL_FLOOR_SEC

pytestmark = pytest.mark.django_db


def _calls(endpoint_part: str) -> list[ExternalCall]:
    return [call for call in ExternalCall.objects.filter(service="perso") if endpoint_part in call.endpoint]


def _wait_completed(client: PersoClient, project_seq: int, timeout: float = 15) -> None:
    """Polls like the poller: never sooner than the (test) polling floor after the last poll."""
    deadline = time.monotonic() + timeout
    time.sleep(TEST_POLL_FLOOR_SEC)
    while time.monotonic() < deadline:
        if client.progress(project_seq).is_completed:
            return
        time.sleep(TEST_POLL_FLOOR_SEC)
    raise AssertionError("simulated project did not complete")


def test_upload_with_korean_file_name_registers_real_duration(perso_sim, speech_wav):
    name = "회의 녹음 (최종).wav"
    media_seq = perso_upload_media(local_path=speech_wav, file_name=name, media_type="audio")

    assert media_seq > 0
    assert [call.status_code for call in _calls("/file/api/upload/sas-token")] == [200]
    assert [call.status_code for call in _calls("blob:")] == [201]
    assert [call.status_code for call in _calls("/file/api/upload/audio")] == [200]
    assert [call.status_code for call in _calls("/media/validate")] == [200]
    registered = PersoClient().register_media(
        media_type="audio", file_url=_calls("blob:")[0].endpoint.replace("blob:", perso_sim.base_url), file_name=name
    )
    assert registered.original_name == "회의 녹음 (최종)"
    assert 7000 < registered.duration_ms < 10000
    assert registered.size == speech_wav.stat().st_size


def test_expired_sas_gets_a_new_one_and_the_upload_succeeds(perso_sim, speech_wav):
    perso_sim.control(sas_expire_next=1)

    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)

    assert media_seq > 0
    assert len(_calls("/file/api/upload/sas-token")) == 2
    assert [call.status_code for call in _calls("blob:")] == [403, 201]


def test_blob_put_with_the_api_key_is_refused(perso_sim, speech_wav):
    sas = PersoClient().sas_token("talk.wav")
    response = requests.put(
        sas.blob_sas_url,
        data=speech_wav.read_bytes(),
        headers={"x-ms-blob-type": "BlockBlob", "XP-API-KEY": "sim-perso-key"},
        timeout=10,
    )
    assert response.status_code == 400


def test_429_is_retried_after_retry_after_and_counted(perso_sim):
    perso_sim.control(rate_limit_burst=2, retry_after_sec=0)

    languages = PersoClient().languages()

    assert {"en", "ko", "ja"} <= {language.code for language in languages}
    assert [(call.status_code, call.attempt) for call in _calls("/languages")] == [(429, 1), (429, 2), (200, 3)]


def test_transient_500_on_register_is_retried(perso_sim, speech_wav):
    perso_sim.control(fail_next=[{"match": "/file/api/upload/audio", "status": 500, "code": "F5001", "times": 2}])

    perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)

    assert [(call.status_code, call.error_code) for call in _calls("/file/api/upload/audio")] == [
        (500, "F5001"),
        (500, "F5001"),
        (200, ""),
    ]


def test_persistent_500_gives_up_after_the_bounded_attempts(perso_sim, settings):
    perso_sim.control(fail_next=[{"match": "/languages", "status": 500, "code": "F5001", "times": 10}])

    with pytest.raises(PersoError) as raised:
        PersoClient().languages()

    assert raised.value.status == 500
    assert len(_calls("/languages")) == settings.PERSO_MAX_ATTEMPTS


def test_4xx_is_not_retried(perso_sim):
    perso_sim.control(fail_next=[{"match": "/languages", "status": 400, "code": "F4003", "times": 5}])

    with pytest.raises(PersoError) as raised:
        PersoClient().languages()

    assert (raised.value.status, raised.value.code) == (400, "F4003")
    assert len(_calls("/languages")) == 1


def test_wrong_key_is_an_auth_error_not_retried(perso_sim):
    with pytest.raises(PersoError) as raised:
        PersoClient(api_key="wrong").languages()
    assert (raised.value.status, raised.value.code) == (401, "F4001")
    assert len(_calls("/languages")) == 1


def test_submit_timeout_is_never_resent(perso_sim, settings, speech_wav):
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    client = PersoClient()
    client.init_queue()
    settings.PERSO_READ_TIMEOUT_SEC = 1
    perso_sim.control(slow_ms=1500)

    with pytest.raises(PersoSubmitUncertain):
        PersoClient().submit_stt(media_seq=media_seq, is_video=False)

    assert [call.error_code for call in _calls("/stt")] == ["timeout"]


def test_submit_5xx_is_resent(perso_sim, speech_wav):
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    client = PersoClient()
    client.init_queue()
    perso_sim.control(fail_next=[{"match": "/audio-separation", "status": 500, "code": "F5001", "times": 1}])

    project_seq = client.submit_audio_separation(media_seq=media_seq, is_video=False)

    assert project_seq > 0
    assert [call.status_code for call in _calls("/audio-separation")] == [500, 201]


def test_stt_script_is_read_across_cursor_pages(perso_sim, speech_wav):
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    client = PersoClient()
    client.init_queue()
    project_seq = client.submit_stt(media_seq=media_seq, is_video=False)
    _wait_completed(client, project_seq)
    perso_sim.control(script_page_size=2)

    sentences = perso_stt_sentences(project_seq=project_seq)

    assert [sentence.text for sentence in sentences] == SPEECH_SENTENCES
    assert len(_calls("/stt/script")) == 2
    offsets = [sentence.offset_ms for sentence in sentences]
    assert offsets == sorted(offsets) and offsets[0] < 500
    assert all(800 < sentence.duration_ms < 4000 for sentence in sentences)


def test_separation_outputs_download_from_the_storage_host_without_the_key(perso_sim, speech_wav, tmp_path):
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    client = PersoClient()
    client.init_queue()
    project_seq = client.submit_audio_separation(media_seq=media_seq, is_video=False)
    _wait_completed(client, project_seq)

    archive = perso_download_speaker_archive(project_seq=project_seq, dest=tmp_path / "speakers.tar")
    background = perso_download_background(project_seq=project_seq, dest=tmp_path / "background.wav")
    voice = perso_download_target(project_seq=project_seq, target="originalVoiceAudio", dest=tmp_path / "voice.wav")

    assert tarfile.is_tarfile(archive)
    with tarfile.open(archive) as bundle:
        assert sorted(bundle.getnames()) == ["OriginalVoiceSpeaker_1.wav", "OriginalVoiceSpeaker_2.wav"]
    assert background.stat().st_size > 1000 and voice.stat().st_size > 1000
    storage_calls = _calls("storage:")
    assert len(storage_calls) == 3
    assert all(call.endpoint.startswith("storage:/sim/perso-storage/perso-storage/") for call in storage_calls)


def test_a_storage_404_is_recovered_with_a_fresh_link(perso_sim, speech_wav, tmp_path):
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    client = PersoClient()
    client.init_queue()
    project_seq = client.submit_audio_separation(media_seq=media_seq, is_video=False)
    _wait_completed(client, project_seq)
    links = client.separation_download_links(project_seq, "originalVoiceSpeakers")
    perso_sim.control(storage_404_next=1)
    with pytest.raises(PersoNotFound):
        client.download_file(links.speakers_archive, tmp_path / "first.tar")
    with pytest.raises(PersoNotFound):  # the CDN keeps the 404 of that path
        client.download_file(links.speakers_archive, tmp_path / "again.tar")

    archive = perso_download_speaker_archive(project_seq=project_seq, dest=tmp_path / "speakers.tar")

    assert tarfile.is_tarfile(archive)


def test_storage_paths_asked_on_the_api_host_are_a_cached_404(perso_sim):
    response = requests.get(f"{perso_sim.base_url}/sim/perso/perso-storage/projects/1/x/file.wav", timeout=10)
    assert response.status_code == 404 and response.content == b""
    assert "max-age=14400" in response.headers["Cache-Control"]


def test_download_links_outside_the_allowed_hosts_are_refused(perso_sim, tmp_path):
    client = PersoClient()
    with pytest.raises(PersoError):
        client.download_file("https://evil.example.com/perso-storage/x.wav", tmp_path / "x.wav")
    with pytest.raises(PersoError):
        client.download_file("//evil.example.com/x.wav", tmp_path / "x.wav")
    assert client.resolve_download_url("/perso-storage/a/b.wav") == (
        f"{perso_sim.base_url}/sim/perso-storage/perso-storage/a/b.wav",
        False,
    )


def test_too_short_media_fails_validation_fast(perso_sim, make_media):
    short = make_media("short.wav", seconds=2)
    with pytest.raises(JobFailure) as raised:
        perso_upload_media(local_path=short, file_name="short.wav", media_type="audio")
    assert raised.value.code == "invalid_media"
    assert _calls("blob:") == []


def test_translate_project_gives_a_dubbed_video_audio_and_script(perso_sim, speech_wav, tmp_path, ffmpeg_tools):
    from apps.media.ffmpeg import probe
    from apps.perso.outputs import perso_translation_script

    video = tmp_path / "talk.mp4"
    subprocess.run(
        [ffmpeg_tools[0], "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
        + ["-i", str(speech_wav), "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-map_metadata", "1", str(video)],
        check=True,
        timeout=120,
    )
    media_seq = perso_upload_media(local_path=video, file_name="talk.mp4", media_type="video")
    client = PersoClient()
    client.init_queue()
    [project_seq] = client.submit_translate(
        media_seq=media_seq, is_video=True, source_language="en", target_languages=[{"code": "ko"}]
    )
    _wait_completed(client, project_seq, timeout=30)

    dubbed_video = perso_download_target(project_seq=project_seq, target="dubbingVideo", dest=tmp_path / "dub.mp4")
    dubbed_audio = perso_download_target(project_seq=project_seq, target="translatedAudio", dest=tmp_path / "dub.mp3")
    script = perso_translation_script(project_seq=project_seq)

    video_info, audio_info = probe(dubbed_video), probe(dubbed_audio)
    assert video_info.has_video and video_info.has_audio
    assert abs(video_info.duration_ms - probe(video).duration_ms) < 500
    assert audio_info.has_audio and not audio_info.has_video
    assert [s.translated_text for s in script.sentences] == [f"[ko] {text}" for text in SPEECH_SENTENCES]
