"""Perso worker (queue `perso`): the beat-driven poller and the download of finished projects.

Start: celery -A vibi worker -Q perso -n perso@%h --concurrency 2
"""

from celery import shared_task


@shared_task(name="workers.perso.poll_due_jobs_task", ignore_result=True)
def poll_due_jobs_task() -> int:
    from apps.perso.polling import poll_due_jobs

    return poll_due_jobs()
