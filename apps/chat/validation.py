"""Server-side guarantees on the model's proposed steps; the model is not trusted.

Two kinds of problem: a step that breaks its declaration (unknown tool, missing required argument,
wrong type or range) is one the model can repair; a step that names ids absent from the project
or times outside the timeline is dropped.
"""

import math
from dataclasses import dataclass

from apps.chat.context import ProjectContext
from apps.chat.tools import STRUCTURAL_TOOLS, TOOLS_BY_NAME, Step, ToolParam
from apps.media.timeline import TimeRange


@dataclass(frozen=True)
class Rejection:
    name: str
    args: object
    reason: str  # English; goes to logs and to the model's repair prompt, never to the user verbatim


@dataclass(frozen=True)
class SeparationConflict:
    requested: TimeRange
    conflicts: list[TimeRange]
    free_parts: list[TimeRange]
    replace_range: TimeRange
    processing: bool


def step_validate_declaration(*, name: object, args: object) -> Step | Rejection:
    """Checks a call against its declaration and returns it cleaned: optional nulls and unknown
    arguments left out, old argument names mapped, integral floats made integers."""
    tool = TOOLS_BY_NAME.get(name) if isinstance(name, str) else None
    if tool is None:
        return Rejection(str(name), args, f"unknown tool {name!r}")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return Rejection(tool.name, args, "arguments must be an object")
    renamed = dict(args)
    for old_name, new_name in tool.aliases.items():
        if old_name in renamed:
            value = renamed.pop(old_name)
            renamed.setdefault(new_name, value)
    cleaned = {}
    for param in tool.params:
        value = renamed.get(param.name)
        if value is None:
            if param.required:
                return Rejection(tool.name, args, f"missing required argument {param.name!r}")
            continue
        coerced, problem = _coerce(param, value)
        if problem:
            return Rejection(tool.name, args, f"argument {param.name!r} {problem}")
        cleaned[param.name] = coerced
    if tool.name == "separate_audio_range" and "segmentId" in cleaned and "bgmClipId" in cleaned:
        return Rejection(tool.name, args, "give segmentId or bgmClipId, not both")
    return Step(tool.name, cleaned)


def _coerce(param: ToolParam, value: object) -> tuple[object, str | None]:
    if param.type == "string":
        if not isinstance(value, str):
            return None, "must be a string"
        if param.name != "text" and not value.strip():
            return None, "must not be empty"
        return value, None
    if param.type == "array":
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            return None, "must be a list of strings"
        if not value:
            return None, "must list at least one value"
        return list(dict.fromkeys(item.strip() for item in value)), None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"must be {'an integer' if param.type == 'integer' else 'a number'}"
    if param.type == "integer":
        if isinstance(value, float) and not value.is_integer():
            return None, "must be a whole number of milliseconds"
        value = int(value)
    else:
        value = float(value)
    if param.is_time:
        return value, None  # times are checked against the project, not the declaration
    if param.minimum is not None and value < param.minimum:
        return None, f"must be at least {param.minimum:g}"
    if param.maximum is not None and value > param.maximum:
        return None, f"must be at most {param.maximum:g}"
    return value, None


def step_validate_against_context(*, step: Step, context: ProjectContext) -> Rejection | None:
    """Ids must exist in the project; times must lie within [0, videoDurationMs] and ranges be non-empty."""
    tool = TOOLS_BY_NAME[step.name]
    for param in tool.params:
        value = step.args.get(param.name)
        if value is None:
            continue
        if param.refers_to and not context.has_id(param.refers_to, value):
            return Rejection(step.name, step.args, f"{param.name} {value!r} is not in the project")
        if param.is_time and not 0 <= value <= context.timeline_end_ms:
            return Rejection(
                step.name, step.args, f"{param.name}={value} is outside the timeline [0, {context.timeline_end_ms}]"
            )
    for start_name, end_name in (("startMs", "endMs"), ("newStartMs", "newEndMs")):
        start, end = step.args.get(start_name), step.args.get(end_name)
        if start is not None and end is not None and start >= end:
            return Rejection(step.name, step.args, f"{start_name} must be before {end_name}")
    return None


def separation_requested_range(*, step: Step, context: ProjectContext) -> TimeRange:
    """The range a separate_audio_range step covers once the phone fills in what the model left out:
    the named segment or BGM clip, else the range being selected, else the whole video."""
    target = None
    if "segmentId" in step.args:
        target = context.item("segments", step.args["segmentId"])
    elif "bgmClipId" in step.args:
        target = context.item("bgmClips", step.args["bgmClipId"])
    if target is not None:
        fallback = TimeRange(target.get("startMs") or 0, target.get("endMs") or context.timeline_end_ms)
    else:
        fallback = context.pending_range or TimeRange(0, context.timeline_end_ms)
    return TimeRange(step.args.get("startMs", fallback.start_ms), step.args.get("endMs", fallback.end_ms))


def separation_conflict(*, step: Step, context: ProjectContext) -> SeparationConflict | None:
    """An existing or processing separation that the step's range overlaps, with the figures for the options."""
    if step.name != "separate_audio_range":
        return None
    requested = separation_requested_range(step=step, context=context)
    overlapping = [(kind, existing) for kind, existing in context.separation_ranges if requested.overlaps(existing)]
    if not overlapping:
        return None
    conflicts = sorted((existing for _, existing in overlapping), key=lambda existing: existing.start_ms)
    free_parts, cursor = [], requested.start_ms
    for existing in conflicts:
        if existing.start_ms > cursor:
            free_parts.append(TimeRange(cursor, min(existing.start_ms, requested.end_ms)))
        cursor = max(cursor, existing.end_ms)
    if cursor < requested.end_ms:
        free_parts.append(TimeRange(cursor, requested.end_ms))
    replace_range = TimeRange(
        min(requested.start_ms, conflicts[0].start_ms), max(requested.end_ms, *(c.end_ms for c in conflicts))
    )
    return SeparationConflict(
        requested=requested,
        conflicts=conflicts,
        free_parts=[part for part in free_parts if part.duration_ms > 0],
        replace_range=replace_range,
        processing=any(kind == "processing" for kind, _ in overlapping),
    )


def invalidated_kinds(*, steps: list[Step], context: ProjectContext) -> list[str]:
    """Kinds of earlier work a structural step would reset; empty when no warning is due."""
    if not any(step.name in STRUCTURAL_TOOLS for step in steps):
        return []
    return [kind for kind, count in context.derived_items().items() if count > 0]


def has_warning(rationale: str) -> bool:
    return "⚠" in rationale
