"""A window of the timeline in milliseconds: what chat's conflict checks and a separation's trim share."""

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeRange:
    """From `start_ms` (included) to `end_ms` (excluded)."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return max(0, self.end_ms - self.start_ms)

    def overlaps(self, other: "TimeRange") -> bool:
        return self.start_ms < other.end_ms and other.start_ms < self.end_ms
