import psycopg
import pytest
from django.db import connection


@pytest.fixture
def drop_database_connection():
    """Terminates, from a second session, the backend of Django's current PostgreSQL connection, as a
    database restart or an idle timeout would."""
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (the test command uses it when reachable)")

    def drop() -> None:
        backend_pid = connection.connection.info.backend_pid
        settings_dict = connection.settings_dict
        with psycopg.connect(
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
            user=settings_dict["USER"],
            dbname=settings_dict["NAME"],
            autocommit=True,
        ) as admin_connection:
            admin_connection.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))

    return drop
