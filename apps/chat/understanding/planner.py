"""The offline interpreter: a conversation and the project context in, a text answer or calls out.

Deterministic and local (no network): it stands in for Gemini in the embedded default and in tests,
and the Gemini simulator answers with what it returns. Steps:

1. An agreement ("yes", "네", "좋아") after a question completes the pending request (the previous user
   turn, read again against the current context, confirmation given); a refusal cancels it.
2. Questions, chit-chat and requests no tool can do get an answer (answers.py).
3. The request is cut into clauses; each clause gets a tool family (intents.py) — a clause without a
   verb inherits the previous clause's ("delete 1-2 s and 5-6 s") — then its arguments from the
   resolvers (times, references, scales, languages) with defaults from the context.
4. Costly tools are confirmed first unless the user said not to ask; missing required values are
   asked for instead of guessed.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from apps.chat.context import ProjectContext
from apps.chat.tools import COSTLY_TOOLS, MAX_STEPS, Step
from apps.chat.understanding import answers, intents
from apps.chat.understanding.languages import language_name, split_languages
from apps.chat.understanding.normalize import (
    MAX_REQUEST_CHARS,
    Clause,
    clause,
    is_korean,
    normalize,
    quotes,
    raw_clauses,
    split_clauses,
)
from apps.chat.understanding.references import (
    item_at,
    item_named,
    ordinals,
    pick,
    says_pending_range,
    says_this,
    subtitle_quoted,
)
from apps.chat.understanding.scales import speed_scale, volume_scale
from apps.chat.understanding.times import TimeFacts, strip_times, time_facts
from apps.chat.understanding.vocabulary import load_patterns

_SUBTITLE_AND_DUB_TOOLS = COSTLY_TOOLS - {"separate_audio_range"}  # what later length edits put out of sync

_CUES = load_patterns("planner.toml")


@dataclass
class Reply:
    """Either a text answer (no calls) or calls with their rationale."""

    text: str
    calls: list[Step] = field(default_factory=list)
    needs_confirmation: bool = False


class Missing(Exception):
    """A required value the user did not give and the context cannot supply: ask for it."""

    def __init__(self, en: str, ko: str):
        super().__init__(en)
        self.en, self.ko = en, ko


class _InTimelineOrder:
    """A list of the context read as an attribute of the project, its items in timeline order."""

    def __init__(self, key: str):
        self.key = key

    def __get__(self, project: "Project", owner: type | None = None) -> list[dict]:
        return project.items(self.key)


class Project(ProjectContext):
    """The context as the planner reads it: items in timeline order."""

    segments = _InTimelineOrder("segments")
    subtitles = _InTimelineOrder("subtitleClips")
    bgm = _InTimelineOrder("bgmClips")

    def items(self, key: str) -> list[dict]:
        return sorted(self._items(key), key=lambda item: (item.get("startMs") or 0, item.get("index") or 0))

    @property
    def stems(self) -> list[dict]:
        return self._items("separationStems")

    @property
    def pending(self) -> tuple[int, int] | None:
        selected = self.pending_range
        return (int(selected.start_ms), int(selected.end_ms)) if selected else None

    @property
    def selected_segment(self) -> dict | None:
        return self.selected_clip(self.segments, "selectedSegmentId")

    def selected_clip(self, clips: list[dict], key: str = "selectedClipId") -> dict | None:
        """The one of `clips` the phone's `key` field names."""
        selected_id = self.payload.get(key)
        return next((clip for clip in clips if clip.get("id") == selected_id), None)

    @property
    def playhead(self) -> int:
        return int(self.payload.get("currentPlayheadMs") or 0)

    @property
    def project_language(self) -> str | None:
        codes = [item.get("languageCode") for item in self.subtitles if item.get("languageCode")]
        return max(set(codes), key=codes.count) if codes else None


@dataclass
class Understood:
    family: str
    clause: Clause
    calls: list[Step]
    target: dict | None = None


# --- family detection ----------------------------------------------------------------------------


_BARE_SCALE = re.compile(
    r"(?<![\d.:])(?:0?\.\d+|[0-2](?:\.\d+)?)(?![\d.:])(?!\s*(?:초|s\b|sec|분|min|x\b|배|번|st\b|nd\b|rd\b|th\b))"
)


def _is_subtitle_edit(text: str, original: str, project: Project) -> bool:
    if "-->" in original:
        return False  # a pasted SRT is a script to apply
    has_quote = bool(quotes(original))
    if intents.WORDS["subtitle"].search(text):
        if has_quote:
            return True
        if split_languages(text)[0]:
            return False
        if _CUES["edit_strong"].search(text):
            return True
        one_subtitle = any(o.kind in ("subtitle", None) for o in ordinals(text)) or says_this(text)
        if one_subtitle and re.search(r"수정|고쳐|고치|바꿔|바꾸|변경|\bedit|\bfix|\bcorrect|\bchange|\brewrite", text):
            return True  # "두 번째 자막 수정해줘": the builder asks for the new text
        return bool(_CUES["edit_rewrite"].search(text)) and not _CUES["generate"].search(text)
    edit_words = _CUES["edit_strong"].search(text) or _CUES["edit_rewrite"].search(text)
    if project.subtitles and edit_words and re.search(r"\b(?:line|lines|text|caption)\b", text) and ordinals(text):
        return True
    if not has_quote or not edit_words:
        return False
    return subtitle_quoted(project.subtitles, quotes(original)) is not None


