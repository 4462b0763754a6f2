"""The ops tests reuse the fault tests' harness of real worker processes (tests/faults/conftest.py) and
the admin fixtures of the job tests (tests/jobs/conftest.py)."""

from tests.faults.conftest import broker_url, processes, pytest_runtest_makereport, speech_wav, workers  # noqa: F401
from tests.jobs.conftest import no_broker, staff_client  # noqa: F401
