"""POST /api/v2/chat through the API, with the Gemini simulator answering over real HTTP."""

import json

import pytest

from apps.chat.prompt import SYSTEM_INSTRUCTION
from apps.jobs.models import ExternalCall
from tests.gemini.sim import gemini_sim_control

pytestmark = pytest.mark.django_db


def _answer(response, kind: str):
    """The answer of a 200 chat response of `kind` ("proposal" or "text"), which has no other field."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == kind, body
    assert set(body) == {"kind", kind}
    return body[kind]


def _proposal(response) -> dict:
    return _answer(response, "proposal")


def _text(response) -> str:
    return _answer(response, "text")


def test_text_answer(ask):
    assert _text(ask("sim:text hello there")) == "What would you like to change?"
    assert ExternalCall.objects.filter(service="gemini", status_code=200).count() == 1


def test_single_step_proposal_in_korean(ask):
    proposal = _proposal(ask("배경음악 볼륨을 30%로 줄여줘"))
    assert proposal["steps"] == [{"name": "update_bgm_volume", "args": {"clipId": "bgm-1", "volumeScale": 0.3}}]
    assert "배경음악" in proposal["rationale"]


def test_several_calls_in_one_proposal(ask):
    proposal = _proposal(ask("sim:multi-call"))
    assert [step["name"] for step in proposal["steps"]] == ["update_bgm_volume", "move_bgm_clip"]
    assert proposal["steps"][1]["args"] == {"clipId": "bgm-1", "newStartMs": 2000}
    assert proposal["rationale"] == "Lowering the music and moving it."


def test_multi_language_subtitles_are_one_step_with_a_list(ask):
    proposal = _proposal(ask("Make English, Japanese and Spanish subtitles right away"))
    assert proposal["steps"] == [
        {
            "name": "transcribe_for_subtitles",
            "args": {"sourceLanguageCode": "auto", "targetLanguageCodes": ["en", "ja", "es"]},
        }
    ]


def test_costly_request_is_confirmed_first_then_proposed(ask):
    question = _text(ask("Please add English subtitles"))
    assert "Shall I go ahead?" in question
    history = [
        {"role": "user", "content": "Please add English subtitles"},
        {"role": "model", "content": question},
        {"role": "user", "content": "yes"},
    ]
    proposal = _proposal(ask(history))
    assert proposal["steps"][0]["args"]["targetLanguageCodes"] == ["en"]


def test_request_to_gemini_carries_tools_instruction_and_context_on_the_last_user_turn(ask):
    history = [
        {"role": "model", "content": "Hi!"},
        {"role": "model", "content": "Ask me anything."},
        {"role": "user", "content": "Make subtitles"},
        {"role": "model", "content": "   "},
        {"role": "user", "content": "sim:echo-request"},
    ]
    sent = json.loads(_text(ask(history)))
    assert sent["roles"] == ["user", "model", "user"]  # a user turn first, adjacent turns merged, blanks skipped
    assert sent["contextTurn"] == 2 and sent["lastTurnParts"] == 2
    assert len(sent["toolNames"]) == 16 and "update_bgm_range" in sent["toolNames"]
    assert sent["functionCallingMode"] == "AUTO"
    assert sent["systemInstructionStart"] == SYSTEM_INSTRUCTION[:40]


def test_tool_code_answers_in_both_formats_are_recovered(ask):
    python = _proposal(ask("sim:tool-code-python"))
    assert python["steps"] == [{"name": "update_bgm_volume", "args": {"clipId": "bgm-1", "volumeScale": 0.3}}]
    yaml = _proposal(ask("sim:tool-code-yaml"))
    assert yaml["rationale"] == "Lower the music, then move it to 2 s."
    assert yaml["steps"] == [
        {"name": "update_bgm_volume", "args": {"clipId": "bgm-1", "volumeScale": 0.3}},
        {"name": "move_bgm_clip", "args": {"clipId": "bgm-1", "newStartMs": 2000}},
    ]
    with_list = _proposal(ask("sim:tool-code-python-list"))
    assert with_list["steps"] == [
        {
            "name": "transcribe_for_subtitles",
            "args": {"sourceLanguageCode": "auto", "targetLanguageCodes": ["en", "ja"]},
        }
    ]


def test_hostile_tool_code_is_refused_then_repaired(ask):
    proposal = _proposal(ask("sim:tool-code-hostile"))
    assert proposal["steps"] == [{"name": "update_segment_volume", "args": {"segmentId": "seg-1", "volumeScale": 0.5}}]
    assert ExternalCall.objects.filter(service="gemini").count() == 2


def test_hallucinated_id_is_dropped(ask):
    proposal = _proposal(ask("sim:hallucinated-id"))
    assert proposal["steps"] == [{"name": "update_bgm_volume", "args": {"clipId": "bgm-1", "volumeScale": 0.4}}]
    assert "1 step(s) were left out" in proposal["rationale"]
    refused = _text(ask("sim:hallucinated-id-only"))
    assert "more precisely" in refused and "isn't in the project" in refused


def test_out_of_range_times_are_refused(ask):
    out_of_range = _text(ask("sim:out-of-range"))
    assert "more precisely" in out_of_range and "outside the video (0-30 s)" in out_of_range
    assert "started after it ended" in _text(ask("sim:reversed-range"))
    assert "영상 길이(0~30초)를 벗어난" in _text(ask("sim:out-of-range 끝부분 지워줘"))


@pytest.mark.parametrize("kind", ["separationDirectives", "processingSeparations"])
def test_overlapping_separation_becomes_priced_options_cheapest_first(ask, project, kind):
    entry = {"rangeStartMs": 10000, "rangeEndMs": 20000}
    project[kind] = [
        {"id": "dir-1", "durationMs": 10000, "numberOfSpeakers": 2, **entry}
        if kind == "separationDirectives"
        else entry
    ]
    text = _text(ask("sim:overlap separate the voices", context=project))
    b, c, a = text.index("B)"), text.index("C)"), text.index("A)")
    assert b < c < a
    assert "0:08.0–0:10.0, 0:20.0–0:23.0: about 1 min" in text
    assert ("still processing" in text) == (kind == "processingSeparations")


def test_overlap_options_in_korean(ask, project):
    project["separationDirectives"] = [{"id": "dir-1", "rangeStartMs": 0, "rangeEndMs": 90000}]
    project["videoDurationMs"] = 200000
    project["segments"][0]["endMs"] = 200000
    text = _text(ask("sim:overlap 음성 분리해줘", context=project))
    assert "겹치지 않는 부분만 분리 — 1:30.0–1:33.0: 약 1분" in text
    assert "약 2분 (기존 결과는 사라져요)" in text


def test_separation_with_old_range_names_is_normalised(ask):
    proposal = _proposal(ask("sim:old-range-names"))
    assert proposal["steps"] == [
        {"name": "separate_audio_range", "args": {"segmentId": "seg-1", "startMs": 1000, "endMs": 3000}}
    ]


def test_invalidation_warning_is_appended_when_the_model_forgot(ask, project):
    with_subtitles = {
        **project,
        "subtitleClips": [{"id": "sub-1", "index": 1, "startMs": 0, "endMs": 2000, "text": "hi"}],
    }
    proposal = _proposal(ask("sim:no-warning", context=with_subtitles))
    assert proposal["rationale"].startswith("Deleting 1–2 s.")
    assert proposal["rationale"].endswith(
        "⚠ Applying this edit resets the existing subtitles, music placement. Do you want to go ahead?"
    )
    korean = _proposal(ask("sim:no-warning 1초부터 2초까지 지워줘"))
    assert korean["rationale"].endswith("⚠ 이 편집을 적용하면 기존 음원 배치이(가) 초기화됩니다. 진행할까요?")
    nothing_to_reset = _proposal(ask("sim:no-warning", context={**project, "bgmClips": []}))
    assert "⚠" not in nothing_to_reset["rationale"]


def test_more_than_five_steps_are_cut_to_five(ask, project):
    project["bgmClips"] = []
    proposal = _proposal(ask("sim:many-steps", context=project))
    assert len(proposal["steps"]) == 5
    assert [step["args"]["startMs"] for step in proposal["steps"]] == [0, 1000, 2000, 3000, 4000]
    assert "At most 5 steps" in proposal["rationale"]


def test_null_optionals_are_left_out_and_float_times_become_integers(ask):
    proposal = _proposal(ask("sim:nulls"))
    assert proposal["steps"][0]["args"] == {"segmentId": "seg-1", "volumeScale": 1.5}
    response = ask("sim:float-times")
    assert b'"startMs":1000,' in response.content
    assert _proposal(response)["steps"][0]["args"] == {"segmentId": "seg-1", "startMs": 1000, "endMs": 2000}


@pytest.mark.parametrize("tag", ["sim:malformed-unknown-tool", "sim:malformed-missing-arg", "sim:malformed-wrong-type"])
def test_malformed_call_is_repaired_once(ask, tag):
    proposal = _proposal(ask(tag))
    assert proposal["steps"] == [{"name": "update_segment_volume", "args": {"segmentId": "seg-1", "volumeScale": 0.5}}]
    assert proposal["rationale"] == "Lowering the volume to half."
    assert ExternalCall.objects.filter(service="gemini").count() == 2


def test_malformed_twice_becomes_a_text_answer(ask):
    assert "more precisely" in _text(ask("sim:malformed-twice"))
    assert ExternalCall.objects.filter(service="gemini").count() == 2


def test_empty_model_answer_becomes_a_text(ask):
    assert _text(ask("sim:empty please")) == "I couldn't come up with an answer. Could you say that again?"


def test_gemini_429_becomes_429_with_retry_after(ask, chat_sim):
    gemini_sim_control(chat_sim, fail_next=[429, 429])
    response = ask("sim:text")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert ExternalCall.objects.filter(service="gemini", status_code=429).count() == 2


def test_gemini_500_is_retried_then_becomes_503_with_a_retry_hint(ask, chat_sim):
    gemini_sim_control(chat_sim, fail_next=[500])
    assert _text(ask("sim:text")) == "What would you like to change?"
    gemini_sim_control(chat_sim, fail_next=[500, 503])
    response = ask("sim:text")
    assert response.status_code == 503
    assert response.json()["error"] == "assistant_unavailable"
    assert "try again" in response.json()["detail"]
    assert response["Retry-After"]


def test_gemini_unusable_key_becomes_502(ask, settings):
    settings.GEMINI_API_KEY = "wrong-key"
    response = ask("sim:text")
    assert response.status_code == 502
    assert response.json()["error"] == "assistant_error"
    assert "wrong-key" not in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [], "projectContext": {}},
        {"projectContext": {}},
        {"messages": None},
    ],
)
def test_missing_messages_is_400_messages_required(alice_client, body):
    response = alice_client.post("/api/v2/chat", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "messages required"}


@pytest.mark.parametrize(
    "body",
    [
        [{"role": "user", "content": "hi"}],
        {"messages": "hi"},
        {"messages": [{"role": "system", "content": "hi"}]},
        {"messages": [{"content": "hi"}]},
        {"messages": [{"role": "user", "content": "hi"}], "projectContext": {"segments": "seg-1"}},
        {
            "messages": [{"role": "user", "content": "hi"}],
            "projectContext": {"segments": [{"id": "s", "startMs": "x"}]},
        },
        {"messages": [{"role": "user", "content": "hi"}], "projectContext": {"separationDirectives": [{"id": "d"}]}},
        {"messages": [{"role": "user", "content": "hi"}], "projectContext": []},
    ],
)
def test_malformed_bodies_are_400_in_the_error_shape(alice_client, body):
    response = alice_client.post("/api/v2/chat", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"error", "detail"} and response.json()["error"]


def test_invalid_json_is_400(alice_client):
    response = alice_client.post("/api/v2/chat", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_unknown_keys_ignored_and_nulls_accepted(alice_client, chat_sim):
    body = {
        "messages": [{"role": "user", "content": "sim:text", "id": "client-only"}],
        "projectContext": {
            "segments": None,
            "bgmClips": [{"id": "bgm-1", "startMs": 0, "endMs": 1000, "volumeScale": None, "speed": 1.0}],
            "selectedSegmentId": None,
            "pendingRangeStartMs": None,
            "futureField": {"x": 1},
        },
        "locale": None,
        "clientVersion": "2.1",
    }
    response = alice_client.post("/api/v2/chat", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"kind": "text", "text": "What would you like to change?"}


def test_chat_requires_a_bearer_token(client):
    response = client.post(
        "/api/v2/chat", {"messages": [{"role": "user", "content": "hi"}]}, content_type="application/json"
    )
    assert response.status_code == 401