def family_of(text: str, original: str, project: Project) -> str | None:
    if _is_subtitle_edit(text, original, project):
        return "subtitle_text"
    if (
        project.subtitles
        and intents.WORDS["subtitle"].search(text)
        and intents.WORDS["delete"].search(text)
        and (any(o.kind in ("subtitle", None) for o in ordinals(text)) or says_this(text))
    ):
        return "subtitle_clear"  # no tool deletes a subtitle; the nearest is emptying its text
    music = intents.WORDS["music"].search(text)
    if intents.WORDS["dub"].search(text):
        return "dub"
    if intents.wants_subtitles(text) or (intents.WORDS["script"].search(text) and intents.WORDS["apply"].search(text)):
        return "subtitles"
    if intents.WORDS["translate"].search(text) and (project.subtitles or split_languages(text)[0]):
        return "subtitles"
    if music and intents.WORDS["fit"].search(text) and _CUES["directive"].search(text):
        return "bgm_place"
    if intents.WORDS["separate"].search(text):
        return "separate"
    sound_object = (
        music
        or intents.WORDS["voice"].search(text)
        or intents.WORDS["background"].search(text)
        or intents.WORDS["speaker"].search(text)
        or intents.WORDS["audio"].search(text)
    )
    strong_speed = re.search(
        r"speed|fast|slow|속도|배속|빠르|빨리|느리|느려|천천히|슬로|\d\s*x(?![a-z])|\d\s*배속|time[\s-]*lapse|타임\s*랩스",
        text,
    )
    strong_volume = re.search(
        r"volume|loud|quiet|mute|silen|\bsound|\bdb\b|\ddb\b|decibel|볼륨|(?<![목말])소리|음량|음소거|조용|시끄|데시벨|무음|들리|"
        r"\bturn\s+(?:[\w']+\s+){0,4}?(?:up|down)\b",
        text,
    )
    if strong_speed and not strong_volume:
        return "speed"
    if strong_volume or intents.WORDS["volume_direct"].search(text) or _CUES["percent_or_db"].search(text):
        if not (
            music
            and intents.WORDS["move"].search(text)
            and not strong_volume
            and not _CUES["percent_or_db"].search(text)
        ):
            return "volume"
    if sound_object and (
        re.search(
            r"키워|키우|크게|작게|줄여|줄이|높여|낮춰|올려|내려|잔잔|조용|또렷|선명|louder|quieter|softer|clearer|\bup\b|\bdown\b|"
            r"\blower\b|raise|boost|reduce|"
            r"\bhalf\b|절반|twice|double|꺼|끄|turn\s+(?:it\s+)?off|switch\s+off|\bsilence|\bkill",
            text,
        )
        or _BARE_SCALE.search(strip_times(text))
    ):
        if not (music and (intents.WORDS["move"].search(text) or intents.WORDS["fit"].search(text))):
            return "volume"
    if music and (intents.WORDS["move"].search(text) or intents.WORDS["fit"].search(text)):
        if not intents.WORDS["delete"].search(text) or intents.WORDS["move"].search(text):
            return "bgm_place"
    if intents.WORDS["speed"].search(text):
        return "speed"
    if intents.WORDS["duplicate"].search(text):
        return "duplicate"
    if intents.WORDS["delete"].search(text):
        if sound_object and not intents.WORDS["subtitle"].search(text):
            return "volume_off"
        return "delete"
    if music and not time_facts(text).empty:
        return "bgm_place"
    if re.search(r"\blength\b|\bduration\b|\blong\b|길이|분량", text) and time_facts(text).durations + [
        v for v in (time_facts(text).keep, time_facts(text).point) if v is not None
    ]:
        return "delete"  # "make the video 25 seconds long": cut what is past it
    return None


def _has_substance(text: str, previous_family: str) -> bool:
    """A verb-less clause worth inheriting the previous verb: it names another item or time
    ("delete 1-2 s and 5-6 s"), or, after a volume change, another sound ("…and the voice 150%")."""
    if ordinals(text) or not time_facts(text).empty:
        return previous_family not in ("subtitles", "dub")
    if previous_family in ("volume", "volume_off"):
        return bool(
            intents.WORDS["music"].search(text)
            or intents.WORDS["voice"].search(text)
            or intents.WORDS["background"].search(text)
            or intents.WORDS["speaker"].search(text)
            or _CUES["percent_or_db"].search(text)
        )
    return False


# --- argument resolution ---------------------------------------------------------------------------


def _segment_refs(text: str, project: Project, previous: dict | None) -> tuple[list[dict], bool]:
    """The segments the clause names, and whether it named them explicitly."""
    segments = project.segments
    refs = [ordinal for ordinal in ordinals(text) if ordinal.kind in (None, "segment")]
    if refs:
        chosen = [pick(segments, ordinal.index) for ordinal in refs]
        if any(item is None for item in chosen):
            raise Missing(
                f"The project has {len(segments)} clip(s); which one do you mean?",
                f"프로젝트에 클립이 {len(segments)}개 있어요. 어느 클립을 말씀하시는 건가요?",
            )
        return list({item["id"]: item for item in chosen if item is not None}.values()), True
    named = item_named(segments, text)
    if named:
        return [named], True
    if _CUES["all"].search(text) and re.search(r"\b(?:clip|segment|video|scene)s?\b|클립|영상", text):
        return segments[:MAX_STEPS], True
    at_time = _CUES["clip_at"].search(text)
    if at_time:
        moment = time_facts(at_time.group(0)).point or next(iter(time_facts(at_time.group(0)).durations), None)
        found = item_at(segments, moment) if moment is not None else None
        if found:
            return [found], True
    selected_item = project.selected_segment
    if says_this(text) and selected_item:
        return [selected_item], True
    if previous is not None and previous in segments:
        return [previous], True
    qualifier = _UNKNOWN_QUALIFIER_EN.search(text) or _UNKNOWN_QUALIFIER_KO.search(text)
    if qualifier and len(segments) > 1 and qualifier.group(1) not in _KNOWN_QUALIFIERS:
        # "the sunset clip", "바다 클립": a name the context cannot resolve; ask rather than guess
        listing_en = ", ".join(
            f"{n}) {item.get('sourceUri') or item['id']} ({_seconds(item.get('startMs') or 0)}-{_seconds(item.get('endMs') or 0)} s)"
            for n, item in enumerate(segments, 1)
        )
        listing_ko = ", ".join(
            f"{n}) {item.get('sourceUri') or item['id']} ({_seconds(item.get('startMs') or 0)}~{_seconds(item.get('endMs') or 0)}초)"
            for n, item in enumerate(segments, 1)
        )
        raise Missing(f"Which clip do you mean? {listing_en}", f"어느 클립을 말씀하시는 건가요? {listing_ko}")
    return [], False


_UNKNOWN_QUALIFIER_EN = re.compile(r"\bthe\s+([a-z]+)\s+(?:clip|video|footage|segment|scene|shot)\b")
_UNKNOWN_QUALIFIER_KO = re.compile(r"(?:^|\s)([가-힣]{2,})\s*(?:클립|영상|장면)")
_KNOWN_QUALIFIERS = {
    *"whole entire same current selected other next previous main original full this that my our new last first".split(),
    *"전체 모든 원본 이번 선택한 선택된 지금 현재 해당 그 이 저 전체 영상 동영상 비디오 다음 이전 마지막 처음 원래 각 모든".split(),
}


def _global_range(
    facts: TimeFacts, text: str, project: Project, base: tuple[int, int], *, named: bool = False
) -> tuple[int, int] | None:
    start, end = base
    if facts.ranges:
        return facts.ranges[0]
    if facts.head is not None:
        return start, min(end, start + facts.head)
    if facts.tail is not None:
        return max(start, end - facts.tail), end
    if facts.from_ms is not None:
        return facts.from_ms, end
    if facts.until_ms is not None:
        return start, facts.until_ms
    if facts.half == "first":
        return start, start + (end - start) // 2
    if facts.half == "second":
        return start + (end - start) // 2, end
    # the range being dragged, unless the user named something else ("delete the second clip")
    if project.pending and (says_pending_range(text) or not (_CUES["whole"].search(text) or named)):
        return project.pending
    return None


def _relative_if_needed(time_range: tuple[int, int], segment: dict, explicit: bool) -> tuple[int, int]:
    """Times given for a named clip read as times within that clip when they do not fit it globally."""
    seg_start, seg_end = segment.get("startMs") or 0, segment.get("endMs") or 0
    start, end = time_range
    inside = seg_start <= start and end <= seg_end
    if explicit and not inside and seg_start > 0 and end <= seg_end - seg_start:
        return start + seg_start, end + seg_start
    return time_range


