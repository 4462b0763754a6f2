"""Deleting the Perso projects of cancelled and abandoned jobs (which frees their slots in the space's
queue): at once for a job that ends, and the reconciler's sweep for what is left."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.jobs.models import Job, JobStatus
from apps.observability.context import current_job_bound
from apps.perso.client import PersoClient, perso_client
from apps.perso.errors import PersoError, PersoNotFound

logger = logging.getLogger(__name__)


def _upstream_merge(*, job_pk: int, changes: dict) -> None:
    """Merges keys into a job's upstream whatever its status (cleanup bookkeeping of ended jobs)."""
    with transaction.atomic():
        row = Job.objects.select_for_update().get(pk=job_pk)
        Job.objects.filter(pk=job_pk).update(upstream={**row.upstream, **changes})


def perso_job_projects_delete(*, job: Job, client: PersoClient | None = None) -> bool:
    """Deletes the Perso project(s) of an ended job (`DELETE …/projects/{projectSeq}/spaces/{spaceSeq}`),
    which stops the work and frees its slot in the space's queue. A project Perso no longer has
    (404 VT4041/VT4045) counts as deleted. True when none is left; otherwise the failure is recorded
    on the job and the reconciler tries again."""
    client = client or perso_client()
    seqs = [int(seq) for seq in job.upstream.get("persoProjectSeqs") or [job.upstream.get("persoProjectSeq")] if seq]
    remaining, last_error = [], ""
    with current_job_bound(job.pk):
        for seq in seqs:
            try:
                client.delete(seq)
            except PersoNotFound:
                pass
            except PersoError as exc:
                remaining.append(seq)
                last_error = str(exc)[:300]
    if remaining:
        attempts = int(job.upstream.get("persoDeleteAttempts", 0)) + 1
        logger.warning(
            "job %s: deleting Perso project(s) %s failed (attempt %d): %s",
            job.public_id,
            remaining,
            attempts,
            last_error,
        )
        _upstream_merge(job_pk=job.pk, changes={"persoDeleteAttempts": attempts, "persoDeleteError": last_error})
        return False
    _upstream_merge(job_pk=job.pk, changes={"persoDeletedAt": timezone.now().isoformat(), "persoDeleteError": ""})
    return True


def perso_abandoned_projects(*, limit: int = 100):
    """Ended jobs whose Perso projects still exist: cancelled ones, and failed ones we gave up on
    while Perso was still working (`persoAbandoned`, e.g. past the deadline)."""
    return (
        Job.objects.filter(upstream__provider="perso", upstream__has_key="persoProjectSeqs")
        .filter(Q(status=JobStatus.CANCELLED) | Q(status=JobStatus.FAILED, upstream__persoAbandoned=True))
        .exclude(upstream__has_key="persoDeletedAt")
        .order_by("updated_at")[:limit]
    )


def perso_abandoned_projects_delete(*, limit: int = 50) -> int:
    """The reconciler's sweep: deletes what cancels left behind (also retries failed deletes). One
    attempt per project and run: the sweep itself is the retry, so an outage never stalls it."""
    client = PersoClient(max_attempts=1)
    deleted = 0
    for job in perso_abandoned_projects(limit=limit):
        deleted += perso_job_projects_delete(job=job, client=client)
    return deleted
