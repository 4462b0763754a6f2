"""Reading a finished Perso project: the STT and translation scripts, and its files downloaded once
Perso's storage has them."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure, TransientFailure
from apps.perso.client import PersoClient, perso_client
from apps.perso.errors import PersoNotFound, perso_errors_as_stage_outcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SttSentence:
    offset_ms: int
    duration_ms: int
    text: str
    speaker: int


def perso_stt_sentences(*, project_seq: int, client: PersoClient | None = None) -> list[SttSentence]:
    """The STT script of a completed STT project (all cursor pages), sorted by offset."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        script = client.stt_script_all(project_seq)
    sentences = [
        SttSentence(
            offset_ms=sentence.offset_ms,
            duration_ms=sentence.duration_ms,
            text=sentence.original_text.strip(),
            speaker=sentence.speaker_order_index,
        )
        for sentence in script.sentences
        if sentence.original_text.strip()
    ]
    return sorted(sentences, key=lambda sentence: (sentence.offset_ms, sentence.duration_ms))


def perso_translation_script(*, project_seq: int, client: PersoClient | None = None):
    """The translation script (original and translated text per sentence) of a translate project."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        return client.script_all(project_seq)


def perso_wait_storage_ready(*, project_seq: int, flag: str, client: PersoClient | None = None) -> None:
    """Files land in storage a little after "Completed": checks download-info a few times (seconds
    apart); still not ready → TransientFailure, so the stage runs again later instead of waiting."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        for check in range(settings.PERSO_STORAGE_READY_CHECKS):
            if client.download_info(project_seq).has(flag):
                return
            if check + 1 < settings.PERSO_STORAGE_READY_CHECKS:
                time.sleep(settings.PERSO_STORAGE_READY_WAIT_SEC)
    raise TransientFailure(
        ErrorCode.PERSO_STORAGE_NOT_READY, f"Perso files are not ready yet ({flag})", retry_after_sec=15
    )


# Which download-info flag says a target is in storage.
TARGET_READY_FLAGS = {
    "video": "hasTranslatedVideo",
    "dubbingVideo": "hasTranslatedVideo",
    "lipSyncVideo": "hasLipSyncVideo",
    "originalSubtitle": "hasOriginalSubtitle",
    "translatedSubtitle": "hasTranslatedSubtitle",
    "originalVoiceAudio": "hasOriginalVoiceOnly",
    "voiceAudio": "hasTranslatedVoice",
    "translatedVoice": "hasTranslatedVoice",
    "backgroundAudio": "hasOriginalBackground",
    "voicewithBackgroundAudio": "hasTranslatedVoiceWithBackground",
    "translatedAudio": "hasTranslateAudio",
    "originalVoiceSpeakers": "hasOriginalSpeakerAudioCollection",
}
SEPARATION_TARGETS = {"originalVoiceSpeakers"}


def perso_download_target(
    *,
    project_seq: int,
    target: str,
    dest: Path,
    separation: bool | None = None,
    wait_ready: bool = True,
    client: PersoClient | None = None,
) -> Path:
    """Downloads one `/download?target=` file of a finished project to `dest`.

    Waits for storage readiness (download-info flag) first. Each attempt asks `/download` again for a
    FRESH link, because the storage CDN caches a 404 per path for hours: a retry of the same path
    keeps failing, a fresh path does not. `separation` picks the answer model (default: by target)."""
    client = client or perso_client()
    separation = target in SEPARATION_TARGETS if separation is None else separation
    if wait_ready and target in TARGET_READY_FLAGS:
        perso_wait_storage_ready(project_seq=project_seq, flag=TARGET_READY_FLAGS[target], client=client)
    dest = Path(dest)
    with perso_errors_as_stage_outcome():
        for attempt in range(1, settings.PERSO_FRESH_LINK_ATTEMPTS + 1):
            if separation:
                link = client.separation_download_links(project_seq, target).link_for(target)
            else:
                link = client.download_links(project_seq, target).link_for(target)
            if not link:
                raise JobFailure(ErrorCode.PERSO_OUTPUT_MISSING, f"Perso gave no download link for {target}")
            try:
                client.download_file(link, dest)
                return dest
            except PersoNotFound:
                logger.info("Perso link for %s not found (attempt %s); asking for a fresh one", target, attempt)
    raise TransientFailure(
        ErrorCode.PERSO_DOWNLOAD_NOT_FOUND, f"Perso file {target} was not found in storage", retry_after_sec=30
    )


def perso_download_path(*, path: str, dest: Path, client: PersoClient | None = None) -> Path:
    """Downloads a file named by a path Perso returned (e.g. project info's originalBackgroundPath)."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        client.download_file(path, Path(dest))
    return Path(dest)


def perso_download_background(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """The background-only track: the documented `/download?target=backgroundAudio`
    (`audioFile.backgroundAudioDownloadLink`, ready when download-info says `hasOriginalBackground`).

    Optimisation only: when the project info carries the undocumented
    `downloadPathInfo.originalBackgroundPath`, that file is fetched first (no /download round trip);
    when it is absent or its download fails, the documented target is used."""
    client = client or perso_client()
    try:
        with perso_errors_as_stage_outcome():
            background_path = client.project(project_seq).download_path_info.original_background_path
    except (JobFailure, TransientFailure) as exc:
        logger.info("project info unavailable (%s); using the documented backgroundAudio target", exc)
        background_path = None
    if background_path:
        try:
            return perso_download_path(path=background_path, dest=dest, client=client)
        except (JobFailure, TransientFailure) as exc:
            logger.warning("originalBackgroundPath failed (%s); using the documented backgroundAudio target", exc)
    return perso_download_target(
        project_seq=project_seq, target="backgroundAudio", dest=dest, separation=True, client=client
    )


def perso_download_speaker_archive(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """The per-speaker archive (target originalVoiceSpeakers of a separation project)."""
    return perso_download_target(
        project_seq=project_seq, target="originalVoiceSpeakers", dest=dest, separation=True, client=client
    )


def perso_download_original_voice(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """All voices without background (target originalVoiceAudio)."""
    return perso_download_target(
        project_seq=project_seq, target="originalVoiceAudio", dest=dest, separation=True, client=client
    )