def _segment_spans(
    text: str, project: Project, previous: dict | None, *, keep_means_delete_rest: bool
) -> list[tuple[dict, tuple[int, int] | None]]:
    """(segment, range or None for the whole segment) for each segment the clause acts on."""
    segments = project.segments
    if not segments:
        raise Missing("There is no video clip in the project yet.", "프로젝트에 아직 영상 클립이 없어요.")
    facts = time_facts(text)
    if keep_means_delete_rest and facts.keep is None and facts.point is not None and _CUES["trim_to"].search(text):
        facts.keep, facts.point = facts.point, None
    if keep_means_delete_rest and facts.tail is None and facts.durations and _CUES["shorten_by"].search(text):
        facts.tail = facts.durations.pop(0)
    if keep_means_delete_rest and facts.keep is None and facts.until_ms is not None and _CUES["keep"].search(text):
        facts.keep, facts.until_ms = facts.until_ms, None
    named, explicit = _segment_refs(text, project, previous)
    relative = facts.head is not None or facts.tail is not None or facts.half or facts.keep is not None
    selected_segment = project.selected_segment
    if not named and relative and not facts.ranges and selected_segment is not None:
        named = [selected_segment]  # "the last 3 seconds" of the clip the user has selected
    if named:
        spans: list[tuple[dict, tuple[int, int] | None]] = []
        for segment in named:
            base = (segment.get("startMs") or 0, segment.get("endMs") or 0)
            if keep_means_delete_rest and facts.keep is not None:
                spans.append((segment, (min(base[1], base[0] + facts.keep), base[1])))
                continue
            wanted = _global_range(facts, text, project, base, named=explicit)
            if wanted is None:
                spans.append((segment, None))
                continue
            if facts.ranges or facts.from_ms is not None or facts.until_ms is not None:
                wanted = _relative_if_needed(wanted, segment, explicit)
            spans.append((segment, (max(base[0], wanted[0]), min(base[1], wanted[1]))))
        return spans
    base = (0, project.timeline_end_ms)
    if keep_means_delete_rest and facts.keep is not None:
        wanted = (min(base[1], facts.keep), base[1])
    else:
        wanted = _global_range(facts, text, project, base)
    if wanted is None:
        if selected_segment is not None:
            return [(selected_segment, None)]
        return [(segment, None) for segment in segments]
    spans = []
    for segment in segments:
        start = max(wanted[0], segment.get("startMs") or 0)
        end = min(wanted[1], segment.get("endMs") or 0)
        if start < end:
            spans.append((segment, (start, end)))
    if not spans:
        raise Missing(
            f"That time is outside the video (it is {project.timeline_end_ms / 1000:g} s long).",
            f"영상 길이({project.timeline_end_ms / 1000:g}초)를 벗어난 시간이에요.",
        )
    return spans


def _range_args(time_range: tuple[int, int] | None) -> dict:
    return {} if time_range is None else {"startMs": int(time_range[0]), "endMs": int(time_range[1])}


def _bgm_clip(text: str, project: Project, previous: dict | None) -> dict:
    clips = project.bgm
    if not clips:
        raise Missing(
            "There is no background music in the project yet; add a music clip in the editor first.",
            "프로젝트에 배경음악이 아직 없어요. 편집기에서 음악을 먼저 추가해 주세요.",
        )
    refs = [ordinal for ordinal in ordinals(text) if ordinal.kind in ("bgm", None)]
    if refs:
        chosen = pick(clips, refs[0].index)
        if chosen is None:
            raise Missing(
                f"The project has {len(clips)} music clip(s); which one do you mean?",
                f"배경음악이 {len(clips)}개 있어요. 어느 음악을 말씀하시는 건가요?",
            )
        return chosen
    named = item_named(clips, text)
    if named:
        return named
    selected_item = project.selected_clip(clips)
    if selected_item is not None:
        return selected_item
    if previous is not None and previous in clips:
        return previous
    return clips[0]


def _stem_id(text: str, project: Project) -> str | None:
    stem_ids = [str(item.get("stemId")) for item in project.stems if item.get("stemId")]
    number = re.search(
        r"(?:speaker|person|화자|사람|목소리|voice)\s*#?\s*(\d+)(?![\d.]|\s*(?:%|퍼센트|프로|배|x\b|초|s\b|db|데시벨))|"
        r"(\d+)\s*(?:번째|번|st|nd|rd|th)?\s*(?:speaker|person|화자|사람|목소리)",
        text,
    )
    if number:
        return f"speaker_{number.group(1) or number.group(2)}"
    ordinal = next((o for o in ordinals(text) if o.kind == "speaker"), None)
    if ordinal is not None:
        speakers = sorted(stem for stem in stem_ids if stem.startswith("speaker_"))
        if ordinal.index < 0 and speakers:
            return speakers[ordinal.index]
        return f"speaker_{ordinal.index}"
    for stem in stem_ids:
        if stem.lower() in text and stem not in ("voice_all", "background"):
            return stem
    if intents.WORDS["background"].search(text) or (
        intents.WORDS["music"].search(text) and not project.bgm and "background" in stem_ids
    ):
        return "background"
    if intents.WORDS["voice"].search(text):
        return "voice_all"
    return None


# --- per-family builders ---------------------------------------------------------------------------


def _build_volume(
    c: Clause, project: Project, previous: dict | None, *, off: bool = False
) -> tuple[list[Step], dict | None]:
    text = c.text
    stem = (
        _stem_id(text, project)
        if (
            intents.WORDS["voice"].search(text)
            or intents.WORDS["background"].search(text)
            or intents.WORDS["speaker"].search(text)
            or (intents.WORDS["music"].search(text) and not project.bgm)
        )
        else None
    )
    if stem and not (
        intents.WORDS["music"].search(text)
        and project.bgm
        and stem == "background"
        and not intents.WORDS["background"].search(text)
    ):
        current = next((item.get("volume") for item in project.stems if item.get("stemId") == stem), 1.0)
        scale = 0.0 if off else _borrowed(volume_scale, c, current or 1.0)
        if scale is None:
            raise Missing("How loud should it be? For example 50% or twice as loud.", "얼마나 바꿀까요? 예: 50%, 두 배")
        if not project.stems:
            if project.payload.get("processingSeparations"):
                raise Missing(
                    "The audio separation is still processing; the voice and background volumes can be changed once it finishes.",
                    "음성 분리가 아직 진행 중이에요. 끝나면 목소리/배경음 볼륨을 바꿀 수 있어요.",
                )
            raise _NeedsSeparation()
        return [Step("update_stem_volume", {"stemId": stem, "volume": scale})], None
    segment_words = re.search(r"\b(?:clip|segment|video|footage)s?\b|클립|영상|세그먼트", text)
    if intents.WORDS["music"].search(text) or (
        previous is not None and previous in project.bgm and not ordinals(text) and not segment_words
    ):
        clips = (
            project.bgm if _CUES["all"].search(text) and len(project.bgm) > 1 else [_bgm_clip(text, project, previous)]
        )
        calls = []
        for clip in clips[:MAX_STEPS]:
            scale = 0.0 if off else _borrowed(volume_scale, c, clip.get("volumeScale") or 1.0)
            if scale is None:
                raise Missing("How loud should the music be? For example 30%.", "배경음악을 얼마나로 맞출까요? 예: 30%")
            calls.append(Step("update_bgm_volume", {"clipId": clip["id"], "volumeScale": scale}))
        return calls, clips[0] if len(clips) == 1 else None
    spans = _segment_spans(text, project, previous, keep_means_delete_rest=False)
    calls = []
    for segment, time_range in spans[:MAX_STEPS]:
        scale = 0.0 if off else _borrowed(volume_scale, c, segment.get("volumeScale") or 1.0)
        if scale is None:
            raise Missing(
                "How loud should it be? For example 50%, -6 dB or mute.", "볼륨을 얼마로 할까요? 예: 50%, -6dB, 음소거"
            )
        calls.append(
            Step("update_segment_volume", {"segmentId": segment["id"], "volumeScale": scale, **_range_args(time_range)})
        )
    return calls, spans[0][0] if len(spans) == 1 else None


