"""The platform as an operator deploys it: web, one worker per queue and beat as separate processes,
each in its own empty directory, with VIBI_EMBEDDED=false against real Postgres and Redis, S3 through
moto's server and the simulators as their own server. Over HTTP only: sign in, one job of every kind,
every output read back through the URLs the API returns; then a render worker is SIGKILLed mid-render
and a fresh one in a new empty directory completes the job exactly once."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.conftest import make_speech
from tests.faults.conftest import child_database_url, wait_until
from tests.production.platform import CLIENT_ID, QUEUES, Platform

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]

SENTENCES = ["Hello and welcome to the show.", "Today we talk about rivers."]
# The proxy in front of web (NUM_PROXIES=1) says the request came over https.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
def platform(tmp_path, request):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.fail("the production-shaped test needs PostgreSQL (make test uses it when reachable)")
    admin_url = child_database_url().rsplit("/", 1)[0] + "/postgres"
    shape = Platform(tmp_path / "hosts", admin_url)
    try:
        shape.start_shared_services()
        shape.migrate()
        shape.start_web()
        for queue in QUEUES:
            shape.start_worker(queue)
        shape.start_beat()
        yield shape
    finally:
        shape.stop()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            print(shape.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, f"rep_{outcome.get_result().when}", outcome.get_result())


class Phone:
    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(PROXY_HEADERS)

    def sign_in(self, simulators_url: str) -> None:
        claims = {"sub": "prod-sub", "email": "prod@example.com", "aud": CLIENT_ID}
        id_token = requests.post(f"{simulators_url}/sim/google/token", json=claims, timeout=30).json()["idToken"]
        response = self.session.post(f"{self.base}/api/v2/auth/google", json={"idToken": id_token}, timeout=30)
        assert response.status_code == 200, response.text
        self.session.headers["Authorization"] = f"Bearer {response.json()['accessToken']}"

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(f"{self.base}{path}", timeout=120, **kwargs)

    def get_json(self, path: str) -> dict:
        response = self.session.get(f"{self.base}{path}", timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def fetch(self, url: str) -> bytes:
        """Reads an output through the URL the API returned (path-only or a redirect to the bucket)."""
        absolute = url if url.startswith("http") else f"{self.base}{url}"
        response = self.session.get(absolute, timeout=60)
        assert response.status_code == 200 and response.content, (url, response.status_code, response.text[:300])
        return response.content

    def submit(self, path: str, files: dict[str, Path], form: dict[str, str]) -> str:
        handles = {name: open(file, "rb") for name, file in files.items()}
        try:
            response = self.post(path, data=form, files=handles)
        finally:
            for handle in handles.values():
                handle.close()
        assert response.status_code in (200, 202), (path, response.status_code, response.text)
        return response.json()["jobId"]

    def wait(self, path: str, done: set[str], *, timeout: float = 120) -> dict:
        body: dict = {}

        def settled():
            nonlocal body
            body = self.get_json(path)
            return body["status"] in done | {"FAILED"}

        wait_until(settled, timeout=timeout, what=f"{path} to settle", every=0.5)
        return body


def _lavfi(target: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args, str(target)], check=True, timeout=120)
    return target


def _render_config(*, seconds: int, quality: str, stickers: bool) -> dict:
    config = {
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0, "trimEndMs": 0}],
        "frame": {"width": 640 if quality == "high" else 160, "height": 360 if quality == "high" else 120,
                  "backgroundColorHex": "#000000"},
        "quality": quality,
    }  # fmt: skip
    if stickers:
        config["imageClips"] = [
            {"imageFileKey": "image_0", "startMs": 200, "endMs": 900, "xPct": 50, "yPct": 50, "widthPct": 20,
             "heightPct": 20}
        ]  # fmt: skip
        config["bgmClips"] = [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 0.8, "speed": 1.0}]
    return config


def test_the_platform_as_separate_hosts(platform, tmp_path):
    started = time.monotonic()
    media = tmp_path / "media"
    media.mkdir()
    speech = make_speech(media / "speech.wav", SENTENCES, sample_rate=22050, pause_sec=1.5)
    clip = _lavfi(media / "clip.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi",
                  "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-shortest")  # fmt: skip
    sticker = _lavfi(media / "sticker.png", "-f", "lavfi", "-i", "color=c=red:size=32x32", "-frames:v", "1")
    bgm = _lavfi(media / "bgm.wav", "-f", "lavfi", "-i", "sine=frequency=300:duration=2")
    long_clip = _lavfi(media / "long.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=30",
                       "-c:v", "libx264", "-preset", "ultrafast")  # fmt: skip

    phone = Phone(platform.web_url)
    phone.sign_in(platform.simulators_url)

    subtitles_id = phone.submit(
        "/api/v2/subtitles",
        {"file": speech},
        {"spec": json.dumps({"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["ko"]})},
    )
    dubbing_id = phone.submit(
        "/api/v2/autodub",
        {"file": speech},
        {"spec": json.dumps({"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ja"})},
    )
    separation_id = phone.submit(
        "/api/v2/separate",
        {"file": speech},
        {"spec": json.dumps({"mediaType": "AUDIO", "numberOfSpeakers": 1, "sourceLanguageCode": "en"})},
    )
    render_id = phone.submit(
        "/api/v2/render",
        {"video_0": clip, "image_0": sticker, "bgm_0": bgm},
        {"config": json.dumps(_render_config(seconds=2, quality="low", stickers=True))},
    )
    chat = phone.post(
        "/api/v2/chat", json={"messages": [{"role": "user", "content": "Make the title bigger"}], "locale": "en"}
    )
    assert chat.status_code == 200 and chat.json()["kind"], chat.text

    outputs: dict[str, bytes] = {}
    rendered = phone.wait(f"/api/v2/render/{render_id}/status", {"COMPLETED"})
    assert rendered["status"] == "COMPLETED", rendered
    download = phone.session.get(f"{platform.web_url}/api/v2/render/{render_id}/download", allow_redirects=False)
    assert download.status_code in (302, 303, 307) and download.headers["Location"].startswith(
        f"http://localhost:{platform.s3_port}/"
    ), download.headers
    assert "X-Amz-Signature=" in download.headers["Location"]  # SigV4
    outputs["render"] = phone.fetch(f"/api/v2/render/{render_id}/download")

    # Mid-render: SIGKILL the render worker's process group; a fresh one in a new empty directory takes over.
    long_id = phone.submit(
        "/api/v2/render",
        {"video_0": long_clip},
        {"config": json.dumps(_render_config(seconds=30, quality="high", stickers=False))},
    )

    def rendering():
        body = phone.get_json(f"/api/v2/render/{long_id}/status")
        return body["status"] == "PROCESSING" and 5 <= body["progress"] < 80

    wait_until(rendering, timeout=90, what="the long render to be under way", every=0.3)
    platform.hosts["worker-render"].kill()
    platform.start_worker("render", host_name="worker-render-replacement")

    subtitles = phone.wait(f"/api/v2/subtitles/{subtitles_id}", {"READY"})
    assert subtitles["status"] == "READY", subtitles
    outputs["srt-original"] = phone.fetch(subtitles["originalSrtUrl"])
    outputs["srt-ko"] = phone.fetch(subtitles["translatedSrtUrlsByLang"]["ko"])
    assert b"Hello and welcome" in outputs["srt-original"]

    dubbing = phone.wait(f"/api/v2/autodub/{dubbing_id}", {"READY"})
    assert dubbing["status"] == "READY", dubbing
    outputs["dub-audio"] = phone.fetch(dubbing["dubbedAudioUrl"])

    separation = phone.wait(f"/api/v2/separate/{separation_id}", {"READY"})
    assert separation["status"] == "READY", separation
    for stem in separation["stems"]:
        outputs[f"stem-{stem['stemId']}"] = phone.fetch(stem["url"])
    mix_response = phone.post(
        f"/api/v2/separate/{separation_id}/mix", json={"stems": [{"stemId": separation["stems"][0]["stemId"]}]}
    )
    assert mix_response.status_code == 202, mix_response.text
    mix_id = mix_response.json()["mixJobId"]
    mix = phone.wait(f"/api/v2/separate/mix/{mix_id}", {"COMPLETED"}, timeout=150)
    assert mix["status"] == "COMPLETED", mix
    outputs["mix"] = phone.fetch(mix["downloadUrl"])

    long_render = phone.wait(f"/api/v2/render/{long_id}/status", {"COMPLETED"}, timeout=150)
    assert long_render["status"] == "COMPLETED", long_render
    outputs["long-render"] = phone.fetch(f"/api/v2/render/{long_id}/download")
    succeeded = platform.sql(
        "SELECT count(*) FROM jobs_jobevent e JOIN jobs_job j ON j.id = e.job_id WHERE j.public_id = %s AND e.kind = %s",
        long_id,
        "succeeded",
    )
    assert succeeded == [(1,)]
    starts = platform.sql(
        "SELECT e.message FROM jobs_jobevent e JOIN jobs_job j ON j.id = e.job_id WHERE j.public_id = %s"
        " AND e.message LIKE 'started render%%' ORDER BY e.at",
        long_id,
    )
    assert [row[0] for row in starts] == ["started render (attempt 1)", "started render (attempt 2)"]

    assert all(outputs.values())
    keys = platform.bucket_keys()
    # (the separation's stems were read back above; a mix consumes them, so its own file is what remains)
    for job_id in (subtitles_id, dubbing_id, render_id, long_id, mix_id):
        assert any(key.startswith(f"jobs/{job_id}/") for key in keys), (job_id, keys)
    assert f"jobs/{long_id}/output.mp4" in keys

    # Web wrote nothing of its own: its working directory is empty and its data folder holds only
    # its runtime files (gunicorn's control socket and pid file, this host's metrics files).
    web = platform.hosts["web"]
    written = [path.relative_to(web.data).as_posix() for path in web.files_written()]
    assert "run/gunicorn.pid" in written
    assert [path for path in written if path != "run/gunicorn.pid" and not path.startswith("metrics/")] == []
    assert (web.data / "run" / "gunicorn.ctl").is_socket()
    print(f"production-shaped test: {time.monotonic() - started:.0f}s after the platform started")
