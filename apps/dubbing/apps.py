from django.apps import AppConfig


class DubbingConfig(AppConfig):
    name = "apps.dubbing"
    label = "dubbing"
