from django.urls import path

from apps.dubbing import api

urlpatterns = [
    path("autodub", api.AutoDubSubmitApi.as_view(), name="autodub-submit"),
    path("autodub/<str:job_id>", api.AutoDubStatusApi.as_view(), name="autodub-status"),
    path("autodub/<str:job_id>/audio", api.AutoDubAudioDownloadApi.as_view(), name="autodub-audio"),
    path("autodub/<str:job_id>/video", api.AutoDubVideoDownloadApi.as_view(), name="autodub-video"),
]
