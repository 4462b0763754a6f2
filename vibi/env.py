"""The one reader of the process environment: typed, strict, with `<NAME>_FILE` secrets."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
Number = TypeVar("Number", int, float)


def _env_raw(name: str) -> str | None:
    """The variable's text, from the file `<NAME>_FILE` names when set; None when unset or empty."""
    file_path = os.environ.get(f"{name}_FILE")
    value = Path(file_path).read_text().strip() if file_path else os.environ.get(name)
    return value or None


def env_str(name: str, default: str | None = None) -> str:
    value = _env_raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = _env_raw(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    return _env_number(name, default, int, "an integer", minimum=minimum, maximum=maximum)


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum=minimum, maximum=maximum)


def _env_number(
    name: str,
    default: Number,
    parse: Callable[[str], Number],
    kind: str,
    *,
    minimum: Number | None,
    maximum: Number | None,
) -> Number:
    raw = _env_raw(name)
    if raw is None:
        value = default
    else:
        try:
            value = parse(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be <= {maximum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]
