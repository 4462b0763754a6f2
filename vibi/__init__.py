"""The vibi platform: Django project package (settings, urls, Celery app)."""

from vibi.celery import app as celery_app

__all__ = ["celery_app"]
