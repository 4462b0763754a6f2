"""Gemini worker (queue `gemini`): subtitle translation.
Start: `vibi worker gemini` (pool and size: workers/pools.py).
"""

from apps.subtitles.services import subtitles_translate
from workers.base import stage_task

subtitles_translate_task = stage_task(f"{__name__}.subtitles_translate_task", subtitles_translate, soft_time_limit=1200)
