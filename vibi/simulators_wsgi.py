"""WSGI entry point of the simulators server (see apps/simulators/server.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "vibi.settings.simulators"
application = get_wsgi_application()
