"""The chat corpus (tests/chat/corpus/) run against both paths: the offline interpreter directly,
and the API with the Gemini simulator over HTTP (whose model answers come from the same
interpreter, so the two paths cannot drift)."""

import pytest
from django.core.cache import cache

from apps.chat.tools import COSTLY_TOOLS
from apps.chat.understanding.planner import interpret
from tests.chat.corpus import GENERIC_ANSWERS, arguments_match, contexts, converse, load

CONTEXTS = contexts()
SINGLE = load("single_tool.jsonl")
MULTI = load("multi_step.jsonl")
NO_TOOL = load("no_tool.jsonl")
HELD_OUT = load("held_out.jsonl")
EDIT_CASES = SINGLE + MULTI
ALL_CASES = EDIT_CASES + NO_TOOL


def _offline(case):
    context = CONTEXTS[case.ctx]

    def ask(turns):
        reply = interpret(turns, context, "ko")
        if reply.calls:
            return "proposal", reply.text, [(call.name, call.args) for call in reply.calls]
        return "text", reply.text, []

    return ask


def _over_http(case, alice_client):
    context = CONTEXTS[case.ctx]

    def ask(turns):
        messages = [{"role": role, "content": text} for role, text in turns]
        response = alice_client.post(
            "/api/v2/chat", {"messages": messages, "projectContext": context, "locale": "ko"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        if body["kind"] == "proposal":
            return (
                "proposal",
                body["proposal"]["rationale"],
                [(step["name"], step["args"]) for step in body["proposal"]["steps"]],
            )
        return "text", body["text"], []

    return ask


def _check(case, outcome):
    if case.steps is None:
        assert outcome.kind == "text", outcome
        assert outcome.text not in GENERIC_ANSWERS
        for fragment in case.text_contains or []:
            assert fragment in outcome.text, outcome.text
        return
    costly = any(name in COSTLY_TOOLS for name, _ in case.steps)
    if costly and not case.no_confirm:
        assert outcome.confirmed, f"a costly request must be confirmed first: {outcome.first_text!r}"
    else:
        assert outcome.first_kind == "proposal", outcome.first_text
    assert outcome.kind == "proposal", outcome.text
    assert arguments_match(case.steps, outcome.steps), (case.steps, outcome.steps)


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case.known_miss)] if case.known_miss else []
    return pytest.param(case, marks=marks, id=case.id)


@pytest.mark.parametrize("case", [_param(case) for case in ALL_CASES + HELD_OUT])
def test_offline(case):
    _check(case, converse(case, _offline(case)))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["single_tool.jsonl", "multi_step.jsonl", "no_tool.jsonl", "held_out.jsonl"])
def test_through_the_gemini_simulator(name, alice_client, chat_sim):
    """Every case of a corpus file through POST /api/v2/chat (one database set-up per file)."""
    failures = []
    for case in load(name):
        if case.known_miss:
            continue
        cache.clear()  # the chat throttle counts every turn; it is not what this test is about
        try:
            _check(case, converse(case, _over_http(case, alice_client)))
        except AssertionError as error:
            failures.append(f"{case.id}: {error}")
    assert not failures, "\n".join(failures)


def test_the_corpus_covers_every_tool_in_both_languages():
    from apps.chat.tools import TOOLS

    for tool in TOOLS:
        for lang in ("en", "ko"):
            count = sum(1 for case in SINGLE if case.lang == lang and case.steps[0][0] == tool.name)
            assert count >= 6, (tool.name, lang, count)
    assert len(MULTI) >= 10 and all(len(case.steps) >= 2 for case in MULTI)
    assert len(NO_TOOL) >= 10
