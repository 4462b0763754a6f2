"""The ops console: a dashboard, the job list with true counts and a stuck filter, the job page with one
merged timeline, Retry and Cancel buttons (confirmed, audited), and the upstream call log.

Templates live in the project's top-level `templates/admin/jobs/`."""

# ModelAdmin and Paginator take type parameters only in django-stubs: annotations stay unevaluated.
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.core.downloads import stored_file_response
from apps.core.errors import Conflict, NotFound
from apps.jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, ExternalCall, Job, JobEvent, JobStatus
from apps.jobs.ops import (
    error_is_permanent,
    jobs_by_kind_and_status,
    jobs_stuck_q,
    jobs_stuck_queryset,
    recent_call_values,
    recent_error_codes,
    stage_expected_sec,
    upstream_health,
)
from apps.jobs.services import job_cancel, job_retry
from apps.observability.broker import queue_depths
from apps.perso.submits import perso_in_flight_count

if TYPE_CHECKING:
    _JobAdminBase = admin.ModelAdmin[Job]
    _ExternalCallAdminBase = admin.ModelAdmin[ExternalCall]
    _ExternalCallPaginatorBase = Paginator[ExternalCall]
else:  # at runtime they take no type parameters
    _JobAdminBase = _ExternalCallAdminBase = admin.ModelAdmin
    _ExternalCallPaginatorBase = Paginator

TIMELINE_LIMIT = 500
STUCK_LIMIT = 50


def _seconds_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _in_stage(job: Job, now: datetime | None = None) -> str:
    if job.status in TERMINAL_STATUSES or not job.stage_started_at:
        return "—"
    return _seconds_text(((now or timezone.now()) - job.stage_started_at).total_seconds())


