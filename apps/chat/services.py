"""The chat assistant: one Gemini function-calling turn over the project context, then the
server-side checks that decide whether the answer reaches the phone as a proposal or as text."""

import json
import logging
from dataclasses import dataclass, field

from django.conf import settings

from apps.chat import texts
from apps.chat.context import ProjectContext
from apps.chat.prompt import ChatTurn, chat_config, conversation_contents, repair_contents
from apps.chat.tool_code import recover_tool_calls
from apps.chat.tools import MAX_STEPS
from apps.chat.validation import (
    Rejection,
    Step,
    has_warning,
    invalidated_kinds,
    separation_conflict,
    step_validate_against_context,
    step_validate_declaration,
)
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError
from apps.gemini.client import GeminiError, GeminiRateLimited, GeminiUnavailable, generate_content

logger = logging.getLogger(__name__)

GEMINI_PURPOSE = "chat"


@dataclass(frozen=True)
class ChatAnswer:
    kind: str  # "text" or "proposal"
    text: str = ""
    rationale: str = ""
    steps: list[Step] = field(default_factory=list)

    def as_response(self) -> dict:
        if self.kind == "text":
            return {"kind": "text", "text": self.text}
        return {
            "kind": "proposal",
            "proposal": {
                "rationale": self.rationale,
                "steps": [{"name": step.name, "args": step.args} for step in self.steps],
            },
        }


@dataclass(frozen=True)
class ModelAnswer:
    """Candidate 0 of a generateContent answer: its text and its calls, structured or recovered."""

    text: str
    calls: list[tuple[object, object]]
    from_tool_code: bool = False
    refused_tool_code: int = 0


class ChatRetryLater(ApiError):
    """Gemini is busy or down even after the client's retries; the phone may ask again later."""


def model_answer_parse(response) -> ModelAnswer:
    candidates = getattr(response, "candidates", None) or []
    content = candidates[0].content if candidates else None
    parts = (content.parts if content else None) or []
    texts_found, calls = [], []
    for part in parts:
        if part.function_call is not None:
            calls.append((part.function_call.name, part.function_call.args))
        elif part.text and not part.thought:
            texts_found.append(part.text)
    text = "".join(texts_found).strip()
    if calls or not text:
        return ModelAnswer(text=text, calls=calls)
    recovered = recover_tool_calls(text)
    if not recovered.calls and not recovered.refused:
        return ModelAnswer(text=text, calls=[])
    return ModelAnswer(
        text=recovered.rationale or "",
        calls=[(call.name, call.args) for call in recovered.calls],
        from_tool_code=True,
        refused_tool_code=len(recovered.refused),
    )


@dataclass(frozen=True)
class _ModelFailure:
    """How a Gemini failure reaches the phone, and how the log names it."""

    upstream: type[GeminiError]
    log_level: int
    log_name: str
    raised: type[ApiError]
    status_code: int
    code: str
    detail: str


# The first row whose upstream error matches wins: GeminiError, the base of the others, comes last.
_MODEL_FAILURES = (
    _ModelFailure(
        GeminiRateLimited,
        logging.WARNING,
        "rate limited",
        ChatRetryLater,
        429,
        ErrorCode.RATE_LIMITED,
        "The assistant is busy right now; please try again in a few seconds.",
    ),
    _ModelFailure(
        GeminiUnavailable,
        logging.WARNING,
        "unavailable",
        ChatRetryLater,
        503,
        ErrorCode.ASSISTANT_UNAVAILABLE,
        "The assistant is temporarily unavailable; please try again in a moment.",
    ),
    _ModelFailure(
        GeminiError,
        logging.ERROR,
        "error",
        ApiError,
        502,
        ErrorCode.ASSISTANT_ERROR,
        "The assistant could not answer; please try again.",
    ),
)


def _ask_model(contents) -> ModelAnswer:
    try:
        response = generate_content(contents=contents, config=chat_config(), purpose=GEMINI_PURPOSE)
    except GeminiError as error:
        failure = next(row for row in _MODEL_FAILURES if isinstance(error, row.upstream))
        logger.log(failure.log_level, "chat: gemini %s: %s", failure.log_name, error)
        raise failure.raised(failure.code, failure.detail, status_code=failure.status_code) from error
    return model_answer_parse(response)


