"""The simulated Perso storage host (mounted at /sim/perso-storage/): blob uploads and file downloads."""

from django.urls import path

from apps.simulators.perso import views

urlpatterns = [
    path("perso-storage/<path:rest>", views.storage_file, name="sim-perso-storage-file"),
    path("<path:blob_path>", views.blob_put, name="sim-perso-blob"),
]
