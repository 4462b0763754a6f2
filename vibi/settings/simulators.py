"""The simulators server (Perso, Gemini, Google sign-in) as a process of its own: the base settings
serving only `/sim/` and `/healthz`. The platform reaches it through its upstream base URLs."""

from vibi.settings.base import *  # noqa: F403

ROOT_URLCONF = "vibi.simulators_urls"
SIMULATORS_ENABLED = True
ALLOWED_HOSTS = ["*"]
SECURE_SSL_REDIRECT = False
