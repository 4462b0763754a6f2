"""Every job of every kind is one `Job` row; its timeline is `JobEvent`, its upstream calls `ExternalCall`."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class JobKind(models.TextChoices):
    SUBTITLES = "subtitles"
    AUTODUB = "autodub"
    SEPARATION = "separation"
    MIX = "mix"
    RENDER = "render"
    RENDER_INPUT = "render_input"


ID_PREFIXES: dict[str, str] = {
    JobKind.SUBTITLES: "sub",
    JobKind.AUTODUB: "dub",
    JobKind.SEPARATION: "sep",
    JobKind.MIX: "mix",
    JobKind.RENDER: "rnd",
    JobKind.RENDER_INPUT: "inp",
}


class JobStatus(models.TextChoices):
    PENDING = "pending"  # a stage is queued for a worker
    PROCESSING = "processing"  # a worker runs a stage
    WAITING = "waiting"  # waiting on an upstream service, polled by beat
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.WAITING)
TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    public_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    stage = models.CharField(max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_reason = models.CharField(max_length=255, blank=True)
    spec = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_detail = models.TextField(blank=True)
    failed_stage = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Runs of the current stage (reset when the stage changes)"
    )
    attempts_total = models.PositiveIntegerField(default=0, help_text="Runs of any stage, retries included")
    request_id = models.CharField(max_length=100, blank=True, db_index=True)
    progressed_at = models.DateTimeField(null=True, blank=True, help_text="Last stage change or progress increase")
    stage_started_at = models.DateTimeField(null=True, blank=True)
    dispatch_seq = models.PositiveIntegerField(default=0)
    upstream = models.JSONField(default=dict, blank=True, help_text="Upstream references, e.g. Perso project seq")
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_deadline_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    source_job = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "kind", "-created_at"]),
            models.Index(fields=["status", "next_poll_at"]),
            models.Index(fields=["status", "dispatched_at"]),
            models.Index(fields=["expires_at"]),
            models.Index(fields=["created_at"], name="job_created_at"),
            models.Index(fields=["status", "created_at"], name="job_status_created_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "idempotency_key"],
                condition=~Q(idempotency_key="") & ~Q(status__in=["failed", "cancelled"]),
                name="job_idempotency_key_unique_while_live",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        STAGE = "stage"
        PROGRESS = "progress"
        WAITING = "waiting"
        RETRY = "retry"
        REDISPATCH = "redispatch"
        ERROR = "error"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        NOTE = "note"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    stage = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    actor = models.CharField(max_length=150, blank=True, help_text="The staff user who asked for it (retry, cancel)")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["job", "at"]), models.Index(fields=["at"], name="jobevent_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.stage} {self.message[:60]}"


class ExternalCall(models.Model):
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="external_calls")
    at = models.DateTimeField(auto_now_add=True)
    service = models.CharField(max_length=20)
    method = models.CharField(max_length=10)
    endpoint = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["service", "at"]),
            models.Index(fields=["job", "at"]),
            models.Index(fields=["at"], name="externalcall_at"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.endpoint} → {self.status_code}"
