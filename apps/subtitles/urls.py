from django.urls import path

from apps.subtitles import api

urlpatterns = [
    path("subtitles", api.SubtitleSubmitApi.as_view(), name="subtitles-submit"),
    path("subtitles/regenerate", api.SubtitleRegenerateApi.as_view(), name="subtitles-regenerate"),
    path("subtitles/<str:job_id>", api.SubtitleStatusApi.as_view(), name="subtitles-status"),
    path("subtitles/<str:job_id>/srt", api.SubtitleSrtDownloadApi.as_view(), name="subtitles-srt"),
]
