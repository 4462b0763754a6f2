"""Auto subtitles: submits and the pipeline stages.

Pipeline of a subtitles job (stages in apps/jobs/stages.py):
  upload    (upload worker)  the source's audio as mp3 → Perso media
  submit    (perso worker)   the Perso STT project → WAITING, polled by beat
  script    (perso worker)   all STT script pages → original.srt (timing from Perso, never from Gemini)
  translate (gemini worker)  one SRT per target language; a target equal to the source is a copy
A regenerate job starts at `translate` with the user's edited SRT as its original.
Every stage can run again and gives the same result (admin retry).
"""

import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure, PayloadTooLarge
from apps.core.storage import job_file_key, safe_file_name, storage_save_stream
from apps.gemini.client import GeminiError, translate_srt
from apps.jobs.models import Job, JobKind
from apps.jobs.services import job_advance, job_heartbeat, job_set_result, job_succeed, job_update_upstream
from apps.jobs.submits import SubmitIdentity, SubmitRequest, job_submit
from apps.media.sources import AUTO_LANGUAGE, audio_to_mp3, same_language, source_local_path, work_dir
from apps.media.srt import Cue, srt_bytes_clean, srt_parse_bytes, srt_write
from apps.media.submit_source import source_job_submit
from apps.perso.outputs import perso_stt_sentences
from apps.perso.submits import perso_submit_project
from apps.perso.uploads import perso_upload_media

logger = logging.getLogger(__name__)

STAGE_UPLOAD = "upload"
STAGE_SUBMIT = "submit"
STAGE_SCRIPT = "script"
STAGE_TRANSLATE = "translate"

# Keys of a subtitles job's `result`.
RESULT_ORIGINAL_KEY = "originalSrtKey"
RESULT_SOURCE_LANGUAGE = "sourceLanguage"  # explicit or detected; None when unknown
RESULT_TRANSLATIONS = "translatedSrtKeys"  # {lang: storage key}, every requested target once READY

PROGRESS_SCRIPT = 70
LANGUAGE_SAMPLE_SENTENCES = 8


@dataclass(frozen=True)
class SubtitleSpec:
    media_type: str
    source_language_code: str
    target_language_codes: list[str]
    number_of_speakers: int
    edited_render_job_id: str | None


@dataclass(frozen=True)
class SubtitleRegenerateSpec:
    source_language_code: str
    target_language_codes: list[str]


def _expiry():
    return timezone.now() + timedelta(seconds=settings.RESULT_RETENTION_SEC)


def original_srt_key(public_id: str) -> str:
    return job_file_key(public_id, "original.srt")


def translated_srt_key(public_id: str, language: str) -> str:
    return job_file_key(public_id, f"t_{safe_file_name(language)}.srt")


# --- Submit -------------------------------------------------------------------------------------------


def subtitles_submit(request: SubmitRequest, spec: SubtitleSpec) -> Job:
    return source_job_submit(request, kind=JobKind.SUBTITLES, spec=spec, first_stage=STAGE_UPLOAD)


def subtitles_regenerate_submit(
    *, owner, spec: SubtitleRegenerateSpec, srt_bytes: bytes, idempotency_header: str | None = None
) -> Job:
    """A Gemini-only job translating the user's edited SRT; the uploaded SRT is its original."""
    if len(srt_bytes) > settings.SUBTITLES_SRT_MAX_BYTES:
        raise PayloadTooLarge(
            ErrorCode.FILE_TOO_LARGE, f"SRT files are limited to {settings.SUBTITLES_SRT_MAX_BYTES} bytes"
        )
    cues = srt_parse_bytes(srt_bytes)  # invalid SRT → 400 invalid_srt, before any job exists
    source_language = spec.source_language_code
    if source_language == AUTO_LANGUAGE:
        source_language = language_guess([cue.text for cue in cues]) or AUTO_LANGUAGE
    job_spec = {
        "regenerate": True,
        "sourceLanguageCode": spec.source_language_code,
        "targetLanguageCodes": spec.target_language_codes,
    }
    identity = SubmitIdentity.of_request(
        kind=JobKind.SUBTITLES,
        header=idempotency_header,
        source="sha256:" + hashlib.sha256(srt_bytes).hexdigest(),
        spec=job_spec,
    )

    def attach_original(job: Job) -> None:
        # The user's file as written, control characters removed (the parse above proved it UTF-8).
        key = storage_save_stream(key=original_srt_key(job.public_id), stream=BytesIO(srt_bytes_clean(srt_bytes)))
        job.result = {
            RESULT_ORIGINAL_KEY: key,
            RESULT_SOURCE_LANGUAGE: None if source_language == AUTO_LANGUAGE else source_language,
        }
        job.save(update_fields=["result"])

    return job_submit(
        owner=owner,
        identity=identity,
        spec=job_spec,
        first_stage=STAGE_TRANSLATE,
        expires_at=_expiry(),
        attach=attach_original,
    )


# --- Stage: upload (upload worker) ---------------------------------------------------------------------


def subtitles_upload(*, job: Job) -> None:
    """The source's first audio track as mp3 (video sources included: STT needs only the sound)."""
    job_heartbeat(job=job, progress=2, progress_reason="Extracting audio")
    with work_dir() as folder, source_local_path(job) as source_path:
        audio_path = audio_to_mp3(
            source=source_path,
            target=folder / f"subtitle-{job.public_id}.mp3",
            duration_ms=job.spec["source"].get("durationMs") or None,
        )
        job_heartbeat(job=job, progress=5, progress_reason="Uploading")
        media_seq = perso_upload_media(local_path=audio_path, file_name=audio_path.name, media_type="audio")
    job_update_upstream(job=job, upstream={"persoMediaSeq": media_seq})
    job_advance(job=job, stage=STAGE_SUBMIT, progress=8, progress_reason="Submitting")


