"""compose.yaml as `docker compose up -d` would read it: valid for Debian's docker-compose (1.29.2,
`config` needs no engine), every role's environment complete for the production check, healthchecks,
start-up order, pinned images, one worker per queue, and secrets `make secrets` makes."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.production.test_configuration import REQUIRED_IN_PRODUCTION

ROOT = Path(__file__).resolve().parent.parent.parent
DOTENV = {
    "PUBLIC_HOST": "api.vibi.example",
    "MEDIA_HOST": "media.vibi.example",
    "GOOGLE_OAUTH_CLIENT_IDS": "1234567890-app.apps.googleusercontent.com",
    "PERSO_SPACE_SEQ": "7",
}
ONE_SHOT = {"migrate", "buckets"}
# Read by the image's entry point (deploy/entrypoint.sh), not by the settings.
ENTRYPOINT_ONLY = {"PORT", "WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT", "WORKER_CONCURRENCY"}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    if not shutil.which("docker-compose"):
        pytest.fail("docker-compose is required (Debian's package; .ci/run installs it)")
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    completed = compose_config(DOTENV)
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load(completed.stdout)


def _app_services(stack: dict) -> dict[str, dict]:
    return {name: service for name, service in stack["services"].items() if "build" in service}


def test_a_missing_deployment_variable_stops_compose_with_its_name():
    completed = compose_config({name: value for name, value in DOTENV.items() if name != "PUBLIC_HOST"})
    assert completed.returncode != 0 and "PUBLIC_HOST" in completed.stderr


def test_every_role_has_the_environment_the_production_check_requires(stack, tmp_path):
    checked = set()
    # One secrets folder for every role (a secret has the same value in each), so roles whose
    # environments are the same are checked once.
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, service in _app_services(stack).items():
        env = {key: str(value) for key, value in service["environment"].items()}
        for key, value in list(env.items()):
            if value.startswith("/run/secrets/"):
                secret = Path(value).name
                assert secret in service["secrets"] or {"source": secret} in service["secrets"], (name, secret)
                (secrets_dir / secret).write_text(f"{secret}-value-long-enough-0123456789abcdefghijklmnop")
                env[key] = str(secrets_dir / secret)
        key = tuple(sorted((k, v) for k, v in env.items() if k not in ENTRYPOINT_ONLY))
        if key in checked:
            continue
        checked.add(key)
        completed = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VIBI_DATA_DIR": str(tmp_path / "data"), **env},
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert completed.returncode == 0, (name, completed.stderr)
        assert not [variable for variable in REQUIRED_IN_PRODUCTION if f"- {variable}" in completed.stderr]
    assert checked


def test_one_worker_service_per_queue_and_the_roles_of_the_image(stack):
    commands = {name: service.get("command") for name, service in _app_services(stack).items()}
    for queue in ("upload", "perso", "gemini", "render", "default"):
        assert commands[f"worker-{queue}"] == ["worker", queue]
    assert commands["web"] == ["web"] and commands["beat"] == ["beat"] and commands["migrate"] == ["migrate"]


def test_healthchecks_restart_policies_and_start_up_order(stack):
    services = stack["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert service["restart"] == "unless-stopped", name
    for name in _app_services(stack):
        if name in ONE_SHOT:
            continue
        conditions = {dependency: spec["condition"] for dependency, spec in services[name]["depends_on"].items()}
        assert conditions["migrate"] == conditions["buckets"] == "service_completed_successfully", name
        assert conditions["postgres"] == conditions["redis"] == "service_healthy", name
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["worker-render"]["stop_grace_period"] == "15m"
    assert services["flower"]["profiles"] == ["flower"]


def test_every_image_not_built_here_is_pinned_to_a_version(stack):
    for name, service in stack["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.search(r":\d+(\.\d+)+", image) and "latest" not in image, (name, image)
    assert stack["services"]["postgres"]["image"].startswith("postgres:16.")
    assert stack["services"]["redis"]["image"].startswith("redis:7.")


def test_make_secrets_makes_every_secret_file_compose_mounts(stack, tmp_path):
    completed = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "secrets"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PUBLIC_HOST": "api.vibi.example"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    for secret in stack["secrets"].values():
        made = tmp_path / "secrets" / Path(secret["file"]).name
        assert made.exists(), made
        assert made.stat().st_mode & 0o077 == 0, made  # readable by the owner only
    second = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "secrets"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "made" not in second.stdout  # never overwrites a secret