class _NeedsSeparation(Exception):
    pass


def _strip_times(text: str) -> str:
    """The clause without its times and ordinals, so "5 to 10 seconds" or "clip 2" is not read as a scale."""
    text = strip_times(text)
    for ordinal in sorted(ordinals(text), key=lambda o: -o.start):
        text = text[: ordinal.start] + " " + text[ordinal.end :]
    return text


def _borrowed(read, c: Clause, current: float) -> float | None:
    """The clause's own value, else the one of the clause it shares its verb with ("mute the music and
    the voice", "음악이랑 목소리 꺼줘")."""
    value = read(_strip_times(c.text), current)
    if value is None and c.borrowed:
        value = read(_strip_times(c.borrowed), current)
    return value


def _build_speed(c: Clause, project: Project, previous: dict | None) -> tuple[list[Step], dict | None]:
    if intents.WORDS["music"].search(c.text) and not re.search(r"clip|video|영상|클립", c.text):
        raise Missing(
            "I can't change the music's speed directly; I can fit the music to a time range (that sets its speed), "
            'e.g. "fit the music to 0-20 s".',
            '배경음악 속도를 직접 바꿀 수는 없어요. 대신 음악을 특정 구간에 맞출 수 있어요(속도가 그에 맞춰져요). 예: "음악을 0~20초에 맞춰줘"',
        )
    spans = _segment_spans(c.text, project, previous, keep_means_delete_rest=False)
    calls = []
    for segment, time_range in spans[:MAX_STEPS]:
        scale = _borrowed(speed_scale, c, segment.get("speedScale") or 1.0)
        if scale is None:
            raise Missing("What speed? For example 2x or 0.5x.", "몇 배속으로 할까요? 예: 2배, 0.5배")
        calls.append(
            Step("update_segment_speed", {"segmentId": segment["id"], "speedScale": scale, **_range_args(time_range)})
        )
    return calls, spans[0][0] if len(spans) == 1 else None


def _build_cut(c: Clause, project: Project, previous: dict | None, tool: str) -> tuple[list[Step], dict | None]:
    spans = _segment_spans(c.text, project, previous, keep_means_delete_rest=tool == "delete_segment_range")
    calls = []
    for segment, time_range in spans[:MAX_STEPS]:
        time_range = time_range or (segment.get("startMs") or 0, segment.get("endMs") or 0)
        if time_range[0] >= time_range[1]:
            raise Missing(
                "That range is empty; which part should I use?", "빈 구간이에요. 어느 부분을 말씀하시는 건가요?"
            )
        calls.append(
            Step(tool, {"segmentId": segment["id"], "startMs": int(time_range[0]), "endMs": int(time_range[1])})
        )
    if tool == "delete_segment_range" and len(spans) > 1 and not time_facts(c.text).ranges and not project.pending:
        if not ordinals(c.text) and not _CUES["all"].search(c.text) and len(calls) == len(project.segments):
            raise Missing(
                "Which part should I delete? Give a clip or a time range.",
                "어느 부분을 삭제할까요? 클립이나 시간 구간을 알려주세요.",
            )
    return calls, spans[0][0] if len(spans) == 1 else None


def _build_separate(c: Clause, project: Project, previous: dict | None) -> tuple[list[Step], dict | None]:
    text = c.text
    if (
        intents.WORDS["music"].search(text)
        and project.bgm
        and not re.search(
            r"from\s+the\s+(?:music|song)|음악(?:에서|을\s*빼|\s*빼고)|배경음악\s*(?:과|와|이랑|하고)", text
        )
    ):
        clip = _bgm_clip(text, project, previous)
        facts = time_facts(text)
        time_range = _global_range(facts, text, project, (clip.get("startMs") or 0, clip.get("endMs") or 0))
        if time_range is not None and not (
            facts.ranges or facts.head or facts.tail or facts.from_ms or facts.until_ms or facts.half
        ):
            time_range = None
        return [Step("separate_audio_range", {"bgmClipId": clip["id"], **_range_args(time_range)})], clip
    spans = _segment_spans(text, project, previous, keep_means_delete_rest=False)
    return [
        Step("separate_audio_range", {"segmentId": segment["id"], **_range_args(time_range)})
        for segment, time_range in spans[:MAX_STEPS]
    ], spans[0][0] if len(spans) == 1 else None


def _earlier_languages(history: list[str]) -> tuple[list[str], str | None]:
    for text in reversed(history[-10:]):
        targets, source = split_languages(normalize(text[:MAX_REQUEST_CHARS]))
        if targets:
            return targets, source
    return [], None


def _build_subtitles(
    c: Clause, project: Project, previous: dict | None, language: str, history: list[str]
) -> tuple[list[Step], dict | None]:
    text = c.text
    targets, source = split_languages(text)
    if intents.WORDS["translate"].search(text) and not targets:
        raise Missing("Which language should the subtitles be in?", "어떤 언어로 자막을 만들까요?")
    source_code = source or project.project_language or "auto"
    if (intents.WORDS["lyrics"].search(text) or intents.WORDS["music"].search(text)) and project.bgm:
        clip = _bgm_clip(text, project, previous)
        codes = targets or [project.project_language or language]
        return [Step("generate_subtitles_for_bgm", {"clipId": clip["id"], "targetLanguageCodes": codes})], clip
    applying = (
        intents.WORDS["script"].search(text)
        and intents.WORDS["apply"].search(text)
        and not intents.WORDS["skip_review"].search(text)
    )
    if applying or "-->" in c.original:
        if not targets:
            targets, earlier_source = _earlier_languages(history)
            source = source or earlier_source
        codes = targets or [project.project_language or language]
        args: dict[str, Any] = {"targetLanguageCodes": codes}
        srt = re.search(r"(\d+\s*\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{3}\s*-->.*)", c.original, re.DOTALL)
        if srt:
            args["srt"] = srt.group(1).strip()
        if source:
            args["sourceLanguageCode"] = source
        return [Step("apply_subtitles_with_script", args)], None
    codes = targets or [project.project_language or language]
    tool = "generate_subtitles" if intents.WORDS["skip_review"].search(text) else "transcribe_for_subtitles"
    return [Step(tool, {"sourceLanguageCode": source_code, "targetLanguageCodes": codes})], None


