"""Settings that refuse to guess: the environment check, `check --deploy` with the documented
production environment, and docs/configuration.md against what the code reads."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "configuration.md"
# The production variables the check names when nothing else is set.
REQUIRED_IN_PRODUCTION = [
    "DJANGO_SECRET_KEY",
    "AUTH_JWT_SECRET",
    "SEPARATION_SIGNING_SECRET",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "STORAGE_BACKEND",
    "PUBLIC_BASE_URL",
    "DJANGO_ALLOWED_HOSTS",
    "PERSO_API_BASE_URL",
    "PERSO_STORAGE_BASE_URL",
    "PERSO_API_KEY",
    "PERSO_SPACE_SEQ",
    "GOOGLE_OAUTH_CLIENT_IDS",
    "GEMINI_API_KEY",
]


def manage(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """manage.py in a clean environment (none of the test run's variables), from an empty folder."""
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "VIBI_DATA_DIR": str(cwd / "data")}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def documented_production_env(tmp_path: Path) -> dict[str, str]:
    """The sh block of docs/configuration.md, its /run/secrets files made under tmp_path."""
    block = re.search(r"## The production environment.*?```sh\n(.*?)```", DOC.read_text(), re.S).group(1)
    env = dict(line.split("=", 1) for line in block.strip().splitlines())
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, value in list(env.items()):
        if value.startswith("/run/secrets/"):
            secret = secrets_dir / Path(value).name
            secret.write_text(f"{name}-" + "s3cr3t-value-long-enough-for-every-check-0123456789abcdef")
            env[name] = str(secret)
    return env


def test_production_with_nothing_set_names_every_missing_variable_in_one_error(tmp_path):
    completed = manage(["check"], {"VIBI_EMBEDDED": "false"}, tmp_path)
    assert completed.returncode != 0
    assert completed.stderr.count("vibi.E001") == 1, completed.stderr
    missing = [name for name in REQUIRED_IN_PRODUCTION if name not in completed.stderr]
    assert not missing, (missing, completed.stderr)
    assert "Traceback" not in completed.stderr


def test_embedded_only_and_malformed_values_are_named(tmp_path):
    env = documented_production_env(tmp_path) | {
        "DATABASE_URL": f"sqlite://{tmp_path}/x.sqlite3",
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "memcached://cache:11211",
        "PUBLIC_BASE_URL": "not a url",
        "S3_ENDPOINT_URL": "http://objects:notaport",
        "DJANGO_ALLOWED_HOSTS": "*",
        "PERSO_API_KEY": "sim-perso-key",
    }
    env.pop("PERSO_API_KEY_FILE")
    completed = manage(["check"], env, tmp_path)
    assert completed.returncode != 0
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "PUBLIC_BASE_URL", "S3_ENDPOINT_URL"):
        assert re.search(rf"- {name}\b", completed.stderr), (name, completed.stderr)
    assert "DJANGO_ALLOWED_HOSTS: '*'" in completed.stderr
    assert "PERSO_API_KEY: the simulator's key" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_malformed_url_is_named_in_the_embedded_default_too(tmp_path):
    completed = manage(["check"], {"DATABASE_URL": "mysql://db/vibi"}, tmp_path)
    assert completed.returncode != 0
    assert "DATABASE_URL is malformed" in completed.stderr and "Traceback" not in completed.stderr


def test_check_deploy_with_the_documented_production_environment_prints_no_warning(tmp_path):
    completed = manage(["check", "--deploy", "--fail-level", "WARNING"], documented_production_env(tmp_path), tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "WARNING" not in completed.stderr and "no issues" in completed.stdout, completed.stdout + completed.stderr


def test_the_embedded_default_passes_the_check(tmp_path):
    completed = manage(["check"], {}, tmp_path)
    assert completed.returncode == 0, completed.stderr


def test_gunicorn_refuses_to_start_on_an_incomplete_production_environment(tmp_path):
    from tests.faults.conftest import free_loopback_port

    completed = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "python:vibi.gunicorn_config", "--bind",
         f"127.0.0.1:{free_loopback_port()}", "vibi.wsgi"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VIBI_DATA_DIR": str(tmp_path / "data"),
             "VIBI_EMBEDDED": "false", "PYTHONPATH": str(ROOT)},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "CACHE_URL is not set" in completed.stderr


def _variables_read_by_the_code() -> set[str]:
    names = set()
    for path in [*ROOT.glob("apps/**/*.py"), *ROOT.glob("vibi/**/*.py"), *ROOT.glob("workers/**/*.py")]:
        text = path.read_text()
        names |= set(re.findall(r"env_(?:str|int|float|bool|list)\(\s*\"([A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"_embedded_secret\(\s*\"([A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\s*\"([A-Z0-9_]+)\"", text))
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / "deploy" / "entrypoint.sh").read_text()))
    return names - {"DJANGO_SETTINGS_MODULE"}


def _variables_in_the_table() -> set[str]:
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", DOC.read_text(), re.M))


def test_the_configuration_table_lists_exactly_the_variables_the_code_reads():
    read, documented = _variables_read_by_the_code(), _variables_in_the_table()
    assert len(read) > 80
    assert read - documented == set(), "read by the code but not in docs/configuration.md"
    assert documented - read == set(), "in docs/configuration.md but read by nothing"


@pytest.mark.parametrize("name", ["DATABASE_URL", "CACHE_URL", "S3_PUBLIC_ENDPOINT_URL", "NUM_PROXIES"])
def test_the_table_has_one_row_per_variable(name):
    assert len(re.findall(rf"^\| `{name}` \|", DOC.read_text(), re.M)) == 1