def _declaration_check(answer: ModelAnswer) -> tuple[list[Step], list[Rejection]]:
    steps: list[Step] = []
    rejections: list[Rejection] = []
    for name, args in answer.calls:
        checked = step_validate_declaration(name=name, args=args)
        if isinstance(checked, Step):
            steps.append(checked)
        else:
            rejections.append(checked)
    return steps, rejections


def _call_line(name: object, args: object) -> str:
    return f"{name}({json.dumps(args, ensure_ascii=False, default=str)})"


def chat_reply(*, turns: list[ChatTurn], context: ProjectContext, locale: str) -> ChatAnswer:
    """Answers the conversation as a text or a proposal of at most MAX_STEPS valid steps."""
    last_user_text = next((turn.text for turn in reversed(turns) if turn.role == "user"), None)
    language = texts.reply_language(last_user_text=last_user_text, locale=locale)
    turns = turns[-settings.CHAT_HISTORY_MAX_TURNS :]
    contents = conversation_contents(turns=turns, context=context, locale=locale)

    answer = _ask_model(contents)
    steps, rejections = _declaration_check(answer)
    if rejections or answer.refused_tool_code:
        problems = [f"{rejection.name}: {rejection.reason}" for rejection in rejections]
        if answer.refused_tool_code:
            problems.append("tool code with values that are not plain literals was ignored")
        logger.info("chat: asking the model to repair its calls: %s", problems)
        answer = _ask_model(
            repair_contents(
                contents=contents,
                model_text=answer.text,
                call_lines=[_call_line(name, args) for name, args in answer.calls],
                problems=problems,
            )
        )
        steps, rejections = _declaration_check(answer)
        if rejections:
            logger.info("chat: calls still malformed after repair: %s", [r.reason for r in rejections])
            if not steps:
                return ChatAnswer(kind="text", text=texts.text("no_valid_steps", language))
        if answer.refused_tool_code and not answer.calls:
            return ChatAnswer(kind="text", text=texts.text("no_valid_steps", language))

    if not answer.calls:
        return ChatAnswer(kind="text", text=answer.text or texts.text("empty_model_answer", language))

    usable, context_rejections = [], []
    for step in steps:
        rejection = step_validate_against_context(step=step, context=context)
        if rejection:
            logger.info("chat: dropped step %s: %s", step.name, rejection.reason)
            context_rejections.append(rejection)
        else:
            usable.append(step)
    dropped = len(answer.calls) - len(usable)
    if not usable:
        reasons = texts.rejection_reasons(
            reasons=[rejection.reason for rejection in context_rejections],
            timeline_end_ms=context.timeline_end_ms,
            language=language,
        )
        return ChatAnswer(kind="text", text=" ".join([*reasons, texts.text("no_valid_steps", language)]))

    for step in usable:
        conflict = separation_conflict(step=step, context=context)
        if conflict:
            return ChatAnswer(
                kind="text",
                text=texts.overlap_options(
                    requested=conflict.requested,
                    conflicts=conflict.conflicts,
                    free_parts=conflict.free_parts,
                    replace_range=conflict.replace_range,
                    processing=conflict.processing,
                    language=language,
                ),
            )

    notes = []
    if dropped:
        notes.append(texts.text("dropped_steps", language, count=dropped))
    if len(usable) > MAX_STEPS:
        usable = usable[:MAX_STEPS]
        notes.append(texts.text("steps_cut", language, limit=MAX_STEPS))
    rationale = answer.text or texts.text("default_rationale", language)
    kinds = invalidated_kinds(steps=usable, context=context)
    if kinds and not has_warning(rationale):
        notes.append(texts.invalidation_warning(kinds=kinds, language=language))
    return ChatAnswer(kind="proposal", rationale="\n\n".join([rationale, *notes]), steps=usable)
