"""A submitted job's progress as Perso reports it: the combined answer of its projects, scaled into
the job's own progress span."""

from apps.perso.client import PersoClient, PersoProgress, perso_client


def perso_progress_to_job_progress(*, perso_progress: int, progress_span: tuple[int, int] | list[int]) -> int:
    low, high = int(progress_span[0]), int(progress_span[1])
    return int(low + (high - low) * max(0, min(100, perso_progress)) / 100)


def perso_projects_progress(*, project_seqs: list[int], client: PersoClient | None = None) -> PersoProgress:
    """The combined progress of a job's projects (one per target language): the least advanced one;
    failed as soon as one failed, completed when all completed."""
    client = client or perso_client()
    answers = [client.progress(seq) for seq in project_seqs]
    failed = next((answer for answer in answers if answer.is_failed), None)
    if failed:
        return failed
    return min(answers, key=lambda answer: (answer.is_completed, answer.progress))
