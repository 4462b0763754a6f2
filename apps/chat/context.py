"""The editor's project context as the phone sends it with each chat turn, parsed once."""

import json
from dataclasses import dataclass, field

from apps.media.timeline import TimeRange

STANDARD_STEM_IDS = ("background", "voice_all")
SPEAKER_STEM_PREFIX = "speaker_"
# Where the items an id argument refers to (tools.IdKind) are in the payload; stems are looked up apart.
_ID_KEYS = {"segment": "segments", "subtitle_clip": "subtitleClips", "bgm_clip": "bgmClips"}


@dataclass(frozen=True)
class ProjectContext:
    payload: dict = field(default_factory=dict)  # the validated request object, camelCase

    def _items(self, key: str) -> list[dict]:
        return [item for item in self.payload.get(key) or [] if isinstance(item, dict)]

    def ids(self, key: str) -> set[str]:
        return {item["id"] for item in self._items(key) if item.get("id") is not None}

    @property
    def stem_ids(self) -> set[str]:
        return {item["stemId"] for item in self._items("separationStems") if item.get("stemId")}

    def has_id(self, kind: str, value: str) -> bool:
        """Whether an id argument of this kind (tools.IdKind) names something in the project."""
        if kind == "stem":
            return value in self.stem_ids or is_standard_stem_id(value)
        return value in self.ids(_ID_KEYS[kind])

    def item(self, key: str, item_id: str) -> dict | None:
        return next((item for item in self._items(key) if item.get("id") == item_id), None)

    @property
    def timeline_end_ms(self) -> int:
        """videoDurationMs; when the phone sent none, the end of the last segment."""
        duration = self.payload.get("videoDurationMs") or 0
        if duration > 0:
            return duration
        return max((item.get("endMs") or 0 for item in self._items("segments")), default=0)

    @property
    def pending_range(self) -> TimeRange | None:
        start, end = self.payload.get("pendingRangeStartMs"), self.payload.get("pendingRangeEndMs")
        if self.payload.get("isRangeSelecting") and start is not None and end is not None and start < end:
            return TimeRange(start, end)
        return None

    @property
    def separation_ranges(self) -> list[tuple[str, TimeRange]]:
        """Existing directives and separations still processing, each with its kind."""
        ranges = [
            ("directive", TimeRange(item["rangeStartMs"], item["rangeEndMs"]))
            for item in self._items("separationDirectives")
            if item.get("rangeStartMs") is not None and item.get("rangeEndMs") is not None
        ]
        ranges += [
            ("processing", TimeRange(item["rangeStartMs"], item["rangeEndMs"]))
            for item in self._items("processingSeparations")
            if item.get("rangeStartMs") is not None and item.get("rangeEndMs") is not None
        ]
        return ranges

    def derived_items(self) -> dict[str, int]:
        """How many results of earlier work a structural edit would invalidate, by kind."""
        return {
            "separations": len(self._items("separationDirectives")) + len(self._items("processingSeparations")),
            "subtitles": len(self._items("subtitleClips")),
            "dubs": len(self._items("dubClips")),
            "bgm": len(self._items("bgmClips")),
        }

    def as_prompt_json(self) -> str:
        """Compact JSON for the model: empty lists, nulls and defaults left out to save tokens."""
        compact = {
            key: value
            for key, value in self.payload.items()
            if value is not None and value != [] and not (key == "isRangeSelecting" and value is False)
        }
        return json.dumps(compact, ensure_ascii=False, separators=(",", ":"))


def is_standard_stem_id(stem_id: str) -> bool:
    if stem_id in STANDARD_STEM_IDS:
        return True
    suffix = stem_id.removeprefix(SPEAKER_STEM_PREFIX)
    return stem_id.startswith(SPEAKER_STEM_PREFIX) and suffix.isdigit() and suffix.isascii()
