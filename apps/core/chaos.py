"""Chaos hooks: named moments inside a stage where the chaos harness (tests/chaos/) kills the worker.

Off unless `VIBI_CHAOS_DIR` names a folder (settings.CHAOS_DIR); production never sets it. When on,
the harness arms a moment by creating `armed/<moment>`. The first worker to reach an armed moment
claims it (an atomic rename to `reached/<moment>.<pid>.<job>.<time>`), so each arming is hit once,
then holds still until the harness SIGKILLs its process group; if nobody comes within the hold
(seconds, the armed file's content, default 120), the worker writes `released/...` and carries on
as if nothing happened.
"""

import os
import time
from pathlib import Path
from typing import Any, BinaryIO, Self

from django.conf import settings

from apps.observability.context import current_job_id

DEFAULT_HOLD_SEC = 120.0

MOMENTS = (
    "perso_upload",  # the blob PUT to Perso's storage has sent its first chunk
    "perso_submit_accepted",  # Perso accepted a submit; its project id is not stored yet
    "perso_poll",  # the poller has Perso's answer for a job and has not recorded it
    "perso_download",  # the first chunk of a Perso result file is on disk, the rest is not
    "render",  # ffmpeg is rendering (at its first progress check)
    "mix",  # ffmpeg is mixing stems (it reported progress)
    "translation",  # Gemini translated part of the targets
)


def chaos_point(moment: str, *, job_id: int | None = None) -> None:
    folder = settings.CHAOS_DIR
    if not folder:
        return
    root = Path(folder)
    job_id = job_id if job_id is not None else current_job_id.get()
    name = f"{moment}.{os.getpid()}.{job_id or 0}.{time.time():.3f}"
    try:
        os.rename(root / "armed" / moment, root / "reached" / name)
    except OSError:
        return  # not armed, or another worker claimed it first
    try:
        hold_sec = float((root / "reached" / name).read_text().strip() or DEFAULT_HOLD_SEC)
    except (OSError, ValueError):
        hold_sec = DEFAULT_HOLD_SEC
    deadline = time.monotonic() + hold_sec
    while time.monotonic() < deadline:
        time.sleep(0.05)  # waiting to be killed: this is the moment under test
    (root / "released").mkdir(exist_ok=True)
    (root / "released" / name).touch()


class _ChaosReader:
    """A file whose first read reaches `moment`: an upload is under way, part of it sent."""

    def __init__(self, handle: BinaryIO, moment: str, job_id: int | None) -> None:
        self._handle = handle
        self._moment = moment
        self._job_id = job_id
        self._reads = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._reads += 1
        if self._reads == 2:
            chaos_point(self._moment, job_id=self._job_id)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()


def chaos_reader(handle: BinaryIO, moment: str) -> BinaryIO | _ChaosReader:
    """`handle` itself unless chaos is on; then a reader that reaches `moment` after its first chunk."""
    if not settings.CHAOS_DIR:
        return handle
    return _ChaosReader(handle, moment, current_job_id.get())
