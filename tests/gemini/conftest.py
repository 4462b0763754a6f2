import pytest

from tests.gemini.sim import gemini_sim_control


@pytest.fixture
def gemini_sim(simulators, settings):
    """The Gemini simulator, reset, with retry backoff shortened so failures retry fast."""
    settings.GEMINI_BACKOFF_BASE_MS = 10
    settings.GEMINI_BACKOFF_MAX_MS = 50
    gemini_sim_control(simulators, reset=True)
    yield simulators
    gemini_sim_control(simulators, reset=True)