def _build_dub(c: Clause, project: Project, previous: dict | None) -> tuple[list[Step], dict | None]:
    text = c.text
    targets, source = split_languages(text)
    if not targets:
        raise Missing(
            "Which language should the dub be in? For example English or Japanese.",
            "어떤 언어로 더빙할까요? 예: 영어, 일본어",
        )
    if (intents.WORDS["music"].search(text) or intents.WORDS["lyrics"].search(text)) and project.bgm:
        clip = _bgm_clip(text, project, previous)
        return [
            Step("generate_dub_for_bgm", {"clipId": clip["id"], "targetLanguageCode": code})
            for code in targets[:MAX_STEPS]
        ], clip
    source_code = source or project.project_language or "auto"
    return [
        Step("generate_dub", {"sourceLanguageCode": source_code, "targetLanguageCode": code})
        for code in targets[:MAX_STEPS]
    ], None


def _new_subtitle_text(c: Clause) -> str | None:
    found = quotes(c.original)
    if found:
        return found[-1]
    patterns = [
        r"(?:subtitle|caption|line|자막|문장|대사|캡션|오타\s*수정|typo)[^:\n]{0,40}:\s*(.+?)\s*$",
        r"(?:자막|문장|대사|캡션)(?:\s*(?:텍스트|문구|내용|글자|글))?\s*(?:을|를|은|는|이|가)?\s*(.+?)\s*"
        r"(?:으로|로|라고)\s*(?:바꿔|바꾸|수정|고쳐|고치|변경|교체|대체|써|적어|해)",
        r"\b(?:say|says|read|reads|should\s+be|should\s+say)\s*:?\s*(.+?)\s*(?:,?\s*(?:please|thanks|pls|plz))?\s*$",
        r"\b(?:to|into|as|with)\s*:?\s*(.+?)\s*(?:,?\s*(?:please|thanks|thank you|pls|plz))?\s*$",
        r"(?:->|→)\s*(.+?)\s*$",
        r"(?:첫\s*번째|\S+\s*번째|\d+\s*번|마지막|이|선택한)\s*(?:자막|줄|문장|캡션)\s*(?:을|를|은|는)?\s*(.+?)\s*$",
    ]
    for pattern in patterns:
        match = re.search(pattern, c.original, re.IGNORECASE)
        if match:
            candidate = match.group(1).strip()
            candidate = re.sub(
                r"^(?:\d+\s*번째?|첫\s*번째|마지막)\s*(?:자막|줄|문장)?\s*(?:을|를|은|는)?\s*", "", candidate
            )
            candidate = re.sub(
                r"^(?:the\s+)?(?:(?:first|second|third|last|\d+(?:st|nd|rd|th))\s+)?(?:subtitle|caption|line)\s*(?:to\s+)?",
                "",
                candidate,
                flags=re.IGNORECASE,
            )
            if re.fullmatch(
                r"(?:수정|고쳐|고치|바꿔|바꾸|변경|편집)\S*(?:\s*(?:줘|주세요|줄래|해\s*줘))?[.!?]?", candidate
            ):
                continue  # only the verb: no new text was given
            if candidate:
                return candidate
    return None


def _build_subtitle_text(
    c: Clause, project: Project, previous: dict | None, *, clear: bool = False
) -> tuple[list[Step], dict | None]:
    clips = project.subtitles
    if not clips:
        raise Missing(
            "There are no subtitles in the project yet; shall I make some first?",
            "아직 자막이 없어요. 먼저 자막을 만들까요?",
        )
    found = quotes(c.original)
    clip = None
    if len(found) >= 2:
        clip = subtitle_quoted(clips, found[:1])
    if clip is None:
        refs = [ordinal for ordinal in ordinals(c.text) if ordinal.kind in ("subtitle", None)]
        if refs:
            by_index = sorted(clips, key=lambda item: (item.get("index") or 0, item.get("startMs") or 0))
            clip = pick(by_index, refs[0].index)
    if clip is None:
        facts = time_facts(c.text)
        moment = facts.point if facts.point is not None else (facts.durations[0] if facts.durations else None)
        if moment is not None:
            clip = item_at(clips, moment)
    if clip is None:
        clip = project.selected_clip(clips)
    if clip is None and len(found) == 1 and not re.search(r"\bto\b|로|으로|라고", c.text):
        clip = subtitle_quoted(clips, found)
    if clip is None and len(clips) == 1:
        clip = clips[0]
    if clip is None:
        clip = item_at(clips, project.playhead) if project.playhead else None
    if clip is None:
        raise Missing(
            'Which subtitle should I change? Say its number, e.g. "the 2nd subtitle".',
            '몇 번째 자막을 바꿀까요? 예: "두 번째 자막"',
        )
    new_text = "" if clear else _new_subtitle_text(c)
    if not clear and not new_text:
        raise Missing("What should the subtitle say?", "자막을 어떤 문장으로 바꿀까요?")
    return [Step("update_subtitle_text", {"clipId": clip["id"], "text": new_text})], clip


