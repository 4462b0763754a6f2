"""End to end: N separation jobs through the whole platform (gunicorn web, the simulators server as
the upstream, K worker processes per queue started as the image starts them, beat) against the
simulator's own minimum time.

Run: .venv/bin/python tests/benchmarks/e2e_separation_bench.py [--jobs 100] [--workers 1]
     .venv/bin/python tests/benchmarks/e2e_separation_bench.py --scale     (jobs 100, 400 × workers 1, 2, 4)
     (needs Postgres, Redis, ffmpeg, espeak-ng; `make bench-e2e`)

The simulator's minimum for N jobs is ceil(N / in-flight cap) waves of one project's processing
time (3 stages × PERSO_SIM_STEP_SEC); everything above it is the platform's own overhead (submits,
trims, uploads, polling granularity — never under 5 s between polls of a project — and stem
downloads). The clock starts at the first submit, once the platform is up (every worker process answers a ping,
beat has its schedule, the web processes answer /healthz: its boot is not a job's cost); the jobs are submitted by SUBMITTERS clients at
once, each with its own Idempotency-Key. Perso calls per job are compared with the least a job needs:
its upload, submit and download calls plus ceil(processing time / 5 s) polls, +10%.
"""

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ROOT, bench_environment, gunicorn_server, recreate_database, setup_django, simulators_server

DATABASE = "vibi_bench_e2e"
STEP_SEC = 1.0
PROCESSING_SEC = 3 * STEP_SEC
IN_FLIGHT = 10
QUEUES = ("upload", "perso", "render", "default")
SUBMITTERS = 8
POLL_FLOOR_SEC = 5
# The Perso calls of a separation job by what they are for (endpoints as the call log records them).
CALL_PURPOSES = {
    "upload": re.compile(r"/file/api/upload/sas-token|^blob:|/file/api/v1/media/validate|/file/api/upload/audio"),
    "submit": re.compile(r"/audio-separation$"),
    "poll": re.compile(r"/progress$"),
    # download-info, the links, the files, and the project (it names the background's path)
    "download": re.compile(r"/download-info$|/download$|^storage:|/projects/\d+/spaces/\d+$"),
}


def speech_file(folder: Path) -> Path:
    sentences = ["Good morning, this is the first speaker.", "And here is a second voice answering."]
    parts = []
    for index, (voice, text) in enumerate(zip(("en", "en+f3"), sentences, strict=True)):
        part = folder / f"part{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(part), text], check=True)
        parts.append(part)
    target = folder / "dialogue.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(parts[0]),
            "-i",
            str(parts[1]),
            "-filter_complex",
            "[0:a]apad=pad_dur=0.8[a];[a][1:a]concat=n=2:v=0:a=1,apad=whole_dur=7[out]",
            "-map",
            "[out]",
            "-ar",
            "44100",
            str(target),
        ],
        check=True,
    )
    return target


def start_processes(environment: dict[str, str], data_dir: Path, workers_per_queue: int) -> dict[str, subprocess.Popen]:
    """K worker processes per queue with the image's options (workers/pools.py), and beat."""
    from workers.pools import beat_command, worker_command

    processes = {}
    for queue in QUEUES:
        for index in range(workers_per_queue):
            command = worker_command([queue], node=f"{queue}{index}@bench", loglevel="WARNING")
            processes[f"{queue}{index}"] = subprocess.Popen(
                command, cwd=ROOT, env=environment, start_new_session=True, stdout=subprocess.DEVNULL
            )
    beat = beat_command(schedule_file=str(data_dir / "beat-schedule"), loglevel="WARNING")
    processes["beat"] = subprocess.Popen(beat, cwd=ROOT, env=environment, start_new_session=True)
    return processes


def wait_until_ready(base: str, nodes: list[str], schedule_file: Path, timeout: float = 180) -> float:
    """Seconds until every worker node answers a ping, beat has written its schedule and the web
    server's processes answer /healthz: the clock then measures jobs, not the platform's boot."""
    from vibi.celery import app

    started = time.monotonic()
    deadline = started + timeout
    pending = set(nodes)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker processes not answering a ping after {timeout} s: {sorted(pending)}")
        for reply in app.control.ping(destination=sorted(pending), timeout=1.0):
            pending -= set(reply)
    while not list(schedule_file.parent.glob(f"{schedule_file.name}*")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"beat has not written {schedule_file} after {timeout} s")
        time.sleep(0.1)

    def healthz(_: int) -> int:
        return requests.get(f"{base}/healthz", timeout=30).status_code

    with ThreadPoolExecutor(SUBMITTERS) as askers:  # at once, so that every web process answers
        while set(askers.map(healthz, range(SUBMITTERS))) != {200}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base}/healthz not answering 200 after {timeout} s")
            time.sleep(0.2)
    return time.monotonic() - started


