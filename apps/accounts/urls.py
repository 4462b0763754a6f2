from django.urls import path

from apps.accounts.api import GoogleSignInApi

urlpatterns = [path("auth/google", GoogleSignInApi.as_view(), name="auth-google")]
