"""Upload worker (queue `upload`): moves source media to Perso (trim, SAS upload, register, submit).
Start: `vibi worker upload` (pool and size: workers/pools.py).
"""

from apps.dubbing.services import autodub_upload
from apps.separation.perso_stages import separation_prepare
from apps.subtitles.services import subtitles_upload
from workers.base import stage_task

separation_prepare_task = stage_task(f"{__name__}.separation_prepare_task", separation_prepare, soft_time_limit=1800)
subtitles_upload_task = stage_task(f"{__name__}.subtitles_upload_task", subtitles_upload, soft_time_limit=1800)
autodub_upload_task = stage_task(f"{__name__}.autodub_upload_task", autodub_upload, soft_time_limit=1800)