def _build_bgm_place(c: Clause, project: Project, previous: dict | None) -> tuple[list[Step], dict | None]:
    text = c.text
    clip = _bgm_clip(text, project, previous)
    facts = time_facts(text)
    length = (clip.get("endMs") or 0) - (clip.get("startMs") or 0)
    target_range = None
    if facts.ranges:
        target_range = facts.ranges[0]
    elif facts.from_ms is not None and _CUES["to_end"].search(text):
        target_range = (facts.from_ms, project.timeline_end_ms)
    elif (
        _CUES["whole"].search(text)
        and (intents.WORDS["fit"].search(text) or facts.empty)
        or re.search(r"(?:whole|entire)\s+video|영상\s*(?:전체|내내|끝까지)", text)
    ):
        target_range = (0, project.timeline_end_ms)
    elif _CUES["directive"].search(text):
        candidates = [
            (item.get("rangeStartMs"), item.get("rangeEndMs"))
            for key in ("separationDirectives", "processingSeparations")
            for item in project.payload.get(key) or []
            if item.get("rangeStartMs") is not None
        ]
        if not candidates:
            raise Missing(
                "There is no separated range to fit the music to yet.", "음악을 맞출 분리 구간이 아직 없어요."
            )
        if len(candidates) > 1:
            listing = "; ".join(f"{n}) {s / 1000:g}-{e / 1000:g} s" for n, (s, e) in enumerate(candidates, 1))
            listing_ko = "; ".join(f"{n}) {s / 1000:g}~{e / 1000:g}초" for n, (s, e) in enumerate(candidates, 1))
            raise Missing(f"Which separated range? {listing}", f"어느 분리 구간에 맞출까요? {listing_ko}")
        target_range = candidates[0]
    elif intents.WORDS["fit"].search(text) and project.pending:
        target_range = project.pending
    elif intents.WORDS["fit"].search(text):
        refs = [o for o in ordinals(text) if o.kind == "segment"]
        if refs:
            segment = pick(project.segments, refs[0].index)
            if segment:
                target_range = (segment.get("startMs") or 0, segment.get("endMs") or 0)
    if target_range is not None:
        start, end = target_range
        return [Step("update_bgm_range", {"clipId": clip["id"], "newStartMs": int(start), "newEndMs": int(end)})], clip
    segment_refs = [o for o in ordinals(text) if o.kind == "segment" and pick(project.segments, o.index)]
    end_at = re.search(
        r"\bend(?:s|ing)?\s+(?:at|by)|\bfinish(?:es)?\s+(?:at|by)|\bstop(?:s)?\s+at|끝나(?:게|도록|는)|에\s*끝", text
    )
    end_value = facts.point if facts.point is not None else next(iter(facts.durations), None)
    if end_at and end_value is not None:
        new_start = end_value - length
    elif facts.shift is not None:
        new_start = (clip.get("startMs") or 0) + facts.shift
    elif segment_refs and not facts.durations and facts.point is None:
        new_start = (pick(project.segments, segment_refs[0].index) or {}).get("startMs") or 0  # picked above
    elif _CUES["playhead"].search(text):
        new_start = project.playhead
    elif _CUES["to_start"].search(text):
        new_start = 0
    elif _CUES["to_end"].search(text) and not facts.durations and facts.point is None:
        new_start = max(0, project.timeline_end_ms - length)
    else:
        values = [
            v for v in (facts.point, facts.from_ms, facts.keep, facts.until_ms) if v is not None
        ] + facts.durations
        if not values and project.pending and says_pending_range(text):
            values = [project.pending[0]]
        refs = [o for o in ordinals(text) if o.kind == "segment"]
        if not values and refs and (first_segment := pick(project.segments, refs[0].index)):
            values = [first_segment.get("startMs") or 0]
        bare = re.search(r"(?:\b(?:to|at)\s+|^|\s)(\d+(?:\.\d+)?)(?:\s*(?:으로|로|에)|\s*$)", strip_times(text))
        if not values and bare:
            values = [round(float(bare.group(1)) * 1000)]  # "move the song to 0": seconds
        if not values:
            raise Missing(
                'Where should the music start? For example "at 10 seconds".',
                '음악을 몇 초부터 시작할까요? 예: "10초부터"',
            )
        new_start = values[0]
        if re.search(r"later|delay|push|뒤로|늦게|늦춰|미뤄|\bby\s+\d", text) and facts.point is None:
            new_start = (clip.get("startMs") or 0) + values[0]
        elif re.search(r"earlier|앞으로|당겨|빨리", text) and facts.point is None:
            new_start = (clip.get("startMs") or 0) - values[0]
    new_start = max(0, int(new_start))
    return [Step("move_bgm_clip", {"clipId": clip["id"], "newStartMs": new_start})], clip


def build(
    family: str, c: Clause, project: Project, previous: dict | None, language: str, history: list[str]
) -> tuple[list[Step], dict | None]:
    if family == "volume":
        return _build_volume(c, project, previous)
    if family == "volume_off":
        return _build_volume(c, project, previous, off=True)
    if family == "speed":
        return _build_speed(c, project, previous)
    if family == "delete":
        return _build_cut(c, project, previous, "delete_segment_range")
    if family == "duplicate":
        return _build_cut(c, project, previous, "duplicate_segment_range")
    if family == "separate":
        return _build_separate(c, project, previous)
    if family == "subtitles":
        return _build_subtitles(c, project, previous, language, history)
    if family == "dub":
        return _build_dub(c, project, previous)
    if family == "subtitle_text":
        return _build_subtitle_text(c, project, previous)
    if family == "subtitle_clear":
        return _build_subtitle_text(c, project, previous, clear=True)
    return _build_bgm_place(c, project, previous)


# --- clauses into a plan ---------------------------------------------------------------------------


def _ordered_pieces(text: str) -> list[tuple[str, str]]:
    """(separator, clause) pairs, with "X after Y" / "Y 전에 X" put in the order things happen."""
    pieces: list[tuple[str, str]] = []
    for separator, piece in split_clauses(text):
        lowered = piece.lower()
        after = re.match(r"^(.+?)\s*,?\s+(?:after|once)\s+(?:you\s+|u\s+|i\s+)?(?:have\s+)?(.+)$", lowered)
        leading_after = re.match(r"^(?:after|once)\s+(?:you\s+|u\s+)?(?:have\s+)?(.+?)\s*,\s*(.+)$", lowered)
        before = re.match(r"^(?:before)\s+(?:you\s+)?(.+?)\s*,\s*(.+)$", lowered)
        korean_before = re.match(r"^(.+?)(?:하기\s*전에|기\s*전에)\s+(.+)$", piece)
        if leading_after:
            ordered = [piece[leading_after.start(1) : leading_after.end(1)], piece[leading_after.start(2) :]]
        elif before:
            ordered = [piece[before.start(2) :], piece[before.start(1) : before.end(1)]]
        elif korean_before:
            ordered = [piece[korean_before.start(2) :], piece[korean_before.start(1) : korean_before.end(1)]]
        elif (
            after
            and not re.search(r"\d\s*(?:s|seconds?|초)?\s*$", after.group(1))
            and family_of(normalize(after.group(2)), after.group(2), Project({})) is not None
            and family_of(normalize(after.group(1)), after.group(1), Project({})) is not None
        ):
            ordered = [piece[after.start(2) :], piece[: after.end(1)]]
        else:
            ordered = [piece]
        pieces.append((separator, ordered[0]))
        pieces += [(" then ", rest) for rest in ordered[1:]]
    return pieces


def _names_target(text: str) -> bool:
    return bool(
        ordinals(text)
        or intents.WORDS["music"].search(text)
        or intents.WORDS["voice"].search(text)
        or intents.WORDS["background"].search(text)
        or intents.WORDS["speaker"].search(text)
        or re.search(r"\b(?:clip|segment|video|footage)s?\b|클립|영상|세그먼트", text)
    )


def _inherited_family(text: str, results: list[Understood]) -> str | None:
    previous = results[-1]
    if (intents.WORDS["move"].search(text) or intents.WORDS["fit"].search(text)) and intents.WORDS["music"].search(
        previous.clause.text
    ):
        return "bgm_place"
    if _has_substance(text, previous.family):
        if previous.family == "volume_off" and re.search(r"%|퍼센트|프로|louder|quieter|키워|줄여|\d", text):
            return "volume"
        return previous.family
    return None


