"""Fixtures of the job and ops-console tests (tests/ops/conftest.py uses them too)."""

import pytest

from apps.jobs import stages
from apps.jobs.models import JobKind


@pytest.fixture
def no_broker(monkeypatch):
    """A separation's first stage ("upload") has a task, and no stage task leaves for the broker."""
    monkeypatch.setitem(stages.STAGE_TASKS, (JobKind.SEPARATION, "upload"), "workers.upload.test_upload")
    monkeypatch.setattr("apps.jobs.services._send_stage_task", lambda *args: None)


@pytest.fixture
def staff_client(client, django_user_model):
    """Signed in to admin as a superuser."""
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client
