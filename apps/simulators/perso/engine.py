"""Simulated Perso projects: progress follows the wall clock through the documented stages, so no
background thread is needed; outputs are produced on first request (see media.py)."""

import time
from dataclasses import dataclass

STAGES = {
    "translate": ["Enqueue Pending", "Uploading", "Transcribing", "Translating", "Generating Voice"],
    "stt": ["Enqueue Pending", "Uploading", "Transcribing"],
    "separation": ["Enqueue Pending", "Uploading", "Transcribing"],
}
LIP_SYNC_STAGES = ["Analyzing Lip Sync", "Applying Lip Sync"]


@dataclass(frozen=True)
class ProjectStatus:
    progress: int
    progress_reason: str
    has_failed: bool
    completed_at: float | None

    @property
    def is_completed(self) -> bool:
        return self.progress_reason == "Completed"

    @property
    def is_active(self) -> bool:
        return self.progress_reason not in ("Completed", "Failed", "Cancelled")


def project_stages(project: dict) -> list[str]:
    stages = list(STAGES[project["kind"]])
    if project.get("withLipSync") and project.get("isVideo"):
        stages += LIP_SYNC_STAGES
    return stages


def project_status(project: dict, *, now: float | None = None) -> ProjectStatus:
    now = time.time() if now is None else now
    if project.get("cancelled"):
        return ProjectStatus(project.get("cancelledProgress", 0), "Failed", True, None)
    stages = project_stages(project)
    step = max(0.01, float(project["stepSec"]))
    total = step * len(stages)
    elapsed = max(0.0, now - project["createdAt"])
    progress = 100 if elapsed >= total else min(99, int(100 * elapsed / total))
    fail_at = project.get("failAtPercent")
    if fail_at is not None and progress >= fail_at:
        if project.get("failMode") == "reasonOnly":
            return ProjectStatus(100, "Failed", False, None)
        return ProjectStatus(int(fail_at), "Failed", True, None)
    if elapsed >= total:
        return ProjectStatus(100, "Completed", False, project["createdAt"] + total)
    return ProjectStatus(progress, stages[min(len(stages) - 1, int(elapsed / step))], False, None)


def projects_in_queue(state: dict, *, now: float | None = None) -> int:
    return sum(
        1
        for project in state["projects"].values()
        if not project.get("deleted") and project_status(project, now=now).is_active
    )
