from django.apps import AppConfig


class PersoConfig(AppConfig):
    name = "apps.perso"
    label = "perso"