def stop_processes(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_sec(pid: int) -> tuple[float, float]:
    """(its own CPU, its ended children's CPU: ffmpeg, ffprobe) of a live process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class RssSampler:
    """Peak RSS of each worker process (a prefork worker: its main process plus its pool children),
    and the CPU each used, its own and its subprocesses' (last reading before the stop)."""

    def __init__(self, processes: dict[str, subprocess.Popen]):
        self.processes = {name: process for name, process in processes.items() if name != "beat"}
        self.peak_kb: dict[str, int] = dict.fromkeys(self.processes, 0)
        self.cpu_sec: dict[str, tuple[float, float]] = dict.fromkeys(self.processes, (0.0, 0.0))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(1.0):
            for name, process in self.processes.items():
                children = _children(process.pid)
                total = _rss_kb(process.pid) + sum(_rss_kb(child) for child in children)
                self.peak_kb[name] = max(self.peak_kb[name], total)
                own, ended = _cpu_sec(process.pid)
                for child in children:  # prefork pool processes (their ffmpeg counts once they end)
                    child_own, child_ended = _cpu_sec(child)
                    own, ended = own + child_own, ended + child_ended
                self.cpu_sec[name] = (own, ended)


def submit_jobs(base: str, token: str, audio: Path, job_count: int) -> list[str]:
    def submit(index: int) -> str:
        spec = (
            '{"mediaType":"AUDIO","numberOfSpeakers":2,"sourceLanguageCode":"auto",'
            f'"trimStartMs":0,"trimEndMs":{6000 + index},"editedRenderJobId":null}}'
        )
        with audio.open("rb") as handle:
            response = requests.post(
                f"{base}/api/v2/separate",
                files={"file": ("separation.mp3", handle, "audio/mpeg")},
                data={"spec": spec},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
                timeout=120,
            )
        response.raise_for_status()
        return response.json()["jobId"]

    with ThreadPoolExecutor(SUBMITTERS) as submitters:
        return list(submitters.map(submit, range(job_count)))


def _endpoint_kind(endpoint: str) -> str:
    """The endpoint without ids: one kind per distinct call a job makes (each file its own)."""
    kind = re.sub(r"/(?:sep|sub|dub)-[0-9a-f-]+", "/JOB", endpoint)
    return re.sub(r"/[0-9a-f]{16,}|(?<=/)\d+(?=/|$)", "", kind)


def _purpose(endpoint: str) -> str:
    return next((name for name, pattern in CALL_PURPOSES.items() if pattern.search(endpoint)), "other")


def perso_calls_per_job(jobs) -> dict[str, float]:
    """Calls per job by purpose, and the least a job needs: each distinct upload, submit and download
    call once, plus ceil(processing time / poll floor) polls."""
    from apps.jobs.models import ExternalCall

    calls = list(ExternalCall.objects.filter(job__in=jobs, service="perso").values_list("job_id", "endpoint"))
    job_count = jobs.count()
    figures = {name: 0.0 for name in [*CALL_PURPOSES, "other"]}
    needed_kinds = set()
    for job_id, endpoint in calls:
        purpose = _purpose(endpoint)
        figures[purpose] += 1 / job_count
        if purpose in ("upload", "submit", "download"):
            needed_kinds.add((job_id, _endpoint_kind(endpoint)))
    figures["total"] = len(calls) / job_count
    figures["needed"] = len(needed_kinds) / job_count + math.ceil(PROCESSING_SEC / POLL_FLOOR_SEC)
    return figures


def children_cpu_sec() -> float:
    """CPU time of this process's ended children and everything they waited for (ffmpeg included)."""
    times = os.times()
    return times.children_user + times.children_system


def run(job_count: int, workers_per_queue: int) -> dict:
    recreate_database(DATABASE)
    folder = Path(tempfile.mkdtemp(prefix="e2e-bench-"))
    environment = bench_environment(DATABASE) | {
        "CELERY_REDIS_KEY_PREFIX": f"bench{os.getpid()}-{job_count}-{workers_per_queue}:",
        "PERSO_SIM_DATA_DIR": str(folder / "sim"),
        "PERSO_SIM_STEP_SEC": str(STEP_SEC),
        "PERSO_SIM_QUEUE_MAX": str(IN_FLIGHT),
        "PERSO_MAX_IN_FLIGHT": str(IN_FLIGHT),
        "POLL_TICK_SEC": "1",
        "WORKER_RENDER_CONCURRENCY": "1",  # no render stage in a separation; one process, not one per CPU
    }
    setup_django(environment)
    from apps.accounts.models import User
    from apps.accounts.services import access_token_issue
    from apps.jobs.models import Job, JobStatus

    user, _ = User.objects.get_or_create(username="google:e2e", google_sub="e2e", email="e2e@x.test")
    token = access_token_issue(user=user).token
    audio = speech_file(folder)
    cpu_before = children_cpu_sec()
    with simulators_server(environment, folder / "simulators") as simulators:
        environment |= {
            "SIMULATOR_BASE_URL": simulators,
            "PERSO_API_BASE_URL": f"{simulators}/sim/perso",
            "PERSO_STORAGE_BASE_URL": f"{simulators}/sim/perso-storage",
        }
        with gunicorn_server(environment, workers=2, threads=4) as base:
            processes = start_processes(environment, folder, workers_per_queue)
            try:
                nodes = [f"{name}@bench" for name in processes if name != "beat"]
                boot = wait_until_ready(base, nodes, folder / "beat-schedule")
                with RssSampler(processes) as rss:
                    started = time.monotonic()
                    started_at = time.time()
                    job_ids = submit_jobs(base, token, audio, job_count)
                    submitted = time.monotonic() - started
                    deadline = started + 3600
                    while time.monotonic() < deadline:
                        ended = Job.objects.filter(
                            public_id__in=job_ids, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
                        ).count()
                        if ended == len(job_ids):
                            break
                        time.sleep(0.2)
                    total = time.monotonic() - started
            finally:
                stop_processes(processes)
        cpu_platform = children_cpu_sec() - cpu_before  # web and workers have ended, the simulators not yet
    cpu_simulators = children_cpu_sec() - cpu_before - cpu_platform
    jobs = Job.objects.filter(public_id__in=job_ids)
    calls = perso_calls_per_job(jobs)
    first_row_at = jobs.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "jobs": job_count,
        "workers": workers_per_queue,
        "submitted": submitted,
        "boot": boot,
        "first_row": first_row_at.timestamp() - started_at if first_row_at else 0.0,
        "total": total,
        "floor": math.ceil(job_count / IN_FLIGHT) * PROCESSING_SEC,
        "succeeded": jobs.filter(status=JobStatus.SUCCEEDED).count(),
        "calls": calls,
        "calls_allowed": calls["needed"] * 1.1,
        "rss_mb": {name: kb / 1024 for name, kb in rss.peak_kb.items()},
        "cpu_platform": cpu_platform,
        "cpu_workers": dict(rss.cpu_sec),
        "cpu_simulators": cpu_simulators,
    }


