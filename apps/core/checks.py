"""The system check that stops every process when the settings found the environment wrong."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

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


@checks.register(checks.Tags.security, deploy=True)
def csrf_middleware_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.Warning]:
    """Django's security.W003 looks for its CSRF middleware by name (silenced in settings); this one
    accepts a subclass, such as the one that passes `/api/` requests by (Bearer only, no cookies)."""
    if any(issubclass(import_string(path), CsrfViewMiddleware) for path in settings.MIDDLEWARE):
        return []
    return [checks.Warning("No CSRF middleware (CsrfViewMiddleware or a subclass) in MIDDLEWARE", id="vibi.W003")]


def refuse_to_start_if_misconfigured() -> None:
    """For entry points that run no system checks themselves (gunicorn's WSGI app, Celery)."""
    errors = environment_check()
    if errors:
        raise ImproperlyConfigured(errors[0].msg)
