"""Perso worker (queue `perso`): the poller (beat's ticks, and a tick at the moment the soonest
poll is due) and the download of finished projects. Start: `vibi worker perso` (workers/pools.py).
"""

from celery import shared_task

from apps.dubbing.services import autodub_download, autodub_submit_translate
from apps.jobs.models import Job
from apps.perso.polling import perso_next_poll_at, poll_due_jobs
from apps.perso.project_cleanup import perso_job_projects_delete
from apps.separation.perso_stages import separation_collect_stems
from apps.subtitles.services import subtitles_build_original, subtitles_submit_stt
from workers.base import poll_tick_send_at, stage_task


@shared_task(name="workers.perso.poll_due_jobs_task", ignore_result=True)
def poll_due_jobs_task() -> int:
    handled = poll_due_jobs()
    poll_tick_send_at(perso_next_poll_at())
    return handled


@shared_task(name="workers.perso.delete_job_projects_task", ignore_result=True)
def delete_job_projects_task(job_pk: int) -> bool:
    """Deletes the Perso projects of a cancelled job (the reconciler retries a failure)."""
    job = Job.objects.filter(pk=job_pk).first()
    return bool(job and job.upstream.get("persoProjectSeqs") and perso_job_projects_delete(job=job))


# --- stages: separation, subtitles, autodub --------------------------------------------------------

separation_stems_task = stage_task(f"{__name__}.separation_stems_task", separation_collect_stems, soft_time_limit=1200)
subtitles_submit_task = stage_task(f"{__name__}.subtitles_submit_task", subtitles_submit_stt, soft_time_limit=300)
subtitles_script_task = stage_task(f"{__name__}.subtitles_script_task", subtitles_build_original, soft_time_limit=600)
autodub_submit_task = stage_task(f"{__name__}.autodub_submit_task", autodub_submit_translate, soft_time_limit=300)
autodub_download_task = stage_task(f"{__name__}.autodub_download_task", autodub_download, soft_time_limit=1800)
