"""The system check that stops every process when the settings found the environment wrong."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from vibi.settings_problems import PROBLEMS


@checks.register(checks.Tags.compatibility, deploy=False)
def environment_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.Error]:
    if not PROBLEMS:
        return []
    shape = "production (VIBI_EMBEDDED=false)" if not settings.EMBEDDED else "the embedded default"
    lines = "\n".join(f"  - {problem}" for problem in PROBLEMS)
    return [
        checks.Error(
            f"The environment is not a complete configuration for {shape}:\n{lines}",
            hint="Every variable is described in docs/configuration.md.",
            id="vibi.E001",
        )
    ]


def refuse_to_start_if_misconfigured() -> None:
    """For entry points that run no system checks themselves (gunicorn's WSGI app, Celery)."""
    errors = environment_check()
    if errors:
        raise ImproperlyConfigured(errors[0].msg)
