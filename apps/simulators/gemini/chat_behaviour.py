"""How the Gemini simulator answers chat requests (generateContent with `tools`).

Deterministic: the answer depends on recognisable text in the LAST user message (see docs/chat.md
for the trigger phrases). Ids and times come from the project context the request carries, the way
a well-behaved model would pick them, except in the triggers that imitate a misbehaving model.
"""

import json
import re

from apps.chat.prompt import CONTEXT_MARKER, REPAIR_MARKER
from apps.chat.understanding.planner import interpret

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _request_view(body: dict) -> tuple[list[tuple[str, str]], dict]:
    """The turns as (role, text) with the context part removed, and the context itself."""
    turns, context = [], {}
    for content in body.get("contents") or []:
        pieces = []
        for part in content.get("parts") or []:
            text = part.get("text") if isinstance(part, dict) else None
            if not text:
                continue
            if text.startswith(CONTEXT_MARKER):
                try:
                    context = json.loads(text.split("\n", 2)[1])
                except (IndexError, ValueError):
                    context = {}
                continue
            pieces.append(text)
        turns.append((content.get("role") or "user", "\n".join(pieces)))
    return turns, context


def _user_texts(turns: list[tuple[str, str]]) -> list[str]:
    return [text for role, text in turns if role == "user" and text]


def _body(parts: list[dict], body: dict) -> dict:
    prompt_chars = len(json.dumps(body.get("contents") or [], ensure_ascii=False))
    answer_chars = len(json.dumps(parts, ensure_ascii=False))
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": max(1, prompt_chars // 4),
            "candidatesTokenCount": max(1, answer_chars // 4),
            "totalTokenCount": max(1, prompt_chars // 4) + max(1, answer_chars // 4),
        },
        "modelVersion": "simulated-gemini",
    }


def _text(text: str) -> dict:
    return {"text": text}


def _call(name: str, **args) -> dict:
    return {"functionCall": {"name": name, "args": args}}


def _first_id(context: dict, key: str, fallback: str) -> str:
    items = context.get(key) or []
    return items[0]["id"] if items else fallback


def _segment_id(context: dict) -> str:
    return context.get("selectedSegmentId") or _first_id(context, "segments", "seg-1")


def _bgm_id(context: dict) -> str:
    return _first_id(context, "bgmClips", "bgm-1")


def _duration(context: dict) -> int:
    return context.get("videoDurationMs") or 60_000


# --- Scripted misbehaviour, keyed by `sim:` tags ---------------------------------------------------


def _malformed_call(tag: str, context: dict) -> dict:
    segment = _segment_id(context)
    if tag == "unknown-tool":
        return _call("set_segment_loudness", segmentId=segment, volumeScale=0.5)
    if tag == "missing-arg":
        return _call("update_segment_volume", segmentId=segment)
    return _call("update_segment_volume", segmentId=segment, volumeScale="half")


def _repaired_call(context: dict) -> dict:
    return _call("update_segment_volume", segmentId=_segment_id(context), volumeScale=0.5)


def _request_summary(body: dict) -> dict:
    """What the chat sent, for tests that check the request itself."""
    declarations = [
        declaration for tool in body.get("tools") or [] for declaration in tool.get("functionDeclarations") or []
    ]
    contents = body.get("contents") or []
    system_parts = (body.get("systemInstruction") or {}).get("parts") or [{}]
    return {
        "roles": [content.get("role") for content in contents],
        "contextTurn": next(
            (
                index
                for index, content in enumerate(contents)
                for part in content.get("parts") or []
                if str(part.get("text", "")).startswith(CONTEXT_MARKER)
            ),
            None,
        ),
        "lastTurnParts": len(contents[-1].get("parts") or []) if contents else 0,
        "toolNames": [declaration.get("name") for declaration in declarations],
        "functionCallingMode": ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode"),
        "systemInstructionStart": str(system_parts[0].get("text", ""))[:40],
    }