def understand_request(text: str, project: Project, language: str, history: list[str]) -> list[Understood]:
    """The request as ordered clauses, each with its tool family; a piece with no verb of its own
    inherits the previous one's or is read as part of a neighbouring clause."""
    results: list[Understood] = []
    prefix = ""
    pieces = _ordered_pieces(text)
    for index, (separator, piece) in enumerate(pieces):
        original = f"{prefix}{separator}{piece}" if prefix else piece
        current = clause(original)
        family = family_of(current.text, current.original, project)
        inherited = False
        if family is None and results:
            family = _inherited_family(current.text, results)
            inherited = family is not None
            if inherited:
                current = clause(original, borrowed=results[-1].clause.text)
            following = pieces[index + 1][1] if index + 1 < len(pieces) else None
            if family is None and following is not None and family_of(normalize(following), following, project):
                prefix = original  # "add English | and Korean subtitles": read with what follows
                continue
            if family is None:
                last = results.pop()
                results.append(Understood(last.family, clause(f"{last.clause.original}{separator}{piece}"), []))
                continue
        next_piece = pieces[index + 1] if index + 1 < len(pieces) else None
        if family is None and next_piece is not None and _names_target(current.text) and not prefix:
            next_family = family_of(normalize(next_piece[1]), next_piece[1], project)
            if next_family in ("volume", "volume_off", "speed") and re.match(r"\s*(?:이랑|랑|and|&|,)", next_piece[0]):
                # "음악이랑 목소리 꺼줘", "the music and the voice off": the listed item shares the verb
                results.append(Understood(next_family, clause(original, borrowed=normalize(next_piece[1])), []))
                continue
        if family is None:
            prefix = original
            continue
        prefix = ""
        if (
            results
            and family == results[-1].family
            and family in ("volume", "speed")
            and not re.search(r"\d", results[-1].clause.text)
            and not _names_target(current.text)
        ):
            # "the clip is too loud, bring it down to 60%": one change, said twice
            previous = results.pop()
            current = clause(f"{previous.clause.original}{separator}{piece}")
        elif (
            inherited
            and results
            and not re.search(r"\d", results[-1].clause.text)
            and not ordinals(results[-1].clause.text)
            and not says_pending_range(results[-1].clause.text)
            and not _names_target(current.text)
        ):
            # "trim off the ending, last 4 sec": the second piece only says what the first meant
            previous = results.pop()
            current = clause(f"{previous.clause.original}{separator}{piece}")
        results.append(Understood(family, current, []))
    # Subtitles named twice in one sentence ("English subtitles and Japanese subtitles") are one call.
    merged: list[Understood] = []
    for item in results:
        if (
            merged
            and item.family == merged[-1].family == "subtitles"
            and not intents.WORDS["script"].search(item.clause.text)
            and not intents.WORDS["skip_review"].search(item.clause.text)
        ):
            previous = merged.pop()
            merged.append(Understood("subtitles", clause(f"{previous.clause.original} {item.clause.original}"), []))
        else:
            merged.append(item)
    return merged


# --- texts -------------------------------------------------------------------------------------------


_CLEAR_SUBTITLE = "update_subtitle_text with no text"  # no tool deletes a subtitle: the planner empties it


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def _languages_text(codes: list[str], language: str) -> str:
    return ", ".join(language_name(code, language) for code in codes)


# What each call does, in words: (English, Korean) templates over the values of _described_values.
_DESCRIPTIONS = {
    "delete_segment_range": ("Delete{span} of the clip.", "클립의{span} 구간을 삭제해요."),
    "duplicate_segment_range": ("Duplicate{span} of the clip.", "클립의{span} 구간을 복제해요."),
    "update_segment_volume": (
        "Set the clip volume{span} to {volume_percent:g}%.",
        "영상{span} 볼륨을 {volume_percent:g}%로 맞춰요.",
    ),
    "update_segment_speed": ("Change the speed{span} to {speed:g}x.", "영상{span} 속도를 {speed:g}배로 바꿔요."),
    "separate_audio_range": (
        "Separate the voices{span_or_whole} (about one minute per minute of audio, about {minutes} min).",
        "{span_or_whole}의 음성을 분리해요 (분리 1분당 약 1분, 약 {minutes}분).",
    ),
    "update_stem_volume": ("Set the {stem} stem to {stem_percent:g}%.", "{stem} 볼륨을 {stem_percent:g}%로 맞춰요."),
    _CLEAR_SUBTITLE: (
        "Clear the subtitle's text (subtitles can't be deleted as such).",
        "자막 문구를 비워요 (자막 자체를 지우는 기능은 없어요).",
    ),
    "update_subtitle_text": ('Change the subtitle to "{text}".', '자막을 "{text}"(으)로 바꿔요.'),
    "transcribe_for_subtitles": (
        "Transcribe the audio first so you can review the script ({codes} subtitles; takes a few minutes).",
        "먼저 음성을 받아써서 대본을 확인할 수 있게 해요 ({codes} 자막, STT 처리에 수 분 정도).",
    ),
    "generate_subtitles": (
        "Make {codes} subtitles in one step, without the review (takes a few minutes).",
        "검토 없이 바로 {codes} 자막을 만들어요 (수 분 정도 걸려요).",
    ),
    "apply_subtitles_with_script": (
        "Apply the reviewed script as {codes} subtitles (a few minutes per language).",
        "확인한 대본으로 {codes} 자막을 입혀요 (언어당 수 분 정도).",
    ),
    "generate_dub": (
        "Dub the video into {target} (takes a few minutes).",
        "영상을 {target}로 더빙해요 (수 분 정도 걸려요).",
    ),
    "generate_dub_for_bgm": (
        "Dub the music clip into {target} (takes a few minutes).",
        "배경음악을 {target}로 더빙해요 (수 분 정도 걸려요).",
    ),
    "generate_subtitles_for_bgm": (
        "Subtitle the music clip in {codes} (a few minutes per language).",
        "배경음악 가사/음성에 {codes} 자막을 만들어요 (언어당 수 분 정도).",
    ),
    "move_bgm_clip": ("Move the music to start at {new_start} s.", "배경음악이 {new_start}초에 시작하도록 옮겨요."),
    "update_bgm_volume": (
        "Set the music volume to {volume_percent:g}%.",
        "배경음악 볼륨을 {volume_percent:g}%로 맞춰요.",
    ),
    "update_bgm_range": (
        "Fit the music to {new_start}-{new_end} s.",
        "배경음악을 {new_start}~{new_end}초 구간에 맞춰요.",
    ),
}


