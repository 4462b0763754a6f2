"""Ops console: the admin dashboard, filtered job lists (true counts) and a job page with 100,000 jobs,
300,000 job events and 300,000 upstream calls in Postgres.

Run: .venv/bin/python tests/benchmarks/dashboard_bench.py [jobs]  (needs Postgres and Redis on this machine)
Goal: the dashboard renders in under 300 ms (median) at 100,000 jobs.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_environment, recreate_database, setup_django

DATABASE = "vibi_bench_dashboard"
JOB_COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = 25
BATCH = 5000


def seed() -> int:
    from django.db import connection

    from apps.accounts.models import User
    from apps.jobs.models import ExternalCall, Job, JobEvent, JobKind, JobStatus
    from apps.jobs.services import new_public_id

    users = [User.objects.create(username=f"google:u{i}", google_sub=f"u{i}", email=f"u{i}@x.test") for i in range(200)]
    kinds = list(JobKind.values)
    # Mostly finished jobs, a few hundred active ones (as in production), some failures.
    statuses = [JobStatus.SUCCEEDED] * 85 + [JobStatus.FAILED] * 10 + [JobStatus.CANCELLED] * 3
    statuses += [JobStatus.WAITING, JobStatus.PROCESSING]
    stages = ["upload", "submit", "script", "render", "prepare"]
    for start in range(0, JOB_COUNT, BATCH):
        Job.objects.bulk_create(
            [
                Job(
                    public_id=new_public_id(kinds[i % len(kinds)]),
                    kind=kinds[i % len(kinds)],
                    owner=users[i % len(users)],
                    status=statuses[i % len(statuses)],
                    stage=stages[i % len(stages)],
                    progress=100 if statuses[i % len(statuses)] == JobStatus.SUCCEEDED else 40,
                    spec={"mediaType": "AUDIO", "sourceLanguageCode": "en"},
                    result={"originalSrtKey": f"jobs/x{i}/original.srt"},
                    error_code="perso_error" if statuses[i % len(statuses)] == JobStatus.FAILED else "",
                    attempts=1,
                    attempts_total=1 + i % 3,
                )
                for i in range(start, min(JOB_COUNT, start + BATCH))
            ]
        )
    job_ids = list(Job.objects.values_list("pk", flat=True))
    for start in range(0, 3 * JOB_COUNT, BATCH):
        JobEvent.objects.bulk_create(
            [
                JobEvent(job_id=job_ids[i % len(job_ids)], kind="stage", message="queued x")
                for i in range(start, start + BATCH)
            ]
        )
        ExternalCall.objects.bulk_create(
            [
                ExternalCall(
                    job_id=job_ids[i % len(job_ids)],
                    service=("perso", "gemini", "google")[i % 3],
                    method="GET",
                    endpoint="/video-translator/api/v1/projects/1/progress",
                    status_code=(200, 200, 200, 200, 200, 200, 200, 200, 200, 503)[i % 10],
                    latency_ms=20 + i % 900,
                )
                for i in range(start, start + BATCH)
            ]
        )
    with connection.cursor() as cursor:
        # Spread over 30 days (jobs created hourly, calls and events every few seconds).
        cursor.execute(
            "UPDATE jobs_job SET created_at = now() - (id % 720) * interval '1 hour' - (id % 3600) * interval '1 second', "
            "updated_at = now(), progressed_at = now() - (id % 7200) * interval '1 second', "
            "stage_started_at = now() - (id % 7200) * interval '1 second'"
        )
        cursor.execute("UPDATE jobs_externalcall SET at = now() - (id % 2592000) * interval '1 second' / 3")
        cursor.execute("UPDATE jobs_jobevent SET at = now() - (id % 2592000) * interval '1 second'")
        cursor.execute("VACUUM ANALYZE jobs_job") if connection.connection.autocommit else None
        cursor.execute("ANALYZE jobs_job; ANALYZE jobs_externalcall; ANALYZE jobs_jobevent")
    return Job.objects.count()


def measure(client, url: str) -> tuple[float, float]:
    client.get(url)  # warm-up (template compilation, connection)
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> int:
    environment = bench_environment(DATABASE)
    environment["DJANGO_ALLOWED_HOSTS"] = "*"
    environment["LOG_LEVEL"] = "WARNING"
    recreate_database(DATABASE)
    setup_django(environment)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.jobs.models import Job

    started = time.perf_counter()
    jobs = seed()
    print(
        f"seeded {jobs} jobs, {3 * JOB_COUNT} events, {3 * JOB_COUNT} upstream calls in {time.perf_counter() - started:.0f}s"
    )
    staff = get_user_model().objects.create_superuser("bench-ops", "ops@x.test", "pw")
    client = Client()
    client.force_login(staff)
    job = Job.objects.filter(status="failed").order_by("-created_at").first()
    pages = {
        "dashboard": "/admin/jobs/job/dashboard/",
        "job list (all, true count)": "/admin/jobs/job/",
        "job list failed (true count)": "/admin/jobs/job/?status__exact=failed",
        "job list stuck": "/admin/jobs/job/?stuck=yes",
        "job list oldest first": "/admin/jobs/job/?o=-10",
        "job page": f"/admin/jobs/job/{job.pk}/change/",
        "upstream calls list": "/admin/jobs/externalcall/",
    }
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8}")
    figures = {}
    for name, url in pages.items():
        median, p95 = measure(client, url)
        figures[name] = median
        print(f"{name:32} {median:10.1f} {p95:8.1f}")
    ok = figures["dashboard"] < 300
    print(f"dashboard median {figures['dashboard']:.0f} ms at {jobs} jobs: {'OK' if ok else 'OVER'} (goal < 300 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
