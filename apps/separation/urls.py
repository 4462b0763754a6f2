from django.urls import path

from apps.separation import api

urlpatterns = [
    path("separate", api.SeparationSubmitApi.as_view(), name="separation-submit"),
    path("separate/mix/<str:mix_job_id>", api.MixStatusApi.as_view(), name="separation-mix-status"),
    path("separate/mix/<str:mix_job_id>/download", api.MixDownloadApi.as_view(), name="separation-mix-download"),
    path("separate/<str:job_id>", api.SeparationStatusApi.as_view(), name="separation-status"),
    path("separate/<str:job_id>/stem/<str:stem_id>", api.StemDownloadApi.as_view(), name="separation-stem"),
    path("separate/<str:job_id>/mix", api.StemMixSubmitApi.as_view(), name="separation-mix-submit"),
]