def _described_values(args: dict, language: str) -> dict:
    ko = language == "ko"
    span = ""
    if "startMs" in args and "endMs" in args:
        start, end = _seconds(args["startMs"]), _seconds(args["endMs"])
        span = f" {start}~{end}초" if ko else f" {start}-{end} s"
    return {
        "span": span,
        "span_or_whole": (span.strip() or "클립 전체") if ko else (span or " of the whole clip"),
        "minutes": max(1, round((args.get("endMs", 60_000) - args.get("startMs", 0)) / 60_000)),
        "volume_percent": (args.get("volumeScale") or 0) * 100,
        "stem_percent": (args.get("volume") or 0) * 100,
        "speed": args.get("speedScale") or 0,
        "stem": args.get("stemId"),
        "text": args.get("text"),
        "codes": _languages_text(args.get("targetLanguageCodes") or [], language),
        "target": language_name(args["targetLanguageCode"], language) if "targetLanguageCode" in args else "",
        "new_start": _seconds(args.get("newStartMs") or 0),
        "new_end": _seconds(args.get("newEndMs") or 0),
    }


def describe(call: Step, language: str) -> str:
    key = _CLEAR_SUBTITLE if call.name == "update_subtitle_text" and not call.args["text"] else call.name
    if key not in _DESCRIPTIONS:
        return call.name
    english, korean = _DESCRIPTIONS[key]
    return (korean if language == "ko" else english).format(**_described_values(call.args, language))


def _plan_text(calls: list[Step], language: str) -> str:
    if len(calls) == 1:
        return describe(calls[0], language)
    return "\n".join(f"{number}. {describe(call, language)}" for number, call in enumerate(calls, 1))


def _confirmation(calls: list[Step], language: str, project: Project) -> str:
    ko = language == "ko"
    lines = [("이렇게 진행할게요:" if ko else "Here is the plan:") if len(calls) > 1 else ""]
    lines.append(_plan_text(calls, language))
    names = {call.name for call in calls}
    if names & _SUBTITLE_AND_DUB_TOOLS:
        lines.append(
            "⚠ 자막/더빙을 만든 뒤 영상 길이를 바꾸는 편집(삭제·복제·속도)을 하면 싱크가 어긋날 수 있어요."
            if ko
            else "⚠ Edits that change the video's length afterwards (delete, duplicate, speed) can put them out of sync."
        )
        if project.payload.get("separationDirectives"):
            lines.append("기존 음성 분리 결과는 잠겨요." if ko else "Existing audio separations will be locked.")
    lines.append("진행할까요?" if ko else "Shall I go ahead?")
    return "\n".join(line for line in lines if line)


def _rationale(calls: list[Step], language: str) -> str:
    return _plan_text(calls, language)


# --- the entry point ---------------------------------------------------------------------------------


def _language(text: str, locale: str) -> str:
    if is_korean(text):
        return "ko"
    if re.search(r"[a-zA-Z]", text or ""):
        return "en"
    return "ko" if (locale or "ko").lower().startswith("ko") else "en"


def plan(text: str, project: Project, language: str, *, confirmed: bool, history: list[str]) -> Reply:
    normalized = normalize(text[:MAX_REQUEST_CHARS])
    answer = answers.answer(normalized, language, project.payload)
    if answer is not None and (answer.definite or not _any_family(text, project)):
        return Reply(answer.text)
    understood = understand_request(text, project, language, history)
    if not understood:
        targets = split_languages(normalized)[0]
        if targets:  # "I need this in Japanese": subtitles or a dub?
            names = _languages_text(targets, language)
            return Reply(
                f"{names} 자막을 만들까요, 더빙을 할까요?"
                if language == "ko"
                else f"Do you want {names} subtitles or a {names} dub?"
            )
        return Reply(answers.fallback(normalized, language))
    calls: list[Step] = []
    previous_target = None
    for item in understood:
        try:
            item.calls, target = build(item.family, item.clause, project, previous_target, language, history)
        except Missing as missing:
            if calls:
                break
            return Reply(missing.ko if language == "ko" else missing.en)
        except _NeedsSeparation:
            separation = Step("separate_audio_range", _separation_args(item.clause, project))
            calls.append(separation)
            intro = (
                "목소리/배경음 볼륨을 바꾸려면 먼저 음성 분리가 필요해요. "
                if language == "ko"
                else "To change the voice or background volume, the audio has to be separated first. "
            )
            if confirmed or _CUES["skip_confirmation"].search(normalized):
                return Reply(intro + _rationale(calls, language), calls)
            return Reply(intro + _confirmation(calls, language, project), needs_confirmation=True)
        calls.extend(item.calls)
        previous_target = target if target is not None else previous_target
    calls = calls[:MAX_STEPS]
    if not calls:
        return Reply(answers.fallback(normalized, language))
    costly = any(call.name in COSTLY_TOOLS for call in calls)
    if costly and not confirmed and not _CUES["skip_confirmation"].search(normalized):
        return Reply(_confirmation(calls, language, project), needs_confirmation=True)
    return Reply(_rationale(calls, language), calls)


def _separation_args(c: Clause, project: Project) -> dict:
    facts = time_facts(c.text)
    try:
        spans = _segment_spans(c.text, project, None, keep_means_delete_rest=False)
    except Missing:
        return {}
    segment, time_range = spans[0]
    if time_range is None and not facts.empty:
        time_range = None
    return {"segmentId": segment["id"], **_range_args(time_range)}


def _any_family(text: str, project: Project) -> bool:
    return any(family_of(normalize(piece), piece, project) for piece in raw_clauses(text))


def _agrees(text: str, project: Project) -> bool:
    if len(text) >= 80:
        return False
    normalized = normalize(text)
    if _CUES["agreement"].match(normalized):
        return True
    return bool(len(text) < 25 and _CUES["agreement_start"].match(normalized) and not _any_family(text, project))


def interpret(turns: list[tuple[str, str]], context: dict | None, locale: str = "ko") -> Reply:
    """Answers the last user turn of `turns` ((role, text) pairs, oldest first) against `context`."""
    project = Project(context if isinstance(context, dict) else {})
    user_texts = [text for role, text in turns if role == "user" and text and text.strip()]
    if not user_texts:
        return Reply(answers.fallback("", "ko" if (locale or "ko").startswith("ko") else "en"))
    last = user_texts[-1].strip()
    language = _language(last, locale)
    last_model = next((text.strip() for role, text in reversed(turns) if role == "model" and text.strip()), "")
    # A question is pending only when the assistant's last turn asked one; "yes" after a proposal whose
    # rationale ends with the edit-invalidation warning must not propose the same edit twice.
    asked_before = last_model.endswith("?") and not last_model.splitlines()[-1].lstrip().startswith("⚠")
    if len(user_texts) >= 2 and asked_before and _agrees(last, project):
        request = user_texts[-2]
        language = _language(request, locale) if not re.search(r"[a-zA-Z가-힣]", last) else language
        return plan(request, project, language, confirmed=True, history=user_texts[:-2])
    if len(user_texts) >= 2 and asked_before and len(last) < 30 and _CUES["refusal"].match(normalize(last)):
        return Reply(
            "알겠어요, 진행하지 않을게요. 다른 편집이 필요하면 말씀해 주세요."
            if language == "ko"
            else "OK, cancelled — nothing was changed. Tell me if you'd like something else."
        )
    return plan(last, project, language, confirmed=False, history=user_texts[:-1])
