"""The ops tests reuse the fault tests' harness of real worker processes (tests/faults/conftest.py)."""

from tests.faults.conftest import broker_url, processes, pytest_runtest_makereport, speech_wav, workers  # noqa: F401
