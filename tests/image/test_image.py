"""`make image-test`: the image as containers (podman, --network host) against this machine's
Postgres and Redis, moto's S3 server and the simulators server: migrate, web, one worker per queue
and beat; a render (Korean and Japanese subtitles burned in) and a subtitles job over HTTP.

Runs only when VIBI_IMAGE_TEST names the built image (the make target sets it)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import make_speech
from tests.faults.conftest import child_database_url, wait_until
from tests.production.platform import QUEUES, Platform
from tests.production.test_production_shape import SENTENCES, Phone, _lavfi
from tests.support.media import ass_script

IMAGE = os.environ.get("VIBI_IMAGE_TEST", "")
pytestmark = [
    pytest.mark.skipif(not IMAGE, reason="make image-test builds the image and runs this"),
    pytest.mark.timeout(600),
]
# podman's default rlimits cannot be applied on these machines ("error setting rlimit").
PODMAN = os.environ.get("VIBI_PODMAN", "podman").split()
PODMAN_RUN = [*PODMAN, "run", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

ASS = ass_script(
    width=320,
    height=120,
    style="Sans,56,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,0,0,5,0,0,0,1",
    dialogues=["0,0:00:00.00,0:00:01.00,Default,,0,0,0,,가나다", "0,0:00:01.00,0:00:02.00,Default,,0,0,0,,日本語"],
)


class Containers:
    def __init__(self, platform: Platform):
        self.platform = platform
        self.names: list[str] = []

    def env_args(self) -> list[str]:
        env = self.platform.env()
        for name in ("PATH", "PYTHONPATH", "VIBI_DATA_DIR"):
            env.pop(name, None)
        return [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]

    def mounts(self) -> list[str]:
        secrets = self.platform.secrets_dir
        return ["-v", f"{secrets}:{secrets}:ro"]

    def run(
        self, name: str, *role: str, detach: bool = True, extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess:
        container = f"vibi-{self.platform.run_id}-{name}"
        self.names.append(container)
        argv = [*PODMAN_RUN, "--name", container, *self.env_args(), *self.mounts(), *extra]
        argv += ["-d", IMAGE, *role] if detach else ["--rm", IMAGE, *role]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)

    def exec(self, name: str, *argv: str) -> subprocess.CompletedProcess:
        container = f"vibi-{self.platform.run_id}-{name}"
        return subprocess.run([*PODMAN, "exec", container, *argv], capture_output=True, text=True, timeout=60)

    def logs(self) -> str:
        parts = []
        for container in self.names:
            out = subprocess.run([*PODMAN, "logs", "--tail", "30", container], capture_output=True, text=True)
            parts.append(f"--- {container} ---\n{out.stdout}{out.stderr}")
        return "\n".join(parts)

    def remove_all(self) -> None:
        if self.names:
            subprocess.run(
                [*PODMAN, "rm", "--force", "--ignore", "--time", "5", *self.names], capture_output=True, timeout=120
            )


@pytest.fixture
def stack(tmp_path, request):
    shape = Platform(tmp_path / "hosts", child_database_url().rsplit("/", 1)[0] + "/postgres")
    containers = Containers(shape)
    try:
        shape.start_shared_services()
        migrate = containers.run("migrate", "migrate", detach=False)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert (
            containers.run("web", "web", extra=("-e", f"PORT={shape.web_port}", "-e", "WEB_WORKERS=2")).returncode == 0
        )
        for queue in QUEUES:
            started = containers.run(f"worker-{queue}", "worker", queue, extra=("-e", "WORKER_CONCURRENCY=1"))
            assert started.returncode == 0, started.stderr
        assert containers.run("beat", "beat").returncode == 0
        wait_until(lambda: _healthy(containers, "web"), timeout=120, what="web's HEALTHCHECK", every=1)
        yield shape, containers
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            print(containers.logs())
        containers.remove_all()
        shape.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, f"rep_{outcome.get_result().when}", outcome.get_result())


def _healthy(containers: Containers, name: str) -> bool:
    container = f"vibi-{containers.platform.run_id}-{name}"
    return subprocess.run([*PODMAN, "healthcheck", "run", container], capture_output=True, timeout=60).returncode == 0


def _gray_frame(video: Path, at: float, size: tuple[int, int]) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout[: size[0] * size[1]]  # fmt: skip


def test_the_image_runs_every_role(stack, tmp_path):
    platform, containers = stack
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.fail("the image test needs PostgreSQL")

    # the container user is not root; ffmpeg inside is Debian's 5.1
    assert containers.exec("web", "id", "-u").stdout.strip() not in ("", "0")
    version = containers.exec("web", "ffmpeg", "-version").stdout
    assert version.startswith("ffmpeg version 5.1"), version[:80]
    assert "Noto Sans CJK" in containers.exec("web", "fc-match", ":lang=ko").stdout

    phone = Phone(platform.web_url)
    phone.sign_in(platform.simulators_url)
    speech = make_speech(tmp_path / "speech.wav", SENTENCES, sample_rate=22050, pause_sec=1.5)
    subtitles_id = phone.submit(
        "/api/v2/subtitles", {"file": speech},
        {"spec": json.dumps({"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["ko"]})},
    )  # fmt: skip
    video = _lavfi(tmp_path / "blue.mp4", "-f", "lavfi", "-i", "color=c=blue:size=320x120:rate=25:duration=2",
                   "-c:v", "libx264", "-preset", "ultrafast")  # fmt: skip
    ass = tmp_path / "cjk.ass"
    ass.write_text(ASS, encoding="utf-8")
    render_id = phone.submit(
        "/api/v2/render",
        {"video": video, "subtitles": ass},
        {"config": json.dumps({"dubClips": [], "videoDurationMs": 2000})},
    )

    rendered = phone.wait(f"/api/v2/render/{render_id}/status", {"COMPLETED"}, timeout=180)
    assert rendered["status"] == "COMPLETED", rendered
    output = tmp_path / "out.mp4"
    output.write_bytes(phone.fetch(f"/api/v2/render/{render_id}/download"))
    korean, japanese = _gray_frame(output, 0.5, (320, 120)), _gray_frame(output, 1.5, (320, 120))
    korean_ink = {i for i, value in enumerate(korean) if value > 200}
    japanese_ink = {i for i, value in enumerate(japanese) if value > 200}
    # Real glyphs: plenty of ink in both, in different shapes (missing glyphs would draw nothing, or
    # the same three boxes both times).
    assert len(korean_ink) > 500 and len(japanese_ink) > 500, (len(korean_ink), len(japanese_ink))
    assert len(korean_ink ^ japanese_ink) > 0.4 * min(len(korean_ink), len(japanese_ink))

    subtitles = phone.wait(f"/api/v2/subtitles/{subtitles_id}", {"READY"}, timeout=180)
    assert subtitles["status"] == "READY", subtitles
    assert b"Hello and welcome" in phone.fetch(subtitles["originalSrtUrl"])
    assert phone.fetch(subtitles["translatedSrtUrlsByLang"]["ko"])
    keys = platform.bucket_keys()
    assert f"jobs/{render_id}/output.mp4" in keys and any(key.startswith(f"jobs/{subtitles_id}/") for key in keys)

    # every long-running role answers its own HEALTHCHECK
    for name in ("web", *(f"worker-{queue}" for queue in QUEUES), "beat"):
        wait_until(lambda name=name: _healthy(containers, name), timeout=60, what=f"{name}'s HEALTHCHECK", every=2)
