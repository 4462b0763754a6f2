"""Render worker (queue `render`), run on render hosts: ffmpeg renders and stem mixes.
Start: `vibi worker render` (pool and size: workers/pools.py).
"""

from apps.render.services import render_run
from apps.separation.mix import stem_mix_run
from workers.base import stage_task

stem_mix_task = stage_task(f"{__name__}.stem_mix_task", stem_mix_run, soft_time_limit=960)

# The ffmpeg run has its own timeout scaled to the output (apps.render.services.render_timeout_sec),
# always below this limit (apps.render.services.STAGE_SOFT_TIME_LIMIT_SEC).
render_task = stage_task(f"{__name__}.render_task", render_run, soft_time_limit=3 * 3600)
