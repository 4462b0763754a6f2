"""The Dockerfile passes hadolint (each ignore justified in a comment next to it) and the build
context keeps out what must never reach an image."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_hadolint_passes():
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_hadolint_ignore_is_justified_by_a_comment_above_it():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    for index, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert lines[index - 1].startswith("#") and "hadolint" not in lines[index - 1], line


def test_the_image_is_non_root_with_an_exec_form_entrypoint_and_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!0\b|root\b)\S+", text, re.M)
    assert re.search(r'^ENTRYPOINT \[".+"\]$', text, re.M)
    assert re.search(r"^HEALTHCHECK .*CMD \[", text, re.M)
    assert (
        re.search(r"^FROM debian:bookworm-slim AS build$", text, re.M) and text.count("FROM debian:bookworm-slim") == 2
    )


def test_the_build_context_keeps_out_the_venv_data_git_secrets_and_media():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "data", "secrets", "tests", "*.mp4", "*.wav"} <= ignored
