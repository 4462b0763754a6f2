"""Series computed at scrape time from the database and the broker: the current state, not events."""

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from apps.jobs.models import ACTIVE_STATUSES, Job, JobStatus
from apps.jobs.ops import jobs_stuck_queryset
from apps.observability.broker import queue_depths
from apps.perso.submits import perso_in_flight_count


class PlatformStateCollector:
    def collect(self):
        by_status = GaugeMetricFamily("vibi_jobs", "Jobs currently in each status", labels=["status"])
        counts = dict(Job.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        for status in JobStatus.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        stuck = GaugeMetricFamily("vibi_jobs_stuck", "Active jobs with no progress beyond their stage's expected time")
        stuck.add_metric([], jobs_stuck_queryset().count())
        yield stuck

        oldest = Job.objects.filter(status__in=ACTIVE_STATUSES).order_by("created_at").values_list("created_at")[:1]
        age = GaugeMetricFamily(
            "vibi_oldest_active_job_age_seconds", "Age of the oldest pending/processing/waiting job"
        )
        age.add_metric([], (timezone.now() - oldest[0][0]).total_seconds() if oldest else 0)
        yield age

        depth = GaugeMetricFamily("vibi_celery_queue_depth", "Messages waiting in each Celery queue", labels=["queue"])
        for queue, count in queue_depths().items():
            if count is not None:
                depth.add_metric([queue], count)
        yield depth

        used = GaugeMetricFamily("vibi_perso_slots_used", "Perso projects of our space in flight")
        used.add_metric([], perso_in_flight_count())
        yield used
        limit = GaugeMetricFamily("vibi_perso_slots_max", "Perso projects we allow in flight (PERSO_MAX_IN_FLIGHT)")
        limit.add_metric([], settings.PERSO_MAX_IN_FLIGHT)
        yield limit
