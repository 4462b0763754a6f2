from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core import (
            admin_login,  # noqa: F401  (registers the failed-login receiver)
            checks,  # noqa: F401 - registers the environment check
        )
