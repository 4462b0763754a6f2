"""WSGI entry point (gunicorn vibi.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibi.settings.base")
application = get_wsgi_application()

# gunicorn runs no system checks: an incomplete production environment stops it here (issue 13).
from apps.core.checks import refuse_to_start_if_misconfigured  # noqa: E402 - needs the app registry

refuse_to_start_if_misconfigured()
