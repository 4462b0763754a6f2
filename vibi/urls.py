from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import healthz, readyz
from apps.observability.views import metrics

api_v2 = [
    path("", include("apps.accounts.urls")),
    path("", include("apps.perso.urls")),
    path("", include("apps.subtitles.urls")),
    path("", include("apps.dubbing.urls")),
    path("", include("apps.separation.urls")),
    path("", include("apps.render.urls")),
    path("", include("apps.chat.urls")),
]

urlpatterns = [
    path("api/v2/", include(api_v2)),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("swagger", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics),
]

if settings.SIMULATORS_ENABLED:
    urlpatterns.append(path("sim/", include("apps.simulators.urls")))
