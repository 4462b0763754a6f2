from django.urls import path, re_path

from apps.simulators.gemini import views

urlpatterns = [
    path("_control", views.control, name="sim-gemini-control"),
    path("_control/reset", views.control_reset, name="sim-gemini-control-reset"),
    # Gemini API: v1beta/models/<model>:generateContent; Vertex-style prefixes end the same way.
    re_path(r"^(?P<prefix>.*?)models/(?P<model>[^/:]+):generateContent$", views.generate_content),
]
