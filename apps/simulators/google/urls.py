from django.urls import path

from apps.simulators.google import views

urlpatterns = [
    path("certs", views.certs, name="sim-google-certs"),
    path("token", views.token, name="sim-google-token"),
]
