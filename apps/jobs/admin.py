"""The ops console: jobs with their timeline and upstream calls, retry and cancel actions."""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from apps.core.errors import Conflict
from apps.jobs.models import ACTIVE_STATUSES, ExternalCall, Job, JobEvent
from apps.jobs.services import job_cancel, job_retry


class CheapCountPaginator(Paginator):
    """Big tables: never run COUNT(*) over the whole job table for the page links."""

    @cached_property
    def count(self) -> int:
        return 10_000 if self.object_list.query.where else self.object_list.model.objects.count()


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("15", "active, untouched > 15 min"), ("60", "active, untouched > 1 h")]

    def queryset(self, request, queryset):
        if self.value():
            cutoff = timezone.now() - timedelta(minutes=int(self.value()))
            return queryset.filter(status__in=ACTIVE_STATUSES, updated_at__lt=cutoff)
        return queryset


class AttemptsFilter(admin.SimpleListFilter):
    title = "attempts"
    parameter_name = "attempts"

    def lookups(self, request, model_admin):
        return [("2", "≥ 2"), ("5", "≥ 5")]

    def queryset(self, request, queryset):
        return queryset.filter(attempts__gte=int(self.value())) if self.value() else queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class JobEventInline(ReadOnlyInline):
    model = JobEvent
    fields = ("at", "kind", "stage", "message")
    readonly_fields = fields
    verbose_name_plural = "timeline"


class ExternalCallInline(ReadOnlyInline):
    model = ExternalCall
    fields = ("at", "service", "method", "endpoint", "status_code", "latency_ms", "error_code", "attempt")
    readonly_fields = fields
    verbose_name_plural = "upstream calls"


def _pretty_json(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "kind",
        "owner",
        "status",
        "stage",
        "progress",
        "attempts",
        "error_code",
        "created_at",
        "duration",
    )
    list_filter = (
        "kind",
        "status",
        "error_code",
        StuckFilter,
        AttemptsFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("public_id", "owner__email", "owner__username", "owner__google_sub")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "source_job")
    paginator = CheapCountPaginator
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ("retry_selected", "cancel_selected")
    inlines = (JobEventInline, ExternalCallInline)
    readonly_fields = (
        "public_id",
        "kind",
        "owner",
        "status",
        "stage",
        "failed_stage",
        "progress",
        "progress_reason",
        "attempts",
        "dispatch_seq",
        "error_code",
        "error_detail",
        "spec_pretty",
        "result_pretty",
        "upstream_pretty",
        "next_poll_at",
        "poll_deadline_at",
        "lease_expires_at",
        "dispatched_at",
        "idempotency_key",
        "source_job",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
    )
    fieldsets = (
        (None, {"fields": ("public_id", "kind", "owner", "status", "stage", "progress", "progress_reason")}),
        ("Failure", {"fields": ("error_code", "error_detail", "failed_stage", "attempts")}),
        ("Data", {"fields": ("spec_pretty", "result_pretty", "upstream_pretty", "idempotency_key", "source_job")}),
        (
            "Timing",
            {
                "fields": (
                    "created_at",
                    "started_at",
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

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "jobs_job_changelist":
            queryset = queryset.defer("spec", "result", "upstream", "error_detail")
        return queryset

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, job: Job) -> str:
        if not job.started_at:
            return "—"
        seconds = int(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
        return f"{seconds // 60}m {seconds % 60:02d}s"

    @admin.display(description="spec")
    def spec_pretty(self, job: Job) -> str:
        return _pretty_json(job.spec)

    @admin.display(description="result")
    def result_pretty(self, job: Job) -> str:
        return _pretty_json(job.result)

    @admin.display(description="upstream")
    def upstream_pretty(self, job: Job) -> str:
        return _pretty_json(job.upstream)

    @admin.action(description="Retry selected jobs (from the failed stage)")
    def retry_selected(self, request, queryset):
        self._apply(request, queryset, job_retry, "retried")

    @admin.action(description="Cancel selected jobs")
    def cancel_selected(self, request, queryset):
        self._apply(request, queryset, job_cancel, "cancelled")

    def _apply(self, request, queryset, service, verb: str) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                service(job=job)
                done += 1
            except Conflict as exc:
                refused.append(f"{job.public_id}: {exc.detail}")
        if done:
            self.message_user(request, f"{done} job(s) {verb}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(ExternalCall)
class ExternalCallAdmin(admin.ModelAdmin):
    list_display = ("at", "service", "method", "endpoint", "status_code", "latency_ms", "error_code", "job")
    list_filter = ("service", "status_code", "error_code")
    search_fields = ("endpoint", "job__public_id")
    list_select_related = ("job",)
    paginator = CheapCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
