"""Which Celery task runs each stage of each job kind: the one table of the platform's pipelines.

Names only (strings), so services can enqueue a stage without importing the worker modules;
the queue follows the task's module (see workers/config.py).
"""

STAGE_TASKS: dict[tuple[str, str], str] = {
    # (job kind, stage) -> task name
}


def stage_task_name(*, kind: str, stage: str) -> str:
    try:
        return STAGE_TASKS[(kind, stage)]
    except KeyError as exc:
        raise LookupError(f"No task runs stage {stage!r} of {kind!r} jobs") from exc