def report(result: dict) -> None:
    calls, ratio = result["calls"], result["total"] / result["floor"]
    print(
        f"{result['jobs']} separation jobs, {result['workers']} worker process(es) per queue, simulator "
        f"{PROCESSING_SEC:.0f} s per project, {IN_FLIGHT} in flight, {SUBMITTERS} clients submitting"
    )
    print(
        f"  platform up in {result['boot']:.1f} s before the clock; submitted in {result['submitted']:.1f} s"
        f" (the first job row after {result['first_row']:.1f} s);"
        f" all ended in {result['total']:.1f} s; succeeded {result['succeeded']}/{result['jobs']}"
    )
    print(f"  simulator's floor {result['floor']:.0f} s; wall / floor = {ratio:.2f} (goal <= 2.00)")
    print(
        f"  Perso calls per job {calls['total']:.2f} (upload {calls['upload']:.2f}, submit {calls['submit']:.2f},"
        f" poll {calls['poll']:.2f}, download {calls['download']:.2f}, other {calls['other']:.2f});"
        f" allowed {result['calls_allowed']:.2f} = (its distinct upload, submit and download calls"
        f" + {math.ceil(PROCESSING_SEC / POLL_FLOOR_SEC)} poll) × 1.1"
    )
    cpu_per_job = (result["cpu_platform"] + result["cpu_simulators"]) / result["jobs"]
    cores = len(os.sched_getaffinity(0))
    print(
        f"  CPU per job: platform {result['cpu_platform'] / result['jobs']:.2f} s (web, workers, their ffmpeg),"
        f" simulators {result['cpu_simulators'] / result['jobs']:.2f} s; on {cores} cores the CPU alone takes"
        f" >= {cpu_per_job * result['jobs'] / cores:.0f} s (load average at the end {os.getloadavg()[0]:.1f})"
    )
    workers_cpu = ", ".join(
        f"{name} {own / result['jobs']:.2f} + {ended / result['jobs']:.2f}"
        for name, (own, ended) in sorted(result["cpu_workers"].items())
    )
    print(f"  CPU per job by worker process, s (Python + its ffmpeg/ffprobe): {workers_cpu}")
    peaks = ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(result["rss_mb"].items()))
    print(f"  peak RSS per worker process, MB: {peaks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per queue")
    parser.add_argument("--scale", action="store_true", help="jobs 100 and 400 × 1, 2 and 4 workers per queue")
    arguments = parser.parse_args()
    grid = [(jobs, workers) for jobs in (100, 400) for workers in (1, 2, 4)] if arguments.scale else []
    results = []
    for job_count, workers in grid or [(arguments.jobs, arguments.workers)]:
        results.append(run(job_count, workers))
        report(results[-1])
    if len(results) > 1:
        print(
            "\n| jobs | worker processes per queue | wall s | floor s | wall / floor | Perso calls per job | peak RSS MB per worker process |"
        )
        print("|---|---|---|---|---|---|---|")
        for result in results:
            rss = max(result["rss_mb"].values())
            print(
                f"| {result['jobs']} | {result['workers']} | {result['total']:.1f} | {result['floor']:.0f} |"
                f" {result['total'] / result['floor']:.2f} | {result['calls']['total']:.2f} | {rss:.0f} |"
            )


if __name__ == "__main__":
    main()
