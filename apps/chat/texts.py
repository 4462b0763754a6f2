"""Sentences the server itself adds to chat answers, in Korean and English.

The reply language follows the user's last turn: Korean when it contains Hangul, else English;
the request's `locale` decides only when the last user turn has no letters at all.
"""

import math
import re

from apps.media.timeline import TimeRange

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LETTER = re.compile(r"[^\W\d_]")

TEXTS = {
    "default_rationale": {
        "ko": "요청하신 작업을 다음과 같이 적용하려고 합니다.",
        "en": "Here is how I would apply your request.",
    },
    "no_valid_steps": {
        "ko": "요청을 실행 가능한 편집으로 바꾸지 못했어요. 어떤 구간이나 클립을 바꿀지 조금 더 구체적으로 알려주세요.",
        "en": "I couldn't turn that into an edit I can apply. Could you tell me more precisely "
        "which range or clip to change?",
    },
    "empty_model_answer": {
        "ko": "답변을 만들지 못했어요. 다시 한 번 말씀해 주세요.",
        "en": "I couldn't come up with an answer. Could you say that again?",
    },
    "dropped_steps": {
        "ko": "(프로젝트에 없는 항목이나 범위를 벗어난 시간을 가리켜 {count}개 단계는 제외했어요.)",
        "en": "({count} step(s) were left out because they referred to items or times outside the project.)",
    },
    "steps_cut": {
        "ko": "(한 번에 최대 {limit}개 단계만 제안할 수 있어 처음 {limit}개만 담았어요. 나머지는 이어서 요청해 주세요.)",
        "en": "(At most {limit} steps fit in one proposal, so only the first {limit} are included; "
        "ask again for the rest.)",
    },
    "invalidation_warning": {
        "ko": "⚠ 이 편집을 적용하면 기존 {items}이(가) 초기화됩니다. 진행할까요?",
        "en": "⚠ Applying this edit resets the existing {items}. Do you want to go ahead?",
    },
}

DERIVED_ITEM_NAMES = {
    "separations": {"ko": "음성분리", "en": "audio separations"},
    "subtitles": {"ko": "자막", "en": "subtitles"},
    "dubs": {"ko": "더빙", "en": "dubs"},
    "bgm": {"ko": "음원 배치", "en": "music placement"},
}


def reply_language(*, last_user_text: str | None, locale: str | None) -> str:
    if last_user_text and _HANGUL.search(last_user_text):
        return "ko"
    if last_user_text and _LETTER.search(last_user_text):
        return "en"
    return "ko" if (locale or "").lower().startswith("ko") else "en"


def text(key: str, language: str, **values) -> str:
    return TEXTS[key][language].format(**values)


def rejection_reasons(*, reasons: list[str], timeline_end_ms: int, language: str) -> list[str]:
    """Why the server refused the proposed steps, in the user's words (the model's reasons are English
    and technical): unknown items, times outside the video, empty or reversed ranges."""
    seconds = f"{timeline_end_ms / 1000:g}"
    sentences = {
        "not in the project": {
            "ko": "프로젝트에 없는 클립이나 항목을 가리키고 있었어요.",
            "en": "It referred to a clip or item that isn't in the project.",
        },
        "outside the timeline": {
            "ko": f"영상 길이(0~{seconds}초)를 벗어난 시간이었어요.",
            "en": f"The time was outside the video (0-{seconds} s).",
        },
        "must be before": {
            "ko": "구간의 시작이 끝보다 뒤에 있었어요.",
            "en": "The range started after it ended.",
        },
    }
    found = []
    for marker, sentence in sentences.items():
        if any(marker in reason for reason in reasons):
            found.append(sentence[language])
    return found


def invalidation_warning(*, kinds: list[str], language: str) -> str:
    separator = "/" if language == "ko" else ", "
    items = separator.join(DERIVED_ITEM_NAMES[kind][language] for kind in kinds)
    return text("invalidation_warning", language, items=items)


def _clock(ms: int) -> str:
    seconds = ms / 1000
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _span(time_range: TimeRange) -> str:
    return f"{_clock(time_range.start_ms)}–{_clock(time_range.end_ms)}"


def _processing_minutes(duration_ms: int) -> int:
    return max(1, math.ceil(duration_ms / 60_000)) if duration_ms > 0 else 0


def overlap_options(
    *,
    requested: TimeRange,
    conflicts: list[TimeRange],
    free_parts: list[TimeRange],
    replace_range: TimeRange,
    processing: bool,
    language: str,
) -> str:
    """The text answer for a separation overlapping an existing one: options B, C, A, cheapest first."""
    free_ms = sum(part.duration_ms for part in free_parts)
    spans = ", ".join(_span(part) for part in free_parts)
    conflict_spans = ", ".join(_span(part) for part in conflicts)
    if language == "ko":
        lead = (
            f"요청하신 구간({_span(requested)})이 이미 {'진행 중인' if processing else '완료된'} "
            f"음성분리({conflict_spans})와 겹쳐요. 겹치는 구간은 그대로 분리할 수 없어서 다음 중에 골라 주세요 "
            "(분리 1분당 약 1분 소요, 저렴한 순):"
        )
        option_b = (
            f"B) 겹치지 않는 부분만 분리 — {spans}: 약 {_processing_minutes(free_ms)}분"
            if free_parts
            else "B) 이미 모두 분리된 구간이라 새로 분리할 부분이 없어요 — 0분"
        )
        option_c = (
            f"C) 여러 개의 짧은 구간으로 나눠 분리(겹친 부분도 따로 다시 분리) — "
            f"약 {_processing_minutes(requested.duration_ms)}분"
        )
        option_a = (
            f"A) 기존 분리를 지우고 {_span(replace_range)} 전체를 다시 분리 — "
            f"약 {_processing_minutes(replace_range.duration_ms)}분 (기존 결과는 사라져요)"
        )
        return "\n".join([lead, option_b, option_c, option_a, "어떤 방법으로 진행할까요?"])
    lead = (
        f"The range you asked for ({_span(requested)}) overlaps an audio separation that is "
        f"{'still processing' if processing else 'already done'} ({conflict_spans}). An overlapping range "
        "can't be separated as is; choose one of these (separation takes about one minute per minute of "
        "audio; cheapest first):"
    )
    option_b = (
        f"B) Separate only the part that doesn't overlap — {spans}: about {_processing_minutes(free_ms)} min"
        if free_parts
        else "B) The whole range is already separated, so there is nothing new to separate — 0 min"
    )
    option_c = (
        "C) Separate it as several shorter ranges (the overlapping part re-separated on its own) — "
        f"about {_processing_minutes(requested.duration_ms)} min"
    )
    option_a = (
        f"A) Replace: delete the existing separation and separate {_span(replace_range)} again — "
        f"about {_processing_minutes(replace_range.duration_ms)} min (the old result is lost)"
    )
    return "\n".join([lead, option_b, option_c, option_a, "Which would you like?"])
