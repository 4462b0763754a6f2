"""Test settings: the base settings with fast hashing; the database comes from DATABASE_URL."""

from vibi.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
