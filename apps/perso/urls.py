from django.urls import path

from apps.perso.api import LanguagesApi

urlpatterns = [path("languages", LanguagesApi.as_view(), name="languages")]