def _output_keys(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, storage key) of every stored output named in the result (keys named `…Key`/`…_key`)."""
    found: list[tuple[str, str]] = []

    def visit(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                label = f"{prefix}.{name}" if prefix else str(name)
                if isinstance(item, str) and (name.endswith("Key") or name.endswith("_key")) and item:
                    found.append((label, item))
                else:
                    visit(label, item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(f"{prefix}[{index}]", item)

    visit("", result)
    return sorted(found)


class BoundedCountPaginator(_ExternalCallPaginatorBase):
    """The upstream-call log grows by a row per poll: its lists count exactly up to COUNT_CAP rows and
    stop there (narrow by job, service or date to see fewer), so the count stays one bounded index scan."""

    COUNT_CAP = 10_000

    @property
    def count(self) -> int:
        if not hasattr(self, "_bounded_count"):
            calls = cast("QuerySet[ExternalCall]", self.object_list)  # the admin paginates a queryset
            self._bounded_count = calls.order_by()[: self.COUNT_CAP].count()
        return self._bounded_count


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("yes", "no progress beyond the stage's expected time, or lease expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(jobs_stuck_q())
        return queryset


class RecentValueFilter(admin.SimpleListFilter):
    """Choices from recent rows only: Django's default (SELECT DISTINCT over the whole table) does not
    stay cheap at hundreds of thousands of rows. Any value still works as ?<parameter>=<value>."""

    field = ""

    def choices_from(self) -> Sequence[object]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        values = self.choices_from()
        chosen = self.value()
        if chosen and chosen not in {str(value) for value in values}:
            values = [*values, chosen]
        return [(str(value), str(value)) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class ErrorCodeFilter(RecentValueFilter):
    title = "error code (jobs of the last 7 days)"
    parameter_name = "error_code"
    field = "error_code"

    def choices_from(self) -> Sequence[object]:
        return recent_error_codes()


class CallServiceFilter(RecentValueFilter):
    title = "service"
    parameter_name = "service"
    field = "service"

    def choices_from(self) -> Sequence[object]:
        return ["gemini", "perso"]


class CallErrorCodeFilter(RecentValueFilter):
    title = "error code (last hour)"
    parameter_name = "error_code"
    field = "error_code"

    def choices_from(self) -> Sequence[object]:
        return recent_call_values("error_code", hours=1)


class CallStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("2xx", "2xx"), ("4xx", "4xx"), ("429", "429"), ("5xx", "5xx"), ("none", "no answer")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        ranges = {"2xx": (200, 299), "4xx": (400, 499), "5xx": (500, 599), "429": (429, 429)}
        chosen = self.value()
        if chosen in ranges:
            low, high = ranges[chosen]
            return queryset.filter(status_code__gte=low, status_code__lte=high)
        if self.value() == "none":
            return queryset.filter(status_code__isnull=True)
        return queryset


class AttemptsFilter(admin.SimpleListFilter):
    title = "attempts (all stages)"
    parameter_name = "attempts"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("2", "≥ 2"), ("5", "≥ 5")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.value()
        return queryset.filter(attempts_total__gte=int(chosen)) if chosen in ("2", "5") else queryset


def _pretty_json(value: object) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # event | call
    kind: str
    stage: str
    text: str
    actor: str = ""
    is_error: bool = False


def job_timeline(job: Job) -> list[TimelineEntry]:
    """Job events (stage runs are its task attempts) and upstream calls in one list, in time order."""
    events = JobEvent.objects.filter(job=job).order_by("-at", "-id")[:TIMELINE_LIMIT]
    calls = ExternalCall.objects.filter(job=job).order_by("-at", "-id")[:TIMELINE_LIMIT]
    entries = [
        TimelineEntry(
            at=event.at,
            source="attempt" if event.kind == JobEvent.Kind.STAGE and event.message.startswith("started") else "event",
            kind=event.kind,
            stage=event.stage,
            text=event.message,
            actor=event.actor,
            is_error=event.kind in (JobEvent.Kind.ERROR, JobEvent.Kind.FAILED),
        )
        for event in events
    ] + [
        TimelineEntry(
            at=call.at,
            source="call",
            kind=call.service,
            stage="",
            text=f"{call.method} {call.endpoint} → {call.status_code or 'no answer'} in {call.latency_ms} ms"
            + (f" ({call.error_code})" if call.error_code else "")
            + (f" attempt {call.attempt}" if call.attempt > 1 else ""),
            is_error=call.status_code is None or call.status_code >= 400,
        )
        for call in calls
    ]
    return sorted(entries, key=lambda entry: entry.at)[-TIMELINE_LIMIT:]


@admin.register(Job)
class JobAdmin(_JobAdminBase):
    change_form_template = "admin/jobs/job/change_form.html"
    change_list_template = "admin/jobs/job/change_list.html"
    list_display = (
        "public_id",
        "kind",
        "owner_id",
        "status",
        "stage",
        "progress",
        "in_stage",
        "attempts_total",
        "error_code",
        "created_at",
        "duration",
    )
    list_filter = (
        "kind",
        "status",
        StuckFilter,
        AttemptsFilter,
        ErrorCodeFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=public_id", "=request_id", "=owner__email", "=owner__google_sub")
    list_per_page = 50
    show_full_result_count = True
    actions = ("retry_selected", "cancel_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "kind",
                    "owner",
                    "request_id",
                    "status",
                    "stage",
                    "in_stage",
                    "progress",
                    "progress_reason",
                )
            },
        ),
        ("Failure", {"fields": ("error_code", "error_detail", "failed_stage", "attempts", "attempts_total")}),
        ("Data", {"fields": ("spec_pretty", "result_pretty", "upstream_pretty", "idempotency_key", "source_job")}),
        (
            "Timing",
            {
                "fields": (
                    "created_at",
                    "started_at",
                    "stage_started_at",
                    "progressed_at",
                    "finished_at",
                    "expires_at",
                    "dispatched_at",
                    "dispatch_seq",
                    "lease_expires_at",
                    "next_poll_at",
                    "poll_deadline_at",
                )
            },
        ),
    )
    # Every field shown is read-only: a job changes only through the retry and cancel actions.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "jobs_job_changelist":
            queryset = queryset.defer("spec", "result", "upstream", "error_detail")
        return queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False  # jobs go by retention only, with their files

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            return {}
        return actions

    # --- columns ---------------------------------------------------------------------------------

    @admin.display(description="owner id", ordering="owner_id")
    def owner_id(self, job: Job) -> int:
        return job.owner_id

    @admin.display(description="in stage", ordering="stage_started_at")
    def in_stage(self, job: Job) -> str:
        return _in_stage(job)

    @admin.display(description="duration")
    def duration(self, job: Job) -> str:
        if not job.started_at:
            return "—"
        return _seconds_text(((job.finished_at or timezone.now()) - job.started_at).total_seconds())

    @admin.display(description="spec")
    def spec_pretty(self, job: Job) -> str:
        return _pretty_json(job.spec)

    @admin.display(description="result")
    def result_pretty(self, job: Job) -> str:
        return _pretty_json(job.result)

    @admin.display(description="upstream")
    def upstream_pretty(self, job: Job) -> str:
        return _pretty_json(job.upstream)

    # --- pages -----------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="jobs_job_dashboard"),
            path("<int:job_pk>/retry/", self.admin_site.admin_view(self.retry_view), name="jobs_job_retry"),
            path("<int:job_pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="jobs_job_cancel"),
            path(
                "<int:job_pk>/output/<int:index>/",
                self.admin_site.admin_view(self.output_view),
                name="jobs_job_output",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        if job is None:
            return super().change_view(request, object_id, form_url, extra_context)
        can_act = self.has_change_permission(request, job)
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "timeline": job_timeline(job),
            "outputs": [
                (name, reverse("admin:jobs_job_output", args=[job.pk, index]))
                for index, (name, _key) in enumerate(_output_keys(job.result))
            ],
            "can_retry": can_act and job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
            "can_cancel": can_act and job.status in ACTIVE_STATUSES,
            "permanent_failure": job.status == JobStatus.FAILED and error_is_permanent(job.error_code),
            "in_stage_text": _in_stage(job),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _job_for_action(self, request: HttpRequest, job_pk: int) -> Job:
        job = get_object_or_404(Job, pk=job_pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        return job

    def _confirm(self, request: HttpRequest, job: Job, *, action: str, title: str) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "job": job,
            "action": action,
            "permanent_failure": action == "retry" and error_is_permanent(job.error_code),
            "retry_stage": job.failed_stage or job.stage,
        }
        return TemplateResponse(request, "admin/jobs/job/confirm_action.html", context)

    def _one_job_action_view(
        self, request: HttpRequest, job_pk: int, *, action: str, service: Callable[..., None], verb: str
    ) -> HttpResponseBase:
        """GET: the confirmation page; POST: the action, then back to the job's page."""
        job = self._job_for_action(request, job_pk)
        if request.method != "POST":
            return self._confirm(request, job, action=action, title=f"{action.capitalize()} {job.public_id}?")
        self._apply_one(request, job, service, verb)
        return redirect("admin:jobs_job_change", job.pk)

    def retry_view(self, request: HttpRequest, job_pk: int) -> HttpResponseBase:
        return self._one_job_action_view(request, job_pk, action="retry", service=job_retry, verb="retried")

    def cancel_view(self, request: HttpRequest, job_pk: int) -> HttpResponseBase:
        return self._one_job_action_view(request, job_pk, action="cancel", service=job_cancel, verb="cancelled")

    def output_view(self, request: HttpRequest, job_pk: int, index: int) -> HttpResponseBase:
        job = get_object_or_404(Job, pk=job_pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        outputs = _output_keys(job.result)
        if index >= len(outputs):
            raise Http404("no such output")
        _name, key = outputs[index]
        try:
            return stored_file_response(
                request, storage_key=key, content_type="application/octet-stream", filename=key.rsplit("/", 1)[-1]
            )
        except NotFound:
            raise Http404("the output is no longer stored")

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        by_kind = jobs_by_kind_and_status(since=now - timedelta(hours=24))
        statuses = list(JobStatus.values)
        stuck = list(
            jobs_stuck_queryset(now=now)
            .only("pk", "public_id", "kind", "status", "stage", "progress", "progressed_at", "stage_started_at")
            .order_by("progressed_at")[:STUCK_LIMIT]
        )
        oldest_waiting = (
            Job.objects.filter(status__in=ACTIVE_STATUSES)
            .only("pk", "public_id", "kind", "status", "stage", "created_at")
            .order_by("created_at")
            .first()
        )

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Ops dashboard",
            "now": now,
            "statuses": statuses,
            "kind_rows": [
                (kind, [(status, row.get(status, 0)) for status in statuses]) for kind, row in sorted(by_kind.items())
            ],
            "stuck": [
                (
                    job,
                    _seconds_text((now - job.progressed_at).total_seconds()) if job.progressed_at else "—",
                    _seconds_text(stage_expected_sec(job.stage)),
                )
                for job in stuck
            ],
            "stuck_limit": STUCK_LIMIT,
            "queues": sorted(queue_depths().items()),
            "upstreams": upstream_health(since=now - timedelta(hours=1)),
            "perso_slots_used": perso_in_flight_count(),
            "perso_slots_max": settings.PERSO_MAX_IN_FLIGHT,
            "oldest_waiting": oldest_waiting,
            "oldest_waiting_age": _seconds_text((now - oldest_waiting.created_at).total_seconds())
            if oldest_waiting
            else "",
        }
        return TemplateResponse(request, "admin/jobs/job/dashboard.html", context)

    # --- list actions (same services, same audit) --------------------------------------------------

    @admin.action(description="Retry selected jobs (from the failed stage)", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(request, queryset, job_retry, "retried")

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(request, queryset, job_cancel, "cancelled")

    def _apply_one(self, request: HttpRequest, job: Job, service: Callable[..., None], verb: str) -> None:
        try:
            service(job=job, actor=request.user.get_username())
        except Conflict as exc:
            self.message_user(request, f"{job.public_id}: {exc.detail}", messages.WARNING)
            return
        self.message_user(request, f"{job.public_id} {verb}.", messages.SUCCESS)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Job], service: Callable[..., None], verb: str) -> None:
        done, permanent = 0, 0
        refused: list[str] = []
        for job in queryset:
            try:
                service(job=job, actor=request.user.get_username())
                done += 1
                permanent += verb == "retried" and error_is_permanent(job.error_code)
            except Conflict as exc:
                refused.append(f"{job.public_id}: {exc.detail}")
        if done:
            self.message_user(request, f"{done} job(s) {verb}.", messages.SUCCESS)
        if permanent:
            self.message_user(
                request,
                f"{permanent} of them had failed on their input (a permanent error): expect them to fail again.",
                messages.WARNING,
            )
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(ExternalCall)
class ExternalCallAdmin(_ExternalCallAdminBase):
    list_display = ("at", "service", "method", "endpoint", "status_code", "latency_ms", "error_code", "job")
    list_filter = (CallServiceFilter, CallStatusFilter, CallErrorCodeFilter, ("at", admin.DateFieldListFilter))
    search_fields = ("=job__public_id",)
    list_select_related = ("job",)
    list_per_page = 50
    ordering = ("-at", "-id")
    paginator = BoundedCountPaginator
    show_full_result_count = False
    readonly_fields = (
        "at",
        "service",
        "method",
        "endpoint",
        "status_code",
        "latency_ms",
        "error_code",
        "attempt",
        "input_tokens",
        "output_tokens",
        "job",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExternalCall | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExternalCall | None = None) -> bool:
        return False
