"""API throughput: a job status endpoint with 10,000 jobs in Postgres vs. the framework floor.

Run: .venv/bin/python tests/benchmarks/api_bench.py [rounds]  (needs Postgres, Redis and wrk here)
     .venv/bin/python tests/benchmarks/api_bench.py --profile  (no server: CPU per request in one
     process and where a status request spends it, by layer; steadier than wrk on a busy machine)
Goal (issue 20): status ≥ 0.7 × `/healthz` requests/s, status p99 < 20 ms, same concurrency.

Both endpoints get what a phone sends (Bearer JWT, Accept, gzip, an OkHttp user agent); the status is
that of an existing job of the token's user, checked to answer 200 before the run. The two endpoints
alternate in rounds of 5 s, so a load change on a shared machine hits both alike; the ratio of each
round and the median are printed.
"""

import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_environment, gunicorn_server, recreate_database, setup_django, wrk

DATABASE = "vibi_bench_api"
JOB_COUNT = 10_000
ROUND_SECONDS = 5


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


def phone_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        "User-Agent": "okhttp/4.12.0",
    }


def status_answers(url: str, headers: dict[str, str], job_id: str) -> None:
    response = requests.get(url, headers=headers, timeout=120)  # workers may still be booting
    if response.status_code != 200 or response.json().get("jobId") != job_id:
        raise SystemExit(f"status of the seeded job answered {response.status_code} {response.text}")


# Where a status request spends its CPU: (label, [(file suffix, function)...]) summed cumulatively.
PROFILE_LAYERS = [
    ("URL resolution", [("django/core/handlers/base.py", "resolve_request")]),
    (
        "django-prometheus before/after",
        [("django_prometheus/middleware.py", name) for name in ("process_request", "process_view", "process_response")],
    ),
    ("access log line (format, redact, write)", [("logging/__init__.py", "info")]),
    ("poll view outside DRF's dispatch", [("apps/jobs/endpoints.py", "view")]),
    ("DRF request wrapping", [("rest_framework/views.py", "initialize_request")]),
    ("Bearer authentication (JWT, user)", [("apps/accounts/authentication.py", "authenticate")]),
    ("content negotiation", [("rest_framework/views.py", "perform_content_negotiation")]),
    (
        "permissions + throttles",
        [("rest_framework/permissions.py", "has_permission"), ("rest_framework/views.py", "check_throttles")],
    ),
    ("database health check (SELECT 1)", [("django/db/backends/base/base.py", "close_if_health_check_failed")]),
    ("status query (incl. health check)", [("apps/jobs/selectors.py", "job_status_snapshot")]),
    ("view (incl. status query)", [("apps/render/api.py", "get")]),
    ("JSON rendering", [("rest_framework/renderers.py", "render")]),
]


def _wsgi_caller():
    import logging
    import os

    from django.core.handlers.wsgi import WSGIHandler

    for handler in logging.getLogger().handlers:  # lines are still formatted and redacted, not shown
        handler.stream = open(os.devnull, "w")
    application = WSGIHandler()

    def call(path: str, headers: dict[str, str]) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "HTTP_HOST": "127.0.0.1:8000",
            **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
        }
        statuses = []
        body = application(environ, lambda status, _headers: statuses.append(status))
        b"".join(body)
        body.close()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{path} answered {statuses[0]}")

    return call


def profile(job_id: str, token: str, rounds: int = 20, batch: int = 200) -> None:
    """CPU per request (process time, best batch of each endpoint, alternating) and, for status,
    the share of each layer under cProfile."""
    call = _wsgi_caller()
    headers = phone_headers(token)
    paths = {"floor": "/healthz", "status": f"/api/v2/render/{job_id}/status"}
    for _ in range(200):
        for path in paths.values():
            call(path, headers)
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.process_time()
            for _ in range(batch):
                call(path, headers)
            best[name] = min(best[name], (time.process_time() - started) / batch * 1e6)
    print("CPU per request in one process (no server, no network; best of alternating batches):")
    print(
        f"  /healthz {best['floor']:.0f} µs, status {best['status']:.0f} µs, floor / status = {best['floor'] / best['status']:.2f}"
    )
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(rounds * batch // 2):
        call(paths["status"], headers)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(
        entry[3]
        for (filename, _, name), entry in stats.items()
        if name == "__call__" and filename.endswith("django/core/handlers/wsgi.py")
    )
    print("Status request under cProfile (cumulative share of the WSGI handler's CPU; nested rows overlap):")
    for label, functions in PROFILE_LAYERS:
        spent = sum(
            entry[3]
            for (filename, _, name), entry in stats.items()
            if any(filename.endswith(suffix) and name == function for suffix, function in functions)
        )
        print(f"  {label:<42}{spent / total * 100:>6.1f} %")


def main() -> None:
    recreate_database(DATABASE)
    environment = bench_environment(DATABASE)
    setup_django(environment)
    job_id, token = seed()
    if "--profile" in sys.argv:
        profile(job_id, token)
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    headers = phone_headers(token)
    figures: dict[str, list[dict]] = {"floor": [], "status": []}
    with gunicorn_server(environment) as base:
        urls = {"floor": f"{base}/healthz", "status": f"{base}/api/v2/render/{job_id}/status"}
        status_answers(urls["status"], headers, job_id)
        for name in ("floor", "status"):
            wrk(urls[name], seconds=2, headers=headers)  # warm-up: connections, caches, prepared statement
        for _ in range(rounds):
            for name in ("floor", "status"):
                figures[name].append(wrk(urls[name], seconds=ROUND_SECONDS, headers=headers))
    print(
        f"jobs in table: {JOB_COUNT}; gunicorn 2 sync workers; wrk -t2 -c16 from loopback; "
        f"{rounds} alternating rounds of {ROUND_SECONDS} s per endpoint"
    )
    print(f"{'round':<7}{'endpoint':<32}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    labels = {"floor": "/healthz (floor)", "status": "/api/v2/render/{id}/status"}
    for index in range(rounds):
        for name in ("floor", "status"):
            round_figures = figures[name][index]
            print(
                f"{index + 1:<7}{labels[name]:<32}{round_figures['rps']:>10.0f}{round_figures['p50']:>10.2f}"
                f"{round_figures['p99']:>10.2f}{round_figures['errors']:>10}"
            )
    ratios = [status["rps"] / floor["rps"] for floor, status in zip(figures["floor"], figures["status"], strict=True)]
    floor_rps = statistics.median(round_figures["rps"] for round_figures in figures["floor"])
    status_rps = statistics.median(round_figures["rps"] for round_figures in figures["status"])
    floor_p99 = statistics.median(round_figures["p99"] for round_figures in figures["floor"])
    status_p99 = statistics.median(round_figures["p99"] for round_figures in figures["status"])
    print(f"median req/s: /healthz {floor_rps:.0f}, status {status_rps:.0f}")
    print(f"median p99: /healthz {floor_p99:.1f} ms, status {status_p99:.1f} ms (goal < 20)")
    print(
        f"status / floor per round: {', '.join(f'{ratio:.2f}' for ratio in ratios)}; "
        f"median {statistics.median(ratios):.2f} (goal >= 0.70)"
    )


if __name__ == "__main__":
    main()
