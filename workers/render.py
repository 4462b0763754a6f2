"""Render worker (queue `render`), run on render hosts: ffmpeg renders and stem mixes.

Start: celery -A vibi worker -Q render -n render@%h --concurrency $(nproc) --prefetch-multiplier 1
"""

from apps.render.services import render_run
from apps.separation.mix import stem_mix_run
from workers.base import job_stage_task

# --- stem mix (separation) ------------------------------------------------------------------------


@job_stage_task(soft_time_limit=960)
def stem_mix_task(job):
    stem_mix_run(job=job)


# --- render (apps/render) -------------------------------------------------------------------------
# The ffmpeg run has its own timeout scaled to the output (apps.render.services.render_timeout_sec),
# always below this limit (apps.render.services.STAGE_SOFT_TIME_LIMIT_SEC).


@job_stage_task(soft_time_limit=3 * 3600)
def render_task(job):
    render_run(job=job)
