"""Upstream simulators, mounted under /sim/ only when SIMULATORS_ENABLED (never in production)."""

from django.urls import include, path

urlpatterns = [
    path("google/", include("apps.simulators.google.urls")),
    path("perso/", include("apps.simulators.perso.urls")),
    path("perso-storage/", include("apps.simulators.perso.storage_urls")),
    path("gemini/", include("apps.simulators.gemini.urls")),
]
