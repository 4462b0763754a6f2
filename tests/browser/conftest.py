"""The browser tests reuse the fault tests' harness of real worker processes (tests/faults/conftest.py)."""

import pytest

from tests.conftest import _close_worker_thread_connections
from tests.faults.conftest import broker_url, processes, pytest_runtest_makereport, speech_wav, workers  # noqa: F401


@pytest.fixture(autouse=True)
def end_live_server_sessions(transactional_db):
    """The live server's threads keep database sessions open; end them so the test database can be dropped."""
    yield
    _close_worker_thread_connections()
