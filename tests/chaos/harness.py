"""The chaos harness: the whole platform as real processes on a private Postgres and Redis, a seeded
stream of jobs of every kind from several users, SIGKILLs of worker process groups at named moments
reached on purpose (apps/core/chaos.py), one Postgres and one Redis restart, then every invariant
checked and a report table.

Run: `make chaos SEED=7 N=200` (python -m tests.chaos --seed 7 --jobs 200 --kills 56). The exit code
is 0 only when every invariant holds. Nothing here touches the machine's shared Postgres or Redis:
both are started on free ports in a temporary folder and removed afterwards.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.support.network import free_loopback_port, healthz_answers, redis_answers_ping
from tests.support.waiting import wait_group_dead, wait_until

BASE_DIR = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
QUEUE_CONCURRENCY = {"upload": 2, "perso": 2, "gemini": 2, "render": 1, "default": 1}
# The moment → the worker queues that reach it.
MOMENTS = ("perso_upload", "perso_submit_accepted", "perso_poll", "perso_download", "render", "mix", "translation")
KINDS = ("subtitles", "autodub", "separation", "render")  # each separation is followed by a mix
PERSO_KINDS = ("subtitles", "autodub", "separation")
MOMENT_KINDS = {
    "perso_upload": PERSO_KINDS,
    "perso_submit_accepted": PERSO_KINDS,
    "perso_poll": PERSO_KINDS,
    "perso_download": ("autodub", "separation"),
    "render": ("render",),
    "translation": ("subtitles",),
}
SPEECH = ["Hello and welcome to the show.", "Today we talk about rivers.", "Thank you for watching."]
AUDIENCE = "vibi-embedded.apps.googleusercontent.com"
MAX_IN_FLIGHT = 16


def now_utc() -> datetime:
    return datetime.now(UTC)


class Child:
    """One process of the run, in its own session (so its whole group can be SIGKILLed)."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path, user: str | None = None):
        self.name, self.argv, self.env, self.log_dir, self.user = name, argv, env, log_dir, user
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")
        argv = ["runuser", "-u", self.user, "--", *self.argv] if self.user else self.argv
        self.process = subprocess.Popen(
            argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    @property
    def pgid(self) -> int | None:
        return self.process.pid if self.process else None

    def kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        wait_group_dead(self.process.pid)  # pool children may outlive their parent by a moment
        self.process = None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class PrivatePostgres:
    """initdb + postgres of the machine's PostgreSQL binaries, as the postgres user, on a free port."""

    def __init__(self, folder: Path, log_dir: Path):
        self.folder = folder
        self.port = free_loopback_port()
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = bins[-1]
        self.data = folder / "data"
        folder.mkdir(parents=True)
        shutil.chown(folder, "postgres", "postgres")
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self.child = Child(
            "postgres", [str(self.bin / "postgres"), "-D", str(self.data), *options.split()], dict(os.environ),
            log_dir, user="postgres",
        )  # fmt: skip

    def _run(self, argv: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/vibi"

    def ready(self) -> bool:
        completed = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], timeout=10
        )
        return completed.returncode == 0

    def start(self) -> None:
        self.child.start()
        wait_until(self.ready, timeout=60, what="postgres to accept connections")

    def create_database(self) -> None:
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "vibi"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def restart(self) -> None:
        """A crash and a restart: SIGKILL of the postmaster's group (every backend), then start."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        self.child.kill()
        # The socket's lock file names the old postmaster: a new one refuses to start while that PID
        # exists, and a killed postmaster (runuser's child) is a zombie until init reaps it.
        wait_until(lambda: not _pid_exists(postmaster), timeout=30, what="the old postmaster reaped", every=0.05)
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        self.start()

    def stop(self) -> None:
        self.child.kill()


class PrivateRedis:
    def __init__(self, folder: Path, log_dir: Path):
        folder.mkdir(parents=True)
        self.port = free_loopback_port()
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(folder), "--daemonize", "no",
        ]  # fmt: skip
        self.child = Child("redis", argv, dict(os.environ), log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.child.start()
        wait_until(lambda: redis_answers_ping(self.port), timeout=30, what="redis to answer PING")

    def restart(self) -> None:
        """SIGKILL and start again, empty: every queued message is lost."""
        self.child.kill()
        self.start()

    def stop(self) -> None:
        self.child.kill()


@dataclass
class Kill:
    moment: str
    worker: str
    job_pk: int
    at: datetime
    takeover_sec: float | None = None  # kill → the stage re-sent to a live worker (or, a poll, polled again)
    running_sec: float | None = None  # kill → the stage running again (includes the wait in its queue)
    stage: str = ""


@dataclass
class Submitted:
    public_id: str
    kind: str
    user: str
    source_ms: int
    extra: dict = field(default_factory=dict)


class ChaosRun:
    def __init__(
        self,
        *,
        seed: int,
        jobs: int,
        kills: int,
        restarts: bool,
        workdir: Path,
        deadline_sec: float,
        moments: tuple[str, ...] = MOMENTS,
    ):
        unknown = set(moments) - set(MOMENTS)
        if unknown:
            raise ValueError(f"unknown moments {sorted(unknown)}; known: {', '.join(MOMENTS)}")
        self.moments = moments
        self.seed, self.job_count, self.kill_count, self.with_restarts = seed, jobs, kills, restarts
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.deadline_sec = deadline_sec
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True)
        self.chaos_dir = workdir / "chaos"
        for name in ("armed", "reached", "released"):
            (self.chaos_dir / name).mkdir(parents=True)
        self.media_root = workdir / "media"
        self.data_dir = workdir / "data"
        self.temp_dir = workdir / "tmp"
        for folder in (self.media_root, self.data_dir, self.temp_dir, workdir / "sim", workdir / "inputs"):
            folder.mkdir(parents=True)
        self.postgres = PrivatePostgres(workdir / "pg", self.logs)
        self.redis = PrivateRedis(workdir / "redis", self.logs)
        self.web_port = free_loopback_port()
        self.children: dict[str, Child] = {}
        self.kills: list[Kill] = []
        self.misses: Counter = Counter()
        self.restarts: list[tuple[str, datetime]] = []
        self.submitted: list[Submitted] = []
        self.submit_retries = 0
        self.lock = threading.Lock()
        self.background_done = threading.Event()
        self.children_lock = threading.Lock()
        self.unplanned_exits: list[str] = []
        self.submit_index = 0
        self.stop = threading.Event()
        self.started = time.monotonic()

    # --- the platform --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.chaos.settings",
            "DATABASE_URL": self.postgres.url,
            "CELERY_BROKER_URL": self.redis.url,
            "CELERY_REDIS_KEY_PREFIX": "",
            "CHAOS_MEDIA_ROOT": str(self.media_root),
            "CHAOS_SIM_DIR": str(self.workdir / "sim"),
            "VIBI_DATA_DIR": str(self.data_dir),
            "VIBI_CHAOS_DIR": str(self.chaos_dir),
            "SIMULATOR_BASE_URL": self.base_url,
            "PUBLIC_BASE_URL": self.base_url,
            "THROTTLE_SUBMIT": "100000/min",
            "THROTTLE_SIGN_IN": "100000/min",
            "TMPDIR": str(self.temp_dir),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }

    def start_platform(self) -> None:
        self.postgres.start()
        self.postgres.create_database()
        self.redis.start()
        env = self.env()
        os.environ.update(env)  # this process reads the same database (django.setup() comes next)
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True
        )
        web = [
            str(BIN / "python"), "-m", "gunicorn", "vibi.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", "2", "--threads", "8", "--timeout", "300",
        ]  # fmt: skip
        self.children["web"] = Child("web", web, env, self.logs)
        for queue, concurrency in QUEUE_CONCURRENCY.items():
            argv = [
                str(BIN / "celery"), "-A", "vibi", "worker", "-Q", queue, "--pool", "prefork", "-c", str(concurrency),
                "-n", f"{queue}@chaos", "--without-mingle", "--without-gossip", "--without-heartbeat",
                "--prefetch-multiplier", "1", "-l", "INFO",
            ]  # fmt: skip
            self.children[queue] = Child(queue, argv, env, self.logs)
        beat = [
            str(BIN / "celery"), "-A", "vibi", "beat", "-l", "INFO",
            "-s", str(self.workdir / "beat-schedule"), "--pidfile", str(self.workdir / "beat.pid"),
        ]  # fmt: skip
        self.children["beat"] = Child("beat", beat, env, self.logs)
        for child in self.children.values():
            child.start()
        wait_until(lambda: healthz_answers(self.base_url), timeout=120, what="the web server")

    def stop_platform(self) -> None:
        for child in self.children.values():
            child.kill()
        self.redis.stop()
        self.postgres.stop()

    # --- media and users -----------------------------------------------------------------------------

    def make_media(self) -> None:
        inputs = self.workdir / "inputs"
        parts = []
        for index, sentence in enumerate(SPEECH):
            part = inputs / f"part{index}.wav"
            subprocess.run(["espeak-ng", "-s", "170", "-w", str(part), sentence], check=True, timeout=60)
            parts.append(part)
        command = ["ffmpeg", "-y", "-loglevel", "error"]
        for part in parts:
            command += ["-i", str(part)]
        chains = [f"[{i}:a]aresample=44100,apad=pad_dur=1.2[p{i}]" for i in range(len(parts))]
        labels = "".join(f"[p{i}]" for i in range(len(parts)))
        command += ["-filter_complex", ";".join([*chains, f"{labels}concat=n={len(parts)}:v=0:a=1[out]"])]
        command += ["-map", "[out]", "-metadata", f"comment={'|'.join(SPEECH)}", str(inputs / "speech.wav")]
        subprocess.run(command, check=True, timeout=120)
        subprocess.run(
            [
                "ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=12",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=12", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-shortest", str(inputs / "clip.mp4"),
            ],
            check=True,
            timeout=120,
        )  # fmt: skip
        self.speech_ms = probe_duration_ms(inputs / "speech.wav")
        self.clip_ms = probe_duration_ms(inputs / "clip.mp4")

    def variant(self, name: str, index: int) -> Path:
        """The input with a unique tag, so that no two submits are the same request (dedupe)."""
        source = self.workdir / "inputs" / name
        target = self.workdir / "inputs" / f"{index}-{name}"
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-i", str(source), "-map", "0", "-c", "copy",
             "-metadata", f"title=chaos-{index}", "-metadata", f"comment={'|'.join(SPEECH)}", str(target)],
            check=True,
            timeout=60,
        )  # fmt: skip
        return target

    def sign_in(self, name: str) -> requests.Session:
        token = requests.post(
            f"{self.base_url}/sim/google/token",
            json={"sub": f"chaos-{name}", "email": f"{name}@example.com", "aud": AUDIENCE},
            timeout=30,
        ).json()["idToken"]
        answer = requests.post(f"{self.base_url}/api/v2/auth/google", json={"idToken": token}, timeout=30)
        answer.raise_for_status()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {answer.json()['accessToken']}"
        return session

    # --- submitting ----------------------------------------------------------------------------------

    def _post(self, session: requests.Session, path: str, **kwargs) -> requests.Response:
        """A client that retries while the platform restarts a server (503 or no answer)."""
        for attempt in range(60):
            files = kwargs.pop("file_path", None) if attempt == 0 else kwargs.get("_file_path")
            if files is not None:
                kwargs["_file_path"] = files
            try:
                send = {key: value for key, value in kwargs.items() if key != "_file_path"}
                if kwargs.get("_file_path") is not None:
                    with open(kwargs["_file_path"], "rb") as handle:
                        response = session.post(f"{self.base_url}{path}", files={"file": handle}, timeout=120, **send)
                else:
                    response = session.post(f"{self.base_url}{path}", timeout=120, **send)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code < 500:
                return response
            with self.lock:
                self.submit_retries += 1
            time.sleep(1)
        raise RuntimeError(f"POST {path} kept failing")

    def submit_one(
        self, index: int, kind: str, user: str, session: requests.Session, *, auto_mix: bool = False
    ) -> "Submitted":
        if kind == "render":
            clip = self.variant("clip.mp4", index)
            config = {
                "segments": [
                    {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0, "trimEndMs": 0}
                ],
                "frame": {"width": 640, "height": 360, "backgroundColorHex": "#000000"},
                "quality": "high",
            }
            with open(clip, "rb") as handle:
                response = self._post_render(session, handle, config)
            assert response.status_code == 200, response.text
            return self.record(Submitted(response.json()["jobId"], kind, user, self.clip_ms))
        audio = self.variant("speech.wav", index)
        if kind == "subtitles":
            spec = {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["ko", "ja"]}
            path = "/api/v2/subtitles"
        elif kind == "autodub":
            spec = {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ko"}
            path = "/api/v2/autodub"
        else:
            spec = {"mediaType": "AUDIO", "numberOfSpeakers": 1, "sourceLanguageCode": "auto"}
            path = "/api/v2/separate"
        response = self._post(session, path, file_path=audio, data={"spec": json.dumps(spec)})
        assert response.status_code == 202, response.text
        return self.record(Submitted(response.json()["jobId"], kind, user, self.speech_ms, {"auto_mix": auto_mix}))

    def _post_render(self, session, handle, config) -> requests.Response:
        for _ in range(60):
            handle.seek(0)
            try:
                response = session.post(
                    f"{self.base_url}/api/v2/render",
                    files={"video_0": handle},
                    data={"config": json.dumps(config)},
                    timeout=120,
                )
                if response.status_code < 500:
                    return response
            except requests.RequestException:
                pass
            with self.lock:
                self.submit_retries += 1
            time.sleep(1)
        raise RuntimeError("render submit kept failing")

    def record(self, submitted: Submitted) -> Submitted:
        with self.lock:
            self.submitted.append(submitted)
        return submitted

    def next_index(self) -> int:
        with self.lock:
            self.submit_index += 1
            return self.submit_index

    def submitter(self, sessions: dict[str, requests.Session]) -> None:
        """Background load: the jobs the kills do not bring, at a seeded pace, every kind early on, never
        more than MAX_IN_FLIGHT unfinished at once (a steady load, not a backlog this machine could not
        clear: a fault run, not a throughput run); each of its separations is mixed once READY."""
        rng = random.Random(self.seed * 7919 + 1)
        count = max(0, self.job_count - self.kill_count)
        kinds = list(KINDS)[:count] + [rng.choice(KINDS) for _ in range(max(0, count - len(KINDS)))]
        try:
            for kind in kinds:
                if self.stop.is_set():
                    return
                user = rng.choice(sorted(sessions))
                while self.in_flight() >= MAX_IN_FLIGHT and not self.stop.is_set():
                    self.submit_mixes(sessions)
                    time.sleep(0.5)
                self.submit_one(self.next_index(), kind, user, sessions[user], auto_mix=True)
                self.submit_mixes(sessions)
                time.sleep(rng.uniform(0.0, 1.0))
            while not self.stop.is_set():
                self.submit_mixes(sessions)
                separations = [job for job in self.snapshot() if job.kind == "separation" and job.extra.get("auto_mix")]
                if all(job.extra.get("mixed") or self.status_of(job) in TERMINAL for job in separations):
                    return
                time.sleep(1)
        finally:
            self.background_done.set()

    def in_flight(self) -> int:
        from apps.jobs.models import Job

        ids = [job.public_id for job in self.snapshot()]
        return db_read(lambda: Job.objects.filter(public_id__in=ids).exclude(status__in=TERMINAL).count())

    def submit_mixes(self, sessions) -> None:
        for job in self.snapshot():
            if job.kind == "separation" and job.extra.get("auto_mix") and not job.extra.get("mixed"):
                self.submit_mix(sessions, job)

    def submit_mix(self, sessions, job: "Submitted") -> bool:
        """A mix of every stem of `job` once it is READY; False while it is not."""
        from apps.jobs.models import Job, JobStatus

        row = db_read(lambda: Job.objects.filter(public_id=job.public_id).values("status", "result").first())
        if not row or row["status"] != JobStatus.SUCCEEDED:
            return False
        stems = [stem["stemId"] for stem in row["result"].get("stems", [])]
        body = {"stems": [{"stemId": stem_id, "volume": 0.8} for stem_id in stems]}
        response = self._post(sessions[job.user], f"/api/v2/separate/{job.public_id}/mix", json=body)
        job.extra["mixed"] = True
        if response.status_code == 202:
            self.record(Submitted(response.json()["mixJobId"], "mix", job.user, job.source_ms))
        return True

    def bring_job_for(self, moment: str, sessions) -> None:
        """Submits a job whose pipeline passes `moment` (the chaos loop's own jobs)."""
        user = self.rng.choice(sorted(sessions))
        if moment == "mix":
            ready = [
                job
                for job in self.snapshot()
                if job.kind == "separation" and not job.extra.get("auto_mix") and not job.extra.get("mixed")
            ]
            for job in ready:
                if self.submit_mix(sessions, job):
                    return
            # None READY yet: a separation now, and its mix as soon as it is READY.
            separation = self.submit_one(self.next_index(), "separation", user, sessions[user])
            try:
                wait_until(
                    lambda: self.submit_mix(sessions, separation), timeout=120, what="a separation to mix", every=1
                )
            except TimeoutError:
                pass
            return
        kind = self.rng.choice(MOMENT_KINDS[moment])
        self.submit_one(self.next_index(), kind, user, sessions[user])

    def snapshot(self) -> list[Submitted]:
        with self.lock:
            return list(self.submitted)

    def status_of(self, job: Submitted) -> str:
        from apps.jobs.models import Job

        return (
            db_read(lambda: Job.objects.filter(public_id=job.public_id).values_list("status", flat=True).first()) or ""
        )

    # --- chaos ---------------------------------------------------------------------------------------

    def perso_control(self, **changes) -> None:
        for _ in range(30):
            try:
                requests.post(f"{self.base_url}/sim/perso/_control", json=changes, timeout=10).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(1)

    def bursts(self) -> None:
        rng = random.Random(self.seed * 31 + 3)
        while not self.stop.wait(rng.uniform(15.0, 30.0)):
            self.perso_control(rate_limit_burst=rng.randint(2, 4))

    def worker_of(self, pid: int) -> str | None:
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((name for name, child in self.children.items() if child.pgid == pgid), None)

    def arm_and_kill(self, moment: str, *, timeout: float, bring=None) -> bool:
        armed = self.chaos_dir / "armed" / moment
        seen = {path.name for path in (self.chaos_dir / "reached").glob(f"{moment}.*")}
        armed.write_text("300")
        if bring is not None:
            bring()

        def reached():
            fresh = [path for path in (self.chaos_dir / "reached").glob(f"{moment}.*") if path.name not in seen]
            return fresh[0] if fresh else None

        try:
            hit = wait_until(reached, timeout=timeout, what=moment, every=0.05)
        except TimeoutError:
            try:
                armed.unlink()
                return False
            except FileNotFoundError:  # reached just now
                hit = wait_until(reached, timeout=5, what=moment, every=0.05)
        _, pid, job_pk, _ = hit.name.split(".", 3)
        with self.children_lock:
            worker = self.worker_of(int(pid))
            if worker is None:
                return False
            self.children[worker].kill()
            self.kills.append(Kill(moment=moment, worker=worker, job_pk=int(job_pk), at=now_utc()))
            self.children[worker].start()
        return True

    def supervisor(self) -> None:
        """What a process supervisor does in production (a restart policy): a web, worker or beat
        process that exits by itself is started again. Each such exit is reported: none is expected."""
        while not self.stop.wait(1.0):
            with self.children_lock:
                for name, child in self.children.items():
                    if child.process is not None and child.process.poll() is not None:
                        self.unplanned_exits.append(
                            f"{name} exited with {child.process.returncode} at {now_utc():%H:%M:%S}"
                        )
                        child.process = None
                        child.start()

    def chaos_loop(self, sessions) -> None:
        """Each kill: arm its moment, bring a job that passes it, wait until a worker reaches it, SIGKILL
        that worker's process group, start the worker again. A moment not reached in time is disarmed,
        counted as missed and tried again later (at most three more times)."""
        rng = self.rng
        schedule = []
        while len(schedule) < self.kill_count:
            round_ = list(self.moments)
            rng.shuffle(round_)
            schedule += round_
        schedule = schedule[: self.kill_count]
        restart_at = {}
        if self.with_restarts:
            restart_at = {max(1, len(schedule) // 3): "postgres", max(2, 2 * len(schedule) // 3): "redis"}
        pending = list(schedule)
        tries: Counter = Counter()
        done = 0
        while pending and not self.stop.is_set():
            moment = pending.pop(0)
            time.sleep(rng.uniform(0.0, 1.0))
            if self.arm_and_kill(moment, timeout=90, bring=lambda moment=moment: self.bring_job_for(moment, sessions)):
                done += 1
                if done in restart_at:
                    time.sleep(rng.uniform(0.5, 3.0))  # while the killed work is being taken over
                    self.restart(restart_at.pop(done))
            else:
                self.misses[moment] += 1
                tries[moment] += 1
                if tries[moment] < 4:
                    pending.append(moment)
        for server in list(restart_at.values()):
            self.restart(server)

    def restart(self, server: str) -> None:
        (self.postgres if server == "postgres" else self.redis).restart()
        self.restarts.append((server, now_utc()))

    def all_settled(self) -> bool:
        if not self.background_done.is_set():
            return False
        from apps.jobs.models import Job

        ids = [job.public_id for job in self.snapshot()]
        return not db_read(lambda: Job.objects.filter(public_id__in=ids).exclude(status__in=TERMINAL).exists())

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> dict:
        self.make_media()
        self.start_platform()
        import django

        django.setup()
        self.perso_control(transient_500_rate=0.1, retry_after_sec=1, queue_max=10_000)
        sessions = {name: self.sign_in(name) for name in ("ana", "ben", "chloe")}
        threads = [
            threading.Thread(target=self.submitter, args=(sessions,), daemon=True),
            threading.Thread(target=self.bursts, daemon=True),
            threading.Thread(target=self.supervisor, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self.chaos_loop(sessions)
            wait_until(self.all_settled, timeout=self.deadline_sec, what="every job to end", every=1)
            settled = True
        except TimeoutError:
            settled = False
        finally:
            self.stop.set()
            self.perso_control(transient_500_rate=0.0, rate_limit_burst=0)
        for thread in threads:
            thread.join(timeout=60)
        report = self.check(settled=settled)
        report["wall_sec"] = round(time.monotonic() - self.started, 1)
        return report

    # --- invariants ----------------------------------------------------------------------------------

    def check(self, *, settled: bool) -> dict:
        from django.db import close_old_connections

        from apps.jobs.models import Job, JobEvent, JobStatus

        close_old_connections()
        submitted = self.snapshot()
        jobs = {job.public_id: job for job in Job.objects.filter(public_id__in=[s.public_id for s in submitted])}
        violations: list[str] = []
        if not settled:
            stuck = [f"{j.public_id} {j.status}/{j.stage}" for j in jobs.values() if j.status not in TERMINAL]
            violations.append(f"not terminal within {self.deadline_sec:.0f}s: {stuck}")
        violations += check_perso_projects(jobs.values(), perso_submits_by_job(self.workdir / "sim"))
        for item in submitted:
            job = jobs.get(item.public_id)
            if job is None:
                violations.append(f"{item.public_id}: accepted but no row")
                continue
            violations += check_outputs(job, item, self.media_root)
        held = Job.objects.filter(lease_expires_at__isnull=False) | Job.objects.filter(status=JobStatus.PROCESSING)
        violations += [f"{job.public_id}: lease still held ({job.status})" for job in held]
        violations += [f"temp file left: {path}" for path in leftover_temp_files(self)]

        for kill in self.kills:
            kill.stage, kill.takeover_sec, kill.running_sec = takeover_times(kill)
        takeovers = [kill.takeover_sec for kill in self.kills if kill.takeover_sec is not None]
        running = [kill.running_sec for kill in self.kills if kill.running_sec is not None]
        retries = JobEvent.objects.filter(job__public_id__in=list(jobs), kind=JobEvent.Kind.RETRY).count()
        failed = Counter(f"{job.kind}:{job.error_code}" for job in jobs.values() if job.status == JobStatus.FAILED)
        return {
            "seed": self.seed,
            "jobs": len(submitted),
            "jobs_by_kind": dict(Counter(item.kind for item in submitted)),
            "kills": len(self.kills),
            "kills_by_moment": {moment: sum(k.moment == moment for k in self.kills) for moment in MOMENTS},
            "moments_missed": dict(self.misses),
            "restarts": [f"{server} at {at:%H:%M:%S}" for server, at in self.restarts],
            "unplanned_exits": self.unplanned_exits,
            "completed": sum(job.status == JobStatus.SUCCEEDED for job in jobs.values()),
            "failed": dict(failed),
            "stage_retries": retries,
            "submit_retries": self.submit_retries,
            "takeover_median_sec": round(statistics.median(takeovers), 1) if takeovers else None,
            "takeover_worst_sec": round(max(takeovers), 1) if takeovers else None,
            "takeovers_unmeasured": sum(kill.takeover_sec is None for kill in self.kills),
            "running_again_median_sec": round(statistics.median(running), 1) if running else None,
            "running_again_worst_sec": round(max(running), 1) if running else None,
            "kill_details": [
                {
                    "moment": kill.moment,
                    "worker": kill.worker,
                    "job_pk": kill.job_pk,
                    "stage": kill.stage,
                    "at": kill.at.isoformat(),
                    "takeover_sec": kill.takeover_sec,
                    "running_sec": kill.running_sec,
                }
                for kill in self.kills
            ],
            "violations": violations,
        }


TERMINAL = ("succeeded", "failed", "cancelled")


def db_read(query):
    """A read of the harness's own: the database may be restarting (that is the point), so retry."""
    from django.db import DatabaseError, connection

    for _ in range(120):
        try:
            return query()
        except DatabaseError:
            connection.close()
            time.sleep(0.5)
    return query()


def probe_duration_ms(path: Path) -> int:
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return int(float(json.loads(completed.stdout)["format"]["duration"]) * 1000)


def perso_submits_by_job(sim_dir: Path) -> Counter:
    """Accepted Perso submits per job, by the simulator's own books (its state document): one submit
    creates one project per target language, all with the job's title and one creation time.
    The one place that reads the simulator's bookkeeping, so it can switch to a counter endpoint."""
    from django.conf import settings

    from apps.simulators.perso.state import sim_state

    settings.PERSO_SIM_DATA_DIR = str(sim_dir)
    with sim_state(write=False) as state:
        projects = list(state["projects"].values())
    submits = {(project["title"], project["createdAt"]) for project in projects}
    # Titles are `<kind>-<job public id>-<nonce>`; the public id is `<prefix>-<uuid>`.
    job_ids = (JOB_ID_IN_TITLE.search(title) for title, _ in submits)
    return Counter(match.group(0) for match in job_ids if match)


JOB_ID_IN_TITLE = re.compile(r"[a-z]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_perso_projects(jobs, submits: Counter) -> list[str]:
    """Exactly one submit per job that recorded a Perso project, none for jobs that never did."""
    violations = []
    for job in jobs:
        count = submits.get(job.public_id, 0)
        recorded = job.upstream.get("persoProjectSeq") is not None
        uncertain = job.error_code == "perso_submit_uncertain"
        if recorded and count != 1:
            violations.append(f"{job.public_id}: {count} Perso submits for one recorded project")
        elif uncertain and count > 1:
            violations.append(f"{job.public_id}: {count} Perso submits (uncertain submit)")
        elif not recorded and not uncertain and count:
            violations.append(f"{job.public_id}: {count} Perso submits but no project recorded")
        if job.kind in ("subtitles", "autodub", "separation") and job.status == "succeeded" and count != 1:
            violations.append(f"{job.public_id}: succeeded with {count} Perso submits")
    return violations


# What each kind leaves in storage when it succeeds: result key → expected streams.
OUTPUTS = {
    "render": {"output_key": ("video", "audio")},
    "mix": {"outputKey": ("audio",)},
    "autodub": {"dubbedAudioKey": ("audio",)},
    "subtitles": {"originalSrtKey": ()},
}


def check_outputs(job, item: Submitted, media_root: Path) -> list[str]:
    from apps.media.ffmpeg import FfmpegError, probe

    violations = []
    folder = media_root / "jobs" / job.public_id
    files = sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []
    for path in files:
        if path.suffix in (".tmp", ".part", ".partial") or path.name.startswith("."):
            violations.append(f"{job.public_id}: partial object {path.relative_to(media_root)}")
    if job.status != "succeeded":
        return violations
    expected: dict[str, tuple] = dict(OUTPUTS.get(job.kind, {}))
    keys = {name: job.result.get(name) for name in expected}
    if job.kind == "subtitles":
        keys |= {f"translation:{lang}": key for lang, key in (job.result.get("translatedSrtKeys") or {}).items()}
        expected |= {name: () for name in keys}
        if len(job.result.get("translatedSrtKeys") or {}) != 2:
            violations.append(f"{job.public_id}: translations {job.result.get('translatedSrtKeys')}")
    if job.kind == "separation":
        for stem in job.result.get("stems") or []:
            keys[f"stem:{stem['stemId']}"] = stem.get("storageKey")
            expected[f"stem:{stem['stemId']}"] = ("audio",)
        if not job.result.get("stems"):
            violations.append(f"{job.public_id}: succeeded without stems")
        if job.events.filter(kind="note", message__startswith="stems disposed").exists():
            keys = {name: key for name, key in keys.items() if not name.startswith("stem:")}  # a mix consumed them
    for name, key in keys.items():
        if not key or not (media_root / key).is_file():
            violations.append(f"{job.public_id}: completed but output {name} missing ({key})")
            continue
        streams = expected[name]
        if not streams:
            if not (media_root / key).read_text(errors="replace").strip():
                violations.append(f"{job.public_id}: empty {name}")
            continue
        try:
            info = probe(media_root / key)
        except FfmpegError as exc:
            violations.append(f"{job.public_id}: {name} does not probe: {exc}")
            continue
        kinds = sorted({stream.codec_type for stream in info.streams} & {"video", "audio"})
        if kinds != sorted(streams):
            violations.append(f"{job.public_id}: {name} has streams {kinds}, expected {sorted(streams)}")
        if abs(info.duration_ms - item.source_ms) > max(1000, item.source_ms * 0.1):
            violations.append(f"{job.public_id}: {name} lasts {info.duration_ms} ms, expected ~{item.source_ms}")
    # Duplicates: two stored objects of one output (e.g. `output.mp4` and `output_a1b2c3.mp4`).
    stems = Counter(path.with_suffix("").name.rsplit("_", 1)[0] for path in files if "_" in path.stem)
    for stem_name, count in stems.items():
        if count > 1 and any(path.stem == stem_name for path in files):
            violations.append(f"{job.public_id}: duplicate objects of {stem_name}")
    return violations


def leftover_temp_files(run: "ChaosRun") -> list[Path]:
    roots = [run.temp_dir, run.data_dir / "upload-tmp", run.data_dir / "render-work"]
    slot_locks = run.data_dir / "render-work" / "slots"  # the render slots' lock files stay by design
    return [
        path
        for root in roots
        if root.exists()
        for path in root.rglob("*")
        if path.is_file() and slot_locks not in path.parents
    ]


def takeover_times(kill: Kill) -> tuple[str, float | None, float | None]:
    """(stage, kill → taken over, kill → running again). Taken over: the reconciler re-sent the dead
    worker's stage (its lease ran out), or the job ended first; for a poll, Perso polled again (the
    poller's claim ran out). Running again: the stage started on a live worker, after any wait in
    its queue behind other jobs."""
    from apps.jobs.models import ExternalCall, Job, JobEvent

    stage = Job.objects.filter(pk=kill.job_pk).values_list("stage", flat=True).first() or ""
    if kill.moment == "perso_poll":
        later = ExternalCall.objects.filter(job_id=kill.job_pk, at__gt=kill.at).order_by("at").first()
        seconds = (later.at - kill.at).total_seconds() if later else None
        return "poll", seconds, seconds
    after = JobEvent.objects.filter(job_id=kill.job_pk, at__gt=kill.at).order_by("at")
    first = after.first()
    resent = after.filter(kind="redispatch").first() or after.filter(kind__in=["failed", "succeeded"]).first()
    started = after.filter(kind="stage", message__startswith="started").first()
    if first is not None and first.kind == "stage" and first.message.startswith("started"):
        resent = first  # the broker redelivered it before the reconciler acted
    stage = (started or first).stage if (started or first) else stage

    def since_kill(event):
        return (event.at - kill.at).total_seconds() if event else None

    return stage, since_kill(resent), since_kill(started or resent)


def report_table(report: dict) -> str:
    rows = [
        ("seed", report["seed"]),
        ("jobs (by kind)", f"{report['jobs']} ({', '.join(f'{k} {v}' for k, v in report['jobs_by_kind'].items())})"),
        ("kills", report["kills"]),
        *[(f"  kills mid {moment}", count) for moment, count in report["kills_by_moment"].items()],
        ("moments armed but not reached in time", report["moments_missed"] or "none"),
        ("restarts", ", ".join(report["restarts"]) or "none"),
        ("processes that exited by themselves (restarted)", "; ".join(report["unplanned_exits"]) or "none"),
        ("completed", report["completed"]),
        ("failed (kind:reason)", ", ".join(f"{k} {v}" for k, v in report["failed"].items()) or "none"),
        ("stage retries / client resubmits", f"{report['stage_retries']} / {report['submit_retries']}"),
        (
            "kill → taken over (re-sent) median / worst",
            f"{report['takeover_median_sec']} s / {report['takeover_worst_sec']} s",
        ),
        (
            "kill → running again (incl. queue wait) median / worst",
            f"{report['running_again_median_sec']} s / {report['running_again_worst_sec']} s",
        ),
        ("wall time", f"{report['wall_sec']} s"),
        ("invariant violations", len(report["violations"])),
    ]
    lines = ["| | |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows]]
    return "\n".join(lines + [f"- {violation}" for violation in report["violations"][:50]])


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--kills", type=int, default=None, help="default: a quarter of the jobs, at least 7")
    parser.add_argument("--moments", default=",".join(MOMENTS), help="the moments to kill at (comma-separated)")
    parser.add_argument("--no-restarts", action="store_true")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for every job to end after the chaos")
    parser.add_argument("--report", type=Path, default=None, help="write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, media)")
    args = parser.parse_args(argv)
    kills = args.kills if args.kills is not None else max(len(MOMENTS), args.jobs // 4)
    workdir = Path(tempfile.mkdtemp(prefix=f"vibi-chaos-{args.seed}-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - the postgres user must reach its data folder inside
    run = ChaosRun(
        seed=args.seed,
        jobs=args.jobs,
        kills=kills,
        restarts=not args.no_restarts,
        moments=tuple(moment for moment in args.moments.split(",") if moment),
        workdir=workdir,
        deadline_sec=args.deadline,
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that `finally` stops every process started here
    try:
        report = run.run()
    finally:
        run.stop.set()
        run.stop_platform()
    table = report_table(report)
    print(table)
    print(f"logs: {run.logs}" if args.keep else "")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if not report["violations"] else 1
