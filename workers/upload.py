"""Upload worker (queue `upload`): moves source media to Perso (trim, SAS upload, register, submit).

Start: celery -A vibi worker -Q upload -n upload@%h --concurrency 4
"""

from workers.base import job_stage_task

# --- separation ----------------------------------------------------------------------------------


@job_stage_task(soft_time_limit=1800)
def separation_prepare_task(job):
    from apps.separation.services import separation_prepare

    separation_prepare(job=job)


# --- subtitles and autodub ---------------------------------------------------------------------------


@job_stage_task(soft_time_limit=1800)
def subtitles_upload_task(job):
    from apps.subtitles.services import subtitles_upload

    subtitles_upload(job=job)


@job_stage_task(soft_time_limit=1800)
def autodub_upload_task(job):
    from apps.dubbing.services import autodub_upload

    autodub_upload(job=job)
