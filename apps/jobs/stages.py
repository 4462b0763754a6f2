"""Which Celery task runs each stage of each job kind: the one table of the platform's pipelines.

Names only (strings), so services can enqueue a stage without importing the worker modules;
the queue follows the task's module (see workers/config.py).
"""

STAGE_TASKS: dict[tuple[str, str], str] = {
    # (job kind, stage) -> task name
    # separation: cut + Perso submit, then (after the beat poller sees Perso finish) the stems
    ("separation", "prepare"): "workers.upload.separation_prepare_task",
    ("separation", "stems"): "workers.perso.separation_stems_task",
    ("mix", "mix"): "workers.render.stem_mix_task",
    # render: one stage on the render hosts (slot wait, one ffmpeg pass, output to storage)
    ("render", "render"): "workers.render.render_task",
    # subtitles: audio → Perso, STT submit, (poller) script → original SRT, Gemini translations;
    # a regenerate job starts at "translate"
    ("subtitles", "upload"): "workers.upload.subtitles_upload_task",
    ("subtitles", "submit"): "workers.perso.subtitles_submit_task",
    ("subtitles", "script"): "workers.perso.subtitles_script_task",
    ("subtitles", "translate"): "workers.gemini.subtitles_translate_task",
    # autodub: media → Perso, translate submit, (poller) dubbed video/audio downloads
    ("autodub", "upload"): "workers.upload.autodub_upload_task",
    ("autodub", "submit"): "workers.perso.autodub_submit_task",
    ("autodub", "download"): "workers.perso.autodub_download_task",
}


def stage_task_name(*, kind: str, stage: str) -> str:
    try:
        return STAGE_TASKS[(kind, stage)]
    except KeyError as exc:
        raise LookupError(f"No task runs stage {stage!r} of {kind!r} jobs") from exc
