"""Upload worker (queue `upload`): moves source media to Perso (trim, SAS upload, register, submit).

Start: celery -A vibi worker -Q upload -n upload@%h --concurrency 4
"""

from apps.dubbing.services import autodub_upload
from apps.separation.perso_stages import separation_prepare
from apps.subtitles.services import subtitles_upload
from workers.base import job_stage_task

# --- separation ----------------------------------------------------------------------------------


@job_stage_task(soft_time_limit=1800)
def separation_prepare_task(job):
    separation_prepare(job=job)


# --- subtitles and autodub ---------------------------------------------------------------------------


@job_stage_task(soft_time_limit=1800)
def subtitles_upload_task(job):
    subtitles_upload(job=job)


@job_stage_task(soft_time_limit=1800)
def autodub_upload_task(job):
    autodub_upload(job=job)
