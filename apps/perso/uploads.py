"""Uploading a local file to Perso for a stage: the limits checked first, the blob upload, the media
registered."""

import logging
from pathlib import Path

from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure
from apps.media.ffmpeg import FfmpegError, probe
from apps.perso.client import PersoClient, perso_client
from apps.perso.errors import PersoAuthError, perso_errors_as_stage_outcome

logger = logging.getLogger(__name__)

VALIDATABLE_EXTENSIONS = {".mp4", ".webm", ".mov", ".mp3", ".wav"}


def perso_upload_media(
    *, local_path: Path, file_name: str, media_type: str, validate: bool = True, client: PersoClient | None = None
) -> int:
    """SAS token → streamed blob PUT (a 403 means the SAS expired: new SAS, once) → register → mediaSeq.
    With `validate`, the media's limits are checked by Perso before the upload (fail fast)."""
    client = client or perso_client()
    local_path = Path(local_path)
    media_type = "video" if media_type.lower() == "video" else "audio"
    with perso_errors_as_stage_outcome():
        if validate:
            _validate_before_upload(client=client, local_path=local_path, file_name=file_name, media_type=media_type)
        sas = client.sas_token(file_name)
        try:
            client.put_blob(sas.blob_sas_url, local_path)
        except PersoAuthError as exc:
            if exc.status != 403:
                raise
            logger.info("SAS URL expired before the upload finished; asking for a new one")
            sas = client.sas_token(file_name)
            client.put_blob(sas.blob_sas_url, local_path)
        media = client.register_media(media_type=media_type, file_url=sas.blob_url, file_name=file_name)
    return media.seq


def _validate_before_upload(*, client: PersoClient, local_path: Path, file_name: str, media_type: str) -> None:
    extension = Path(file_name).suffix.lower() or local_path.suffix.lower()
    if extension not in VALIDATABLE_EXTENSIONS:
        return
    try:
        info = probe(local_path)
    except FfmpegError as exc:
        raise JobFailure(ErrorCode.INVALID_MEDIA, "The file is not readable audio or video") from exc
    video = info.video if media_type == "video" else None
    client.validate_media(
        media_type=media_type,
        duration_ms=info.duration_ms,
        original_name=file_name,
        extension=extension,
        size=local_path.stat().st_size,
        width=video.width if video else None,
        height=video.height if video else None,
    )
