from django.urls import include, path

from apps.core.views import healthz

urlpatterns = [
    path("sim/", include("apps.simulators.urls")),
    path("healthz", healthz),
]
