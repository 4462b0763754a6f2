from django.urls import path

from apps.chat.api import ChatApi

urlpatterns = [path("chat", ChatApi.as_view(), name="chat")]
