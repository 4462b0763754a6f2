"""Driving renders in tests: submit through the HTTP API, run the stage task as a render host would."""

import json
from contextlib import ExitStack
from pathlib import Path

from apps.jobs.models import Job


def submit(
    client,
    *,
    files: dict[str, Path | list[Path]],
    config: dict | None,
    input_id: str | None = None,
    url="/api/v2/render",
):
    """POSTs multipart the way the phone does: inputId first, file parts, then `config` last."""
    with ExitStack() as stack:
        data: dict = {}
        if input_id:
            data["inputId"] = input_id
        for name, value in files.items():
            paths = value if isinstance(value, list) else [value]
            handles = [stack.enter_context(open(path, "rb")) for path in paths]
            data[name] = handles if isinstance(value, list) else handles[0]
        if config is not None:
            data["config"] = json.dumps(config)
        return client.post(url, data, format="multipart")


def run_render(job_id: str) -> Job:
    """Runs the render stage task in this process, exactly as the render worker would."""
    from workers.render import render_task

    job = Job.objects.get(public_id=job_id)
    render_task(job.pk, job.dispatch_seq)
    job.refresh_from_db()
    return job


def download(client, job_id: str, target: Path) -> Path:
    response = client.get(f"/api/v2/render/{job_id}/download")
    assert response.status_code == 200, getattr(response, "data", response)
    target.write_bytes(b"".join(response.streaming_content))
    return target


def ffmpeg_processes_of(job_id: str) -> list[int]:
    """ffmpeg processes working for this job (its id is in their input and output paths)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if job_id.encode() in command and b"ffmpeg" in command.split(b"\0", 1)[0] and state != "Z":
            pids.append(int(entry.name))
    return pids
