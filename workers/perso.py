"""Perso worker (queue `perso`): the beat-driven poller and the download of finished projects.

Start: celery -A vibi worker -Q perso -n perso@%h --concurrency 2
"""

from celery import shared_task

from apps.dubbing.services import autodub_download, autodub_submit_translate
from apps.jobs.models import Job
from apps.perso.polling import poll_due_jobs
from apps.perso.project_cleanup import perso_job_projects_delete
from apps.separation.perso_stages import separation_collect_stems
from apps.subtitles.services import subtitles_build_original, subtitles_submit_stt
from workers.base import job_stage_task


@shared_task(name="workers.perso.poll_due_jobs_task", ignore_result=True)
def poll_due_jobs_task() -> int:
    return poll_due_jobs()


@shared_task(name="workers.perso.delete_job_projects_task", ignore_result=True)
def delete_job_projects_task(job_pk: int) -> bool:
    """Deletes the Perso projects of a cancelled job (the reconciler retries a failure)."""
    job = Job.objects.filter(pk=job_pk).first()
    return bool(job and job.upstream.get("persoProjectSeqs") and perso_job_projects_delete(job=job))


# --- separation ----------------------------------------------------------------------------------


@job_stage_task(soft_time_limit=1200)
def separation_stems_task(job):
    separation_collect_stems(job=job)


# --- subtitles and autodub ---------------------------------------------------------------------------


@job_stage_task(soft_time_limit=300)
def subtitles_submit_task(job):
    subtitles_submit_stt(job=job)


@job_stage_task(soft_time_limit=600)
def subtitles_script_task(job):
    subtitles_build_original(job=job)


@job_stage_task(soft_time_limit=300)
def autodub_submit_task(job):
    autodub_submit_translate(job=job)


@job_stage_task(soft_time_limit=1800)
def autodub_download_task(job):
    autodub_download(job=job)
