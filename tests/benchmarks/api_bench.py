"""API throughput: a job status endpoint with 10,000 jobs in Postgres vs. the framework floor.

Run: .venv/bin/python tests/benchmarks/api_bench.py  (needs Postgres, Redis and wrk on this machine)
Goal: status ≥ 0.5 × floor requests/s, p99 < 50 ms.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_environment, gunicorn_server, recreate_database, setup_django, wrk

DATABASE = "vibi_bench_api"
JOB_COUNT = 10_000


def seed() -> tuple[str, str]:
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.accounts.services import access_token_issue
    from apps.jobs.models import Job, JobKind, JobStatus
    from apps.jobs.services import new_public_id

    users = [User.objects.create(username=f"google:u{i}", google_sub=f"u{i}", email=f"u{i}@x.test") for i in range(50)]
    now = timezone.now()
    Job.objects.bulk_create(
        [
            Job(
                public_id=new_public_id(JobKind.RENDER),
                kind=JobKind.RENDER,
                owner=users[i % len(users)],
                status=JobStatus.SUCCEEDED if i % 3 else JobStatus.PROCESSING,
                progress=100 if i % 3 else 40,
                spec={"config": {"segments": [], "outputKind": "video"}},
                result={"files": {"output": f"jobs/x{i}/output.mp4"}},
                finished_at=now,
            )
            for i in range(JOB_COUNT)
        ],
        batch_size=2000,
    )
    job = Job.objects.filter(owner=users[7], status=JobStatus.PROCESSING).first()
    return job.public_id, access_token_issue(user=users[7]).token


def main() -> None:
    recreate_database(DATABASE)
    environment = bench_environment(DATABASE)
    setup_django(environment)
    job_id, token = seed()
    with gunicorn_server(environment) as base:
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        wrk(f"{base}/api/v2/render/{job_id}/status", seconds=2, headers=auth)  # warm-up
        floor = wrk(f"{base}/healthz")
        status = wrk(f"{base}/api/v2/render/{job_id}/status", headers=auth)
    print(f"jobs in table: {JOB_COUNT}; gunicorn 2 sync workers; wrk -t2 -c16 -d10s from loopback")
    print(f"{'endpoint':<32}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, figures in (("/healthz (floor)", floor), ("/api/v2/render/{id}/status", status)):
        print(f"{name:<32}{figures['rps']:>10.0f}{figures['p50']:>10.2f}{figures['p99']:>10.2f}{figures['errors']:>10}")
    print(
        f"status / floor = {status['rps'] / floor['rps']:.2f}  (goal >= 0.50); status p99 = {status['p99']:.1f} ms (goal < 50)"
    )


if __name__ == "__main__":
    main()
