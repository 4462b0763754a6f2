"""Recorded real-world-style conversations (Korean and English) replayed through the API."""

import json
from pathlib import Path

import pytest

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.json"))

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[path.stem for path in TRANSCRIPTS])
def test_transcript(path, alice_client, chat_sim):
    transcript = json.loads(path.read_text(encoding="utf-8"))
    response = alice_client.post("/api/v2/chat", transcript["request"], format="json")
    assert response.status_code == 200, response.content
    body, expect = response.json(), transcript["expect"]
    assert body["kind"] == expect["kind"], body
    if body["kind"] == "text":
        text = body["text"]
        assert text == expect.get("text", text)
        for fragment in expect.get("textContains", []):
            assert fragment in text
        positions = [text.index(fragment) for fragment in expect.get("textOrder", [])]
        assert positions == sorted(positions)
        return
    proposal = body["proposal"]
    assert proposal["steps"] == expect["steps"]
    for fragment in expect.get("rationaleContains", []):
        assert fragment in proposal["rationale"]
    for fragment in expect.get("rationaleNotContains", []):
        assert fragment not in proposal["rationale"]
    assert proposal["rationale"].endswith(expect.get("rationaleEndsWith", ""))


def test_there_are_korean_and_english_transcripts():
    names = [path.stem for path in TRANSCRIPTS]
    assert any(name.startswith("ko_") for name in names) and any(name.startswith("en_") for name in names)
