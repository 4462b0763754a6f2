import copy

import pytest

PROJECT = {
    "segments": [
        {
            "id": "seg-1",
            "startMs": 0,
            "endMs": 30000,
            "sourceUri": "IMG_0001.mov",
            "speedScale": 1.0,
            "volumeScale": 1.0,
        }
    ],
    "subtitleClips": [],
    "dubClips": [],
    "bgmClips": [{"id": "bgm-1", "startMs": 5000, "endMs": 20000, "volumeScale": 1.0, "speedScale": 1.0}],
    "separationStems": [],
    "separationDirectives": [],
    "processingSeparations": [],
    "currentPlayheadMs": 0,
    "isRangeSelecting": False,
    "videoDurationMs": 30000,
}


@pytest.fixture
def chat_sim(gemini_sim, settings):
    """The Gemini simulator over HTTP, reset, with the client's retry backoff made shorter still."""
    settings.GEMINI_BACKOFF_BASE_MS = 1
    settings.GEMINI_BACKOFF_MAX_MS = 5
    settings.GEMINI_MAX_ATTEMPTS = 2
    return gemini_sim


@pytest.fixture
def project() -> dict:
    return copy.deepcopy(PROJECT)


@pytest.fixture
def ask(alice_client, chat_sim, project):
    """Sends one chat turn (or a whole history) and returns the response."""

    def _ask(text_or_messages, *, context: dict | None = None, locale: str = "ko"):
        messages = (
            [{"role": "user", "content": text_or_messages}] if isinstance(text_or_messages, str) else text_or_messages
        )
        body = {"messages": messages, "projectContext": project if context is None else context, "locale": locale}
        return alice_client.post("/api/v2/chat", body, format="json")

    return _ask
