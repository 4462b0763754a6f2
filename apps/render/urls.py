from django.urls import path

from apps.render.api import RenderDownloadApi, RenderInputsApi, RenderStatusApi, RenderSubmitApi

urlpatterns = [
    path("render/inputs", RenderInputsApi.as_view(), name="render-inputs"),
    path("render", RenderSubmitApi.as_view(), name="render-submit"),
    path("render/<str:job_id>/status", RenderStatusApi.as_view(), name="render-status"),
    path("render/<str:job_id>/download", RenderDownloadApi.as_view(), name="render-download"),
]
