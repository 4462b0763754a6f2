from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts import urls as accounts_urls
from apps.chat import urls as chat_urls
from apps.core.views import healthz, readyz
from apps.dubbing import urls as dubbing_urls
from apps.observability.views import metrics
from apps.perso import urls as perso_urls
from apps.render import urls as render_urls
from apps.separation import urls as separation_urls
from apps.subtitles import urls as subtitles_urls

# One flat list (no nested resolver per app, each failing with an exception), the apps the phone polls
# first: a status poll is matched after a handful of patterns. No two apps' paths overlap, so the
# order changes no match.
api_v2 = [
    *render_urls.urlpatterns,
    *separation_urls.urlpatterns,
    *subtitles_urls.urlpatterns,
    *dubbing_urls.urlpatterns,
    *accounts_urls.urlpatterns,
    *perso_urls.urlpatterns,
    *chat_urls.urlpatterns,
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
