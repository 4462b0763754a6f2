from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"

    def ready(self) -> None:
        # Loads the system instruction now, so a missing or empty file fails the boot, not a request.
        from apps.chat import prompt  # noqa: F401
