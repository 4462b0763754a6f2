"""The simulated Perso API host (mounted at /sim/perso/)."""

from django.urls import path

from apps.simulators.perso import views

VT = "video-translator/api/v1"
SPACE = f"{VT}/projects/spaces/<int:space_seq>"
PROJECT = f"{VT}/projects/<int:project_seq>/spaces/<int:space_seq>"

urlpatterns = [
    path("_control", views.control, name="sim-perso-control"),
    path("_reset", views.reset, name="sim-perso-reset"),
    path("_counters", views.counters, name="sim-perso-counters"),
    path(f"{VT}/languages", views.languages),
    path("portal/api/v1/spaces", views.spaces),
    path("portal/api/v1/spaces/<int:space_seq_any>", views.space_detail),
    path("file/api/upload/sas-token", views.sas_token),
    path("file/api/upload/video", views.register_video),
    path("file/api/upload/audio", views.register_audio),
    path("file/api/v1/media/validate", views.validate_media),
    path(SPACE, views.list_projects),
    path(f"{SPACE}/queue", views.queue),
    path(f"{SPACE}/plan/status", views.plan_status),
    path(f"{SPACE}/media/quota", views.media_quota),
    path(f"{SPACE}/translate", views.submit_translate),
    path(f"{SPACE}/stt", views.submit_stt),
    path(f"{SPACE}/audio-separation", views.submit_separation),
    path(f"{VT}/projects/<int:project_seq>/space/<int:space_seq>/progress", views.progress),
    path(PROJECT, views.project_detail),
    path(f"{PROJECT}/script", views.script),
    path(f"{PROJECT}/stt/script", views.stt_script),
    path(f"{PROJECT}/audio-separation/script", views.separation_script),
    path(f"{PROJECT}/download-info", views.download_info),
    path(f"{PROJECT}/download", views.download),
    path(f"{PROJECT}/cancel", views.cancel),
    # Storage paths asked on the API host: the CDN's cached 404.
    path("perso-storage/<path:rest>", views.api_host_storage_path),
]
