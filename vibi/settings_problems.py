"""What the settings found wrong with the environment, reported together by one system check.

Settings never guess in production: a missing, embedded-only or malformed value is recorded here
(with the variable's name) instead of raising at the first one, and `apps.core.checks` turns the
whole list into one error, so `check`, `migrate`, gunicorn and Celery all refuse to start and say
everything that is wrong at once.
"""

import os
from urllib.parse import urlparse

PROBLEMS: list[str] = []


def is_set(name: str) -> bool:
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def require(name: str, why: str) -> bool:
    """Records `name` as missing when it is not set; True when it is."""
    if is_set(name):
        return True
    PROBLEMS.append(f"{name} is not set ({why})")
    return False


def embedded_only(name: str, why: str) -> None:
    PROBLEMS.append(f"{name}: {why} is for the embedded default only")


def malformed(name: str, why: str) -> None:
    PROBLEMS.append(f"{name} is malformed: {why}")


def check_url(name: str, value: str, schemes: set[str]) -> bool:
    """Records a value that does not parse as a URL with a host (or whose scheme is not allowed)."""
    try:
        parsed = urlparse(value)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        malformed(name, f"{value!r} does not parse ({exc})")
        return False
    if parsed.scheme not in schemes:
        malformed(name, f"scheme {parsed.scheme!r} of {value!r} is not one of {', '.join(sorted(schemes))}")
        return False
    if parsed.scheme not in {"sqlite", "filesystem", "memory", "unix"} and not parsed.hostname:
        malformed(name, f"{value!r} has no host")
        return False
    return True
