"""The platform's Prometheus series that processes push (counters and histograms).

Every process (web, each worker pool child) writes its values to files in `PROMETHEUS_MULTIPROC_DIR`
(prometheus-client multiprocess mode, set up in settings before this module is imported); an
exporter sums the files of its host. Gauges of current state (jobs per status, queue depth, Perso
slots, oldest waiting job) are not pushed: `apps.observability.collectors` computes them at scrape time.
"""

import re

from prometheus_client import Counter, Histogram

JOBS_CREATED = Counter("vibi_jobs_created_total", "Jobs created", ["kind"])
JOBS_FINISHED = Counter("vibi_jobs_finished_total", "Jobs that reached a final status", ["kind", "status"])
STAGE_SECONDS = Histogram(
    "vibi_job_stage_seconds",
    "Wall time of one run of a job stage on a worker",
    ["kind", "stage", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf")),
)
UPSTREAM_CALLS = Counter("vibi_upstream_calls_total", "Calls to upstream services", ["service", "endpoint", "status"])
UPSTREAM_SECONDS = Histogram(
    "vibi_upstream_call_seconds",
    "Latency of calls to upstream services",
    ["service", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf")),
)
RENDER_REALTIME_FACTOR = Histogram(
    "vibi_render_realtime_factor",
    "Seconds of output rendered per second of wall time (above 1: faster than real time)",
    ["output_kind"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, float("inf")),
)

_ID_SEGMENT = re.compile(r"^(?:\d+|[0-9a-fA-F-]{16,}|[A-Za-z]{2,4}-[0-9a-fA-F-]{32,}|[A-Za-z0-9_-]{24,})$")


def endpoint_label(endpoint: str) -> str:
    """The endpoint without query string and with ids replaced, so the label set stays small."""
    path = endpoint.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    parts = [":id" if _ID_SEGMENT.match(part) else part for part in path.split("/")]
    return "/".join(parts)[:120] or "/"


def upstream_call_observe(*, service: str, endpoint: str, status_code: int | None, latency_ms: int) -> None:
    label = endpoint_label(endpoint)
    status = str(status_code) if status_code is not None else "error"
    UPSTREAM_CALLS.labels(service=service, endpoint=label, status=status).inc()
    UPSTREAM_SECONDS.labels(service=service, endpoint=label).observe(max(0, latency_ms) / 1000)


def job_created_observe(*, kind: str) -> None:
    JOBS_CREATED.labels(kind=kind).inc()


def job_finished_observe(*, kind: str, status: str) -> None:
    JOBS_FINISHED.labels(kind=kind, status=status).inc()


def stage_run_observe(*, kind: str, stage: str, outcome: str, seconds: float) -> None:
    STAGE_SECONDS.labels(kind=kind, stage=stage, outcome=outcome).observe(seconds)


def render_speed_observe(*, output_kind: str, output_sec: float, wall_sec: float) -> None:
    if output_sec > 0 and wall_sec > 0:
        RENDER_REALTIME_FACTOR.labels(output_kind=output_kind or "video").observe(output_sec / wall_sec)
