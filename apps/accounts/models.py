from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A phone user (signed in with Google) or an ops user (admin login); one table for both."""

    google_sub = models.CharField(max_length=255, unique=True, null=True, blank=True)
    picture = models.URLField(max_length=1000, blank=True)
    display_name = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.email or self.username
