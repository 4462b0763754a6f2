"""Django's per-request connection health check (`SELECT 1`), run at most once per
DATABASE_HEALTH_CHECK_INTERVAL_SEC per connection (apps/core/middleware.py)."""

import pytest
from django.db import connection

MISSING_STATUS = "/api/v2/render/rnd-missing/status"


def _as_the_server_starts_a_request() -> None:
    """What `request_started` does in a web server (the test client skips it): the connection's
    health is unknown again."""
    connection.close_if_unusable_or_obsolete()


@pytest.fixture
def postgres_with_health_checks(drop_database_connection):
    connection.ensure_connection()
    assert connection.health_check_enabled


@pytest.mark.django_db(transaction=True)
def test_a_connection_checked_within_the_interval_is_trusted_without_a_second_check(
    alice_client, settings, postgres_with_health_checks, drop_database_connection
):
    settings.DATABASE_HEALTH_CHECK_INTERVAL_SEC = 60
    _as_the_server_starts_a_request()
    assert alice_client.get(MISSING_STATUS).status_code == 404  # checked here
    first_backend = connection.connection.info.backend_pid
    _as_the_server_starts_a_request()
    assert alice_client.get(MISSING_STATUS).status_code == 404
    assert connection.connection.info.backend_pid == first_backend

    # No check ran, so the dropped connection fails its query: a clean, retryable 503 …
    drop_database_connection()
    _as_the_server_starts_a_request()
    dropped = alice_client.get(MISSING_STATUS)
    assert dropped.status_code == 503 and dropped["Retry-After"]
    # … and the next request works on a new connection.
    _as_the_server_starts_a_request()
    assert alice_client.get(MISSING_STATUS).status_code == 404
    assert connection.connection.info.backend_pid != first_backend


@pytest.mark.django_db(transaction=True)
def test_past_the_interval_the_check_runs_and_replaces_a_dropped_connection(
    alice_client, settings, postgres_with_health_checks, drop_database_connection
):
    settings.DATABASE_HEALTH_CHECK_INTERVAL_SEC = 60
    _as_the_server_starts_a_request()
    assert alice_client.get(MISSING_STATUS).status_code == 404
    first_backend = connection.connection.info.backend_pid

    settings.DATABASE_HEALTH_CHECK_INTERVAL_SEC = 0  # the last check is now older than the interval
    drop_database_connection()
    _as_the_server_starts_a_request()
    assert alice_client.get(MISSING_STATUS).status_code == 404
    assert connection.connection.info.backend_pid != first_backend