def _tagged_answer(tag: str, text: str, context: dict, korean: bool, request_body: dict) -> list[dict] | None:
    segment, bgm, duration = _segment_id(context), _bgm_id(context), _duration(context)
    if tag == "text":
        return [_text("어떤 편집을 도와드릴까요?" if korean else "What would you like to change?")]
    if tag == "echo-request":
        return [_text(json.dumps(_request_summary(request_body), ensure_ascii=False))]
    if tag == "empty":
        return []
    if tag in ("malformed-unknown-tool", "malformed-missing-arg", "malformed-wrong-type", "malformed-twice"):
        return [_text("Lowering the volume."), _malformed_call(tag.removeprefix("malformed-"), context)]
    if tag == "hallucinated-id":
        return [
            _text("Updating the subtitle."),
            _call("update_subtitle_text", clipId="clip-that-does-not-exist", text="Hello"),
            _call("update_bgm_volume", clipId=bgm, volumeScale=0.4),
        ]
    if tag == "hallucinated-id-only":
        return [_text("Updating the subtitle."), _call("update_subtitle_text", clipId="sub-999", text="Hello")]
    if tag == "out-of-range":
        return [
            _text("Deleting the end."),
            _call("delete_segment_range", segmentId=segment, startMs=duration - 1000, endMs=duration + 5000),
        ]
    if tag == "reversed-range":
        return [_call("delete_segment_range", segmentId=segment, startMs=3000, endMs=1000)]
    if tag == "overlap":
        directive = (context.get("separationDirectives") or context.get("processingSeparations") or [{}])[0]
        start = max(0, directive.get("rangeStartMs", 0) - 2000)
        end = min(duration, directive.get("rangeEndMs", 4000) + 3000)
        return [
            _text("Separating the range."),
            _call("separate_audio_range", segmentId=segment, startMs=start, endMs=end),
        ]
    if tag == "old-range-names":
        return [_call("separate_audio_range", segmentId=segment, trimStartMs=1000, trimEndMs=3000)]
    if tag == "no-warning":
        return [_text("Deleting 1–2 s."), _call("delete_segment_range", segmentId=segment, startMs=1000, endMs=2000)]
    if tag == "many-steps":
        starts = range(0, 7000, 1000)
        return [_text("Deleting seven short pieces.")] + [
            _call("delete_segment_range", segmentId=segment, startMs=start, endMs=start + 500) for start in starts
        ]
    if tag == "multi-call":
        return [
            _text("Lowering the music and moving it."),
            _call("update_bgm_volume", clipId=bgm, volumeScale=0.3),
            _call("move_bgm_clip", clipId=bgm, newStartMs=2000),
        ]
    if tag == "nulls":
        return [_call("update_segment_volume", segmentId=segment, volumeScale=1.5, startMs=None, endMs=None)]
    if tag == "float-times":
        return [_call("delete_segment_range", segmentId=segment, startMs=1000.0, endMs=2000.0)]
    if tag == "tool-code-python":
        code = f'print(default_api.update_bgm_volume(clipId="{bgm}", volumeScale=0.3))'
        return [_text(f"```tool_code\n{code}\n```")]
    if tag == "tool-code-python-list":
        return [
            _text(
                "```tool_code\nprint(default_api.transcribe_for_subtitles(sourceLanguageCode='auto', "
                "targetLanguageCodes=['en', 'ja']))\n```"
            )
        ]
    if tag == "tool-code-yaml":
        return [
            _text(
                '```\nkind: proposal\nrationale: "Lower the music, then move it to 2 s."\nsteps:\n'
                f'  - tool: default_api.update_bgm_volume\n    args:\n      clipId: "{bgm}"\n'
                f"      volumeScale: 0.3\n  - tool: move_bgm_clip\n    args:\n      clipId: {bgm}\n"
                "      newStartMs: 2000\n```"
            )
        ]
    if tag == "tool-code-hostile":
        return [
            _text(
                "```tool_code\nprint(default_api.update_bgm_volume(clipId=__import__('os').getcwd(), "
                "volumeScale=0.3))\n```"
            )
        ]
    return None


# --- Plain requests: the offline interpreter stands in for the model's understanding -------------


def _understood_answer(turns: list[tuple[str, str]], context: dict, locale: str) -> list[dict]:
    """What a well-behaved model answers: the offline interpreter's text, or its rationale and calls."""
    reply = interpret([(role, text) for role, text in turns if text], context, locale)
    if not reply.calls:
        return [_text(reply.text)]
    return [_text(reply.text)] + [_call(call.name, **call.args) for call in reply.calls]


def _locale(body: dict) -> str:
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            text = part.get("text") if isinstance(part, dict) else None
            if text and text.startswith(CONTEXT_MARKER):
                found = re.search(r"\[Locale fallback\]\s*(\S+)", text)
                if found:
                    return found.group(1)
    return "ko"


def answer(request_body: dict) -> dict:
    """The REST generateContent answer for a chat request."""
    turns, context = _request_view(request_body)
    user_texts = _user_texts(turns)
    last = user_texts[-1] if user_texts else ""
    if last.startswith(REPAIR_MARKER):
        original = user_texts[-2] if len(user_texts) >= 2 else ""
        if "sim:malformed-twice" in original:
            return _body([_text("Lowering the volume."), _malformed_call("wrong-type", context)], request_body)
        return _body([_text("Lowering the volume to half."), _repaired_call(context)], request_body)
    korean = bool(_HANGUL.search(last))
    tag = re.search(r"sim:([a-z-]+)", last)
    if tag:
        parts = _tagged_answer(tag.group(1), last, context, korean, request_body)
        if parts is not None:
            return _body(parts, request_body)
    return _body(_understood_answer(turns, context, _locale(request_body)), request_body)
