"""Gemini worker (queue `gemini`): subtitle translation.
Start: `vibi worker gemini` (pool and size: workers/pools.py).
"""

from apps.subtitles.services import subtitles_translate
from workers.base import job_stage_task


@job_stage_task(soft_time_limit=1200)
def subtitles_translate_task(job):
    subtitles_translate(job=job)
