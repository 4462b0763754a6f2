"""The beat-driven poller of jobs waiting on Perso."""

from apps.jobs.services import jobs_due_for_poll_claim


def poll_due_jobs() -> int:
    due_jobs = jobs_due_for_poll_claim()
    return len(due_jobs)
