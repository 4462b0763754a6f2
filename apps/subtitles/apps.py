from django.apps import AppConfig


class SubtitlesConfig(AppConfig):
    name = "apps.subtitles"
    label = "subtitles"
