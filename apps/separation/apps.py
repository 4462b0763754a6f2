from django.apps import AppConfig


class SeparationConfig(AppConfig):
    name = "apps.separation"
    label = "separation"
