"""Housekeeping worker (queue `default`): the reconciler and the retention sweeps.

Start: celery -A vibi worker -Q default -n default@%h --concurrency 1
"""

import logging

from celery import shared_task
from django.conf import settings

from apps.core.storage import storage_delete_stale
from apps.jobs.ops import ops_records_delete_old
from apps.jobs.services import jobs_expired_delete, jobs_reconcile
from apps.perso.project_cleanup import perso_abandoned_projects_delete
from apps.render.services import render_inputs_expired_delete

logger = logging.getLogger("workers")


@shared_task(name="workers.housekeeping.reconcile_jobs_task", ignore_result=True)
def reconcile_jobs_task() -> int:
    count = jobs_reconcile()
    if count:
        logger.warning("reconciler re-sent %d lost job stage(s)", count)
    _delete_abandoned_perso_projects()
    return count


def _delete_abandoned_perso_projects() -> None:
    """Perso projects of cancelled (or abandoned) jobs not deleted yet: a failed delete is retried here."""
    try:
        deleted = perso_abandoned_projects_delete()
    except Exception:  # the reconciler's own work must go on; the sweep runs again next time
        logger.exception("deleting abandoned Perso projects failed")
        return
    if deleted:
        logger.info("deleted the Perso projects of %d ended job(s)", deleted)


@shared_task(name="workers.housekeeping.delete_expired_jobs_task", ignore_result=True)
def delete_expired_jobs_task() -> int:
    stale_uploads = storage_delete_stale(prefix="uploads/", older_than_sec=settings.UPLOAD_STAGING_TTL_SEC)
    return jobs_expired_delete() + stale_uploads + render_inputs_expired_delete()


@shared_task(name="workers.housekeeping.delete_old_ops_records_task", ignore_result=True)
def delete_old_ops_records_task() -> dict:
    deleted = ops_records_delete_old()
    logger.info("retention: deleted %s", deleted)
    return deleted