# --- Stage: submit (perso worker) ----------------------------------------------------------------------


def subtitles_submit_stt(*, job: Job) -> None:
    source_language = job.spec.get("sourceLanguageCode") or AUTO_LANGUAGE
    perso_submit_project(
        job=job,
        kind="stt",
        media_seq=int(job.upstream["persoMediaSeq"]),
        on_complete_stage=STAGE_SCRIPT,
        progress_span=(10, PROGRESS_SCRIPT - 5),
        is_video=False,
        title=f"subtitle-{job.public_id}",
        source_language=source_language,
        number_of_speakers=int(job.spec.get("numberOfSpeakers") or 1),
    )


# --- Stage: script (perso worker) ----------------------------------------------------------------------


def cues_from_sentences(sentences) -> list[Cue]:
    """Cue n = the n-th sentence by offset: start = offset, end = offset + duration (at least 1 ms)."""
    return [
        Cue(
            index=number,
            start_ms=int(sentence.offset_ms),
            end_ms=int(sentence.offset_ms) + max(int(sentence.duration_ms), 1),
            text=sentence.text,
        )
        for number, sentence in enumerate(sentences, start=1)
    ]


def language_guess(texts: list[str]) -> str | None:
    """A coarse script-based guess of the source language (Hangul → ko, kana → ja, CJK → zh,
    Latin → en), used only to decide which targets are copies of the original."""
    counts = {"ko": 0, "ja": 0, "zh": 0, "en": 0}
    for text in texts[:LANGUAGE_SAMPLE_SENTENCES]:
        for char in text:
            if not char.isalpha():
                continue
            name = unicodedata.name(char, "")
            if name.startswith("HANGUL"):
                counts["ko"] += 1
            elif name.startswith(("HIRAGANA", "KATAKANA")):
                counts["ja"] += 1
            elif name.startswith("CJK UNIFIED"):
                counts["zh"] += 1
            elif name.startswith("LATIN"):
                counts["en"] += 1
    if counts["ja"]:
        return "ja"  # Japanese mixes kanji and kana; kana alone decides
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count else None


def subtitles_build_original(*, job: Job) -> None:
    """Fetches the whole STT script and stores it as the original SRT."""
    job_heartbeat(job=job, progress=PROGRESS_SCRIPT - 4, progress_reason="Fetching script")
    sentences = perso_stt_sentences(project_seq=int(job.upstream["persoProjectSeq"]))
    if not sentences:
        raise JobFailure(ErrorCode.NO_SPEECH, "No speech was recognised in the media")
    cues = cues_from_sentences(sentences)
    key = storage_save_stream(key=original_srt_key(job.public_id), stream=BytesIO(srt_write(cues).encode("utf-8")))
    source_language = job.spec.get("sourceLanguageCode") or AUTO_LANGUAGE
    if source_language == AUTO_LANGUAGE:
        source_language = language_guess([cue.text for cue in cues])
    job_set_result(job=job, result_updates={RESULT_ORIGINAL_KEY: key, RESULT_SOURCE_LANGUAGE: source_language})
    if _targets_to_translate(job):
        job_advance(job=job, stage=STAGE_TRANSLATE, progress=PROGRESS_SCRIPT, progress_reason="Translating")
    else:
        _finish(job=job, translated={})


# --- Stage: translate (gemini worker) ------------------------------------------------------------------


def _targets_to_translate(job: Job) -> list[str]:
    source_language = job.result.get(RESULT_SOURCE_LANGUAGE)
    return [lang for lang in job.spec.get("targetLanguageCodes") or [] if not same_language(lang, source_language)]


def subtitles_translate(*, job: Job) -> None:
    """Translates the original SRT with Gemini into every target that is not the source language."""
    with default_storage.open(job.result[RESULT_ORIGINAL_KEY], "rb") as handle:
        cues = srt_parse_bytes(handle.read())
    targets = _targets_to_translate(job)
    translated: dict[str, list[Cue]] = {}
    if targets:
        start = job.progress
        job_heartbeat(job=job, progress=start, progress_reason="Translating")

        def heartbeat(done: int, total: int) -> None:
            if done:
                chaos_point("translation")
            job_heartbeat(job=job, progress=start + (99 - start) * done // max(total, 1))

        try:
            translated = translate_srt(
                cues=cues,
                source_language=job.result.get(RESULT_SOURCE_LANGUAGE) or AUTO_LANGUAGE,
                target_languages=targets,
                on_progress=heartbeat,
            )
        except GeminiError as exc:
            logger.warning("subtitles %s: translation failed: %s", job.public_id, exc)
            raise JobFailure(exc.code, f"Translation failed: {exc}") from exc
    _finish(job=job, translated=translated)


def _finish(*, job: Job, translated: dict[str, list[Cue]]) -> None:
    """Stores one SRT per requested target (a copy of the original where no translation was needed)."""
    original_key = job.result[RESULT_ORIGINAL_KEY]
    translation_keys: dict[str, str] = {}
    original_bytes = None
    for lang in job.spec.get("targetLanguageCodes") or []:
        if lang in translated:
            content = srt_write(translated[lang]).encode("utf-8")
        else:
            if original_bytes is None:
                with default_storage.open(original_key, "rb") as handle:
                    original_bytes = handle.read()
            content = original_bytes
        translation_keys[lang] = storage_save_stream(
            key=translated_srt_key(job.public_id, lang), stream=BytesIO(content)
        )
    job_succeed(job=job, result_updates={RESULT_TRANSLATIONS: translation_keys})
