"""What ops staff look at: stuck jobs, the dashboard's figures, permanent failures, retention of the
call log and timelines. Every query is bounded and served by an index (see docs/performance.md)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.jobs.models import ACTIVE_STATUSES, ExternalCall, Job, JobEvent, JobStatus

# How long a stage may go without progress before ops should look (a stage waiting on Perso
# reports progress as Perso does; a render reports it as ffmpeg goes).
STAGE_EXPECTED_SEC: dict[str, int] = {
    "upload": 15 * 60,
    "prepare": 15 * 60,
    "submit": 20 * 60,
    "script": 10 * 60,
    "translate": 20 * 60,
    "download": 20 * 60,
    "stems": 20 * 60,
    "mix": 15 * 60,
    "render": 30 * 60,
}
DEFAULT_STAGE_EXPECTED_SEC = 15 * 60

# Failures caused by the input itself: a retry fails again the same way.
PERMANENT_ERROR_CODES = frozenset(
    {
        "invalid_media",
        "input_unreadable",
        "input_missing",
        "source_missing",
        "no_speech",
        "separation_empty",
        "bad_request",
        "validation_error",
        "unsupported_language",
        "insufficient_credits",
    }
)


def error_is_permanent(code: str) -> bool:
    return code in PERMANENT_ERROR_CODES or code.startswith(("invalid_", "unsupported_"))


def stage_expected_sec(stage: str) -> int:
    return STAGE_EXPECTED_SEC.get(stage, DEFAULT_STAGE_EXPECTED_SEC)


def jobs_stuck_q(*, now: datetime | None = None) -> Q:
    """Active jobs with no progress for longer than their stage should take, or whose worker's lease
    expired. Progress is a stage change or a higher progress number, not any write to the row."""
    now = now or timezone.now()
    no_progress = Q(progressed_at__lt=now - timedelta(seconds=DEFAULT_STAGE_EXPECTED_SEC)) & ~Q(
        stage__in=list(STAGE_EXPECTED_SEC)
    )
    for stage, seconds in STAGE_EXPECTED_SEC.items():
        no_progress |= Q(stage=stage, progressed_at__lt=now - timedelta(seconds=seconds))
    lease_expired = Q(status=JobStatus.PROCESSING, lease_expires_at__lt=now)
    return Q(status__in=ACTIVE_STATUSES) & (no_progress | lease_expired)


def jobs_stuck_queryset(*, now: datetime | None = None) -> QuerySet[Job]:
    return Job.objects.filter(jobs_stuck_q(now=now))


def recent_error_codes(*, days: int = 7, limit: int = 50) -> list[str]:
    """Error codes of jobs created lately (the filter's choices; a DISTINCT over every job is too slow)."""
    since = timezone.now() - timedelta(days=days)
    codes = (
        Job.objects.filter(created_at__gte=since, status=JobStatus.FAILED)
        .exclude(error_code="")
        .values_list("error_code", flat=True)
        .distinct()
        .order_by("error_code")[:limit]
    )
    return list(codes)


def recent_call_values(field: str, *, hours: int = 1, limit: int = 50) -> list[Any]:
    """Distinct values of an upstream-call column over the last hours (index on `at`)."""
    since = timezone.now() - timedelta(hours=hours)
    values = (
        ExternalCall.objects.filter(at__gte=since)
        .exclude(**{f"{field}__isnull": True})
        .values_list(field, flat=True)
        .distinct()
        .order_by(field)[:limit]
    )
    return [value for value in values if value != ""]


@dataclass(frozen=True)
class UpstreamHealth:
    service: str
    calls: int
    errors: int
    p95_ms: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def upstream_health(*, since: datetime) -> list[UpstreamHealth]:
    """Per service since `since`: calls, errors (no answer or status ≥ 500 or 429) and p95 latency."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT service, count(*), "
                "count(*) FILTER (WHERE status_code IS NULL OR status_code >= 500 OR status_code = 429), "
                "percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) "
                "FROM jobs_externalcall WHERE at >= %s GROUP BY service ORDER BY service",
                [since],
            )
            return [UpstreamHealth(service, calls, errors, int(p95 or 0)) for service, calls, errors, p95 in cursor]
    health = []
    recent = ExternalCall.objects.filter(at__gte=since)
    for service in sorted(set(recent.values_list("service", flat=True))):
        latencies = sorted(recent.filter(service=service).values_list("latency_ms", flat=True)[:20000])
        errors = (
            recent.filter(service=service)
            .filter(Q(status_code__isnull=True) | Q(status_code__gte=500) | Q(status_code=429))
            .count()
        )
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else 0
        health.append(UpstreamHealth(service, len(latencies), errors, p95))
    return health


def jobs_by_kind_and_status(*, since: datetime) -> dict[str, dict[str, int]]:
    rows = Job.objects.filter(created_at__gte=since).values_list("kind", "status").annotate(n=Count("pk"))
    table: dict[str, dict[str, int]] = {}
    for kind, status, count in rows.values_list("kind", "status", "n"):
        table.setdefault(kind, {})[status] = count
    return table


def ops_records_delete_old(*, now: datetime | None = None) -> dict[str, int]:
    """Deletes upstream-call rows and job events older than OPS_RECORD_RETENTION_DAYS, one bounded
    batch of ids at a time (no long lock on the tables, no unbounded DELETE)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OPS_RECORD_RETENTION_DAYS)
    batch = settings.OPS_RECORD_DELETE_BATCH
    deleted = {}
    for model in (ExternalCall, JobEvent):
        total = 0
        while True:
            ids = list(model.objects.filter(at__lt=cutoff).order_by("at").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            total += model.objects.filter(pk__in=ids).delete()[0]
        deleted[model.__name__] = total
    return deleted
