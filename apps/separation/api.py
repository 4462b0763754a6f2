"""HTTP API of audio separation and stem mixing (`/api/v2/separate...`)."""

import math
from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.downloads import stored_file_response
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, NotFound
from apps.core.json_input import StrictJSONParser
from apps.core.schema import ERROR_RESPONSES, ErrorSerializer
from apps.jobs.endpoints import JobStatusApi, JobSubmitApi, SignedJobDownloadApi, job_file_response
from apps.jobs.models import JobKind, JobStatus
from apps.jobs.public_status import COMPLETED, COMPLETED_STATUSES, completed_status, ready_status
from apps.jobs.selectors import owned_job_get
from apps.jobs.serializers import JobIdSerializer, ReadyJobStatusSerializer
from apps.jobs.submits import IDEMPOTENCY_HEADER, idempotency_header
from apps.media.sources import language_code_check
from apps.media.stems import separation_stem_get, separation_stems
from apps.media.uploads import json_form_item_parse, uploaded_file_path
from apps.perso.languages import perso_languages_check
from apps.separation.selectors import (
    MIX_RESOURCE_ID,
    RESULT_MIX_OUTPUT_KEY,
    live_mix_of,
    signed_mix_download_url,
    signed_stem_url,
)
from apps.separation.submits import (
    SeparationSpec,
    StemVolume,
    separation_submit,
    stem_mix_submit,
)

STEM_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".m4a": "audio/mp4",
}

_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: the same key from the same user within 24 h returns the same job.",
)


def _optional_int(payload: dict, name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise BadRequest(ErrorCode.INVALID_SPEC, f"{name} must be an integer or null (got {value!r})")
    return int(value)


def separation_spec_parse(raw) -> SeparationSpec:
    """The multipart `spec` JSON: every optional key may be an explicit null; unknown keys are ignored."""
    payload = json_form_item_parse(raw)
    media_type = payload.get("mediaType")
    if not isinstance(media_type, str) or media_type.strip().upper() not in ("VIDEO", "AUDIO"):
        raise BadRequest(ErrorCode.INVALID_MEDIA_TYPE, f"mediaType must be VIDEO or AUDIO (got {media_type!r})")
    speakers = payload.get("numberOfSpeakers")
    if speakers is not None:
        valid = not isinstance(speakers, bool) and isinstance(speakers, int | float) and math.isfinite(speakers)
        if not valid or speakers != int(speakers) or not 1 <= speakers <= 10:
            raise BadRequest(
                ErrorCode.INVALID_NUMBER_OF_SPEAKERS, f"numberOfSpeakers must be in 1..10 (got {speakers!r})"
            )
        speakers = int(speakers)
    language = payload.get("sourceLanguageCode")
    if language is not None and not isinstance(language, str):
        raise BadRequest(ErrorCode.INVALID_SPEC, f"sourceLanguageCode must be a string or null (got {language!r})")
    language = language_code_check((language or "").strip() or "auto", field="sourceLanguageCode", allow_auto=True)
    perso_languages_check(source=language)
    render_job_id = payload.get("editedRenderJobId")
    if render_job_id is not None and not isinstance(render_job_id, str):
        raise BadRequest(ErrorCode.INVALID_SPEC, f"editedRenderJobId must be a string or null (got {render_job_id!r})")
    return SeparationSpec(
        media_type=media_type.strip().upper(),
        number_of_speakers=speakers,
        source_language_code=language,
        trim_start_ms=_optional_int(payload, "trimStartMs"),
        trim_end_ms=_optional_int(payload, "trimEndMs"),
        edited_render_job_id=(render_job_id or "").strip() or None,
    )


class SeparationSpecSerializer(serializers.Serializer):
    """The JSON `spec` form item (the phone sends every key, nulls explicit); unknown keys ignored."""

    mediaType = serializers.ChoiceField(choices=["VIDEO", "AUDIO"])
    numberOfSpeakers = serializers.IntegerField(
        min_value=1, max_value=10, required=False, allow_null=True, help_text="A hint; Perso detects when null"
    )
    sourceLanguageCode = serializers.CharField(required=False, allow_null=True, help_text="Default 'auto'")
    trimStartMs = serializers.IntegerField(required=False, allow_null=True, help_text="Both trim bounds or neither")
    trimEndMs = serializers.IntegerField(required=False, allow_null=True)
    editedRenderJobId = serializers.CharField(
        required=False, allow_null=True, help_text="A completed render of the caller; wins over `file`"
    )


class SeparationSubmitApi(JobSubmitApi):
    class OutputSerializer(JobIdSerializer):
        pass

    @JobSubmitApi.submit_schema(
        operation_id="separation_submit",
        idempotency_parameter=_IDEMPOTENCY_PARAMETER,
        form=inline_serializer(
            name="SeparationSubmitForm",
            fields={
                "file": serializers.FileField(
                    required=False, help_text="Optional source (mp4/mov/webm video or mp3/wav/m4a audio)"
                ),
                "spec": SeparationSpecSerializer(help_text="JSON form item, sent after the file part"),
            },
        ),
        responses={
            202: OutputSerializer,
            500: OpenApiResponse(ErrorSerializer, description="ffmpeg_error: the media could not be probed"),
        },
        description=(
            "Starts an audio separation of an uploaded file or of a finished render (editedRenderJobId wins). "
            "Trim errors (400): partial_trim_range, trim_start_negative, trim_range_invalid, "
            "trim_range_too_short (< 500 ms), trim_end_exceeds_duration (> 100 ms past the measured duration; "
            "within 100 ms the end is clamped). The same user, source and spec while a job is pending or ready "
            "returns the same jobId."
        ),
    )
    def post(self, request):
        upload = request.FILES.get("file") or next(
            (item for name, item in request.FILES.items() if name != "spec"), None
        )
        spec = separation_spec_parse(request.data.get("spec") or request.FILES.get("spec"))
        header_key = idempotency_header(request)
        if upload is not None and not spec.edited_render_job_id:
            with uploaded_file_path(upload) as upload_path:
                job, _ = separation_submit(
                    owner=request.user, spec=spec, upload_path=upload_path, idempotency_header=header_key
                )
        else:
            job, _ = separation_submit(owner=request.user, spec=spec, upload_path=None, idempotency_header=header_key)
        return self.accepted(job)


class StemSerializer(serializers.Serializer):
    stemId = serializers.CharField()
    label = serializers.CharField()
    url = serializers.CharField(help_text="Path-only signed URL of this service, valid up to 7 days")
    durationMs = serializers.IntegerField(allow_null=True)


class SeparationStatusApi(JobStatusApi):
    class OutputSerializer(ReadyJobStatusSerializer):
        stems = StemSerializer(many=True)
        mixJobId = serializers.CharField(allow_null=True)

    @JobStatusApi.status_schema(
        operation_id="separation_status",
        serializer=OutputSerializer,
        description=(
            "READY always carries a non-empty stems list. On FAILED the readable reason is in progressReason "
            "(and error). mixJobId is set once a mix holds or consumed the stems (then stems is empty)."
        ),
    )
    def get(self, request, job_id: str):
        job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.SEPARATION)
        stems = separation_stems(job=job)
        mix = live_mix_of(separation_job=job) if job.status == JobStatus.SUCCEEDED else None
        # Never a READY without stems (the phone would poll forever); a consumed job keeps READY + mixJobId.
        lost_reason = "Separation produced no stems" if not stems and mix is None else None
        return Response(
            {
                **self.status_body(job, status=ready_status(job), failure="Separation failed", lost_reason=lost_reason),
                "stems": [
                    {
                        "stemId": stem.stem_id,
                        "label": stem.label,
                        "url": signed_stem_url(job=job, stem_id=stem.stem_id),
                        "durationMs": stem.duration_ms,
                    }
                    for stem in stems
                ],
                "mixJobId": mix.public_id if mix else None,
            }
        )


class StemDownloadApi(SignedJobDownloadApi):
    job_kind = JobKind.SEPARATION

    @SignedJobDownloadApi.download_schema(
        operation_id="separation_stem_download",
        content_type="audio/*",
        file_description="The stem audio",
        description="Signed stem stream; no Bearer needed. With a valid Bearer of another user → 404.",
    )
    def get(self, request, job_id: str, stem_id: str):
        job = self.signed_job(request, job_id=job_id, resource_id=stem_id)
        stem = separation_stem_get(job=job, stem_id=stem_id)
        if stem is None:
            raise NotFound(ErrorCode.NOT_FOUND, f"Stem not found: {stem_id}")
        extension = Path(stem.storage_key).suffix.lower()
        return stored_file_response(
            request,
            storage_key=stem.storage_key,
            content_type=STEM_CONTENT_TYPES.get(extension, "audio/wav"),
            filename=f"{stem_id}{extension}",
        )


class StemMixSubmitApi(JobSubmitApi):
    parser_classes = [StrictJSONParser]

    class InputSerializer(serializers.Serializer):
        class StemVolumeSerializer(serializers.Serializer):
            stemId = serializers.CharField()
            volume = serializers.FloatField(required=False, allow_null=True, default=1.0, min_value=0, max_value=2)

        stems = StemVolumeSerializer(many=True, allow_empty=False)

    class OutputSerializer(serializers.Serializer):
        mixJobId = serializers.CharField()

    @extend_schema(
        operation_id="separation_mix_submit",
        parameters=[_IDEMPOTENCY_PARAMETER],
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            **ERROR_RESPONSES,
            409: OpenApiResponse(
                ErrorSerializer,
                description="separation_already_mixed: a mix of this separation is running or succeeded (its stems "
                "are consumed); separation_not_ready: no stems yet",
            ),
        },
        description=(
            "Mixes chosen stems (volume 0..2 each, at least one) to mp3 on a render worker. A successful mix "
            "disposes of the separation's stems; a failed mix releases them."
        ),
    )
    def post(self, request, job_id: str):
        # Ownership first, before the body is read.
        separation_job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.SEPARATION)
        stems = _stem_volumes_parse(request.data)
        mix_job, _ = stem_mix_submit(
            separation_job=separation_job, stems=stems, idempotency_header=idempotency_header(request)
        )
        return self.accepted(mix_job, id_field="mixJobId")


def _stem_volumes_parse(payload) -> list[StemVolume]:
    entries = payload.get("stems") if isinstance(payload, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BadRequest(ErrorCode.NO_STEMS, "stems must be a non-empty list of {stemId, volume}")
    stems = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("stemId"), str):
            raise BadRequest(ErrorCode.INVALID_STEMS, "each stem needs a string stemId")
        volume = entry.get("volume", 1.0)
        volume = 1.0 if volume is None else volume
        if isinstance(volume, bool) or not isinstance(volume, int | float) or not math.isfinite(volume):
            raise BadRequest(ErrorCode.INVALID_VOLUME, f"volume of {entry['stemId']} must be a finite number")
        stems.append(StemVolume(stem_id=entry["stemId"], volume=float(volume)))
    return stems


class MixStatusApi(JobStatusApi):
    class OutputSerializer(serializers.Serializer):
        mixJobId = serializers.CharField()
        status = serializers.ChoiceField(choices=COMPLETED_STATUSES)
        progress = serializers.IntegerField()
        error = serializers.CharField(allow_null=True)
        downloadUrl = serializers.CharField(allow_null=True, help_text="Signed mp3 URL, when COMPLETED")

    @extend_schema(operation_id="separation_mix_status", responses={200: OutputSerializer, **ERROR_RESPONSES})
    def get(self, request, mix_job_id: str):
        job = owned_job_get(owner=request.user, public_id=mix_job_id, kind=JobKind.MIX)
        body = self.status_body(job, status=completed_status(job), failure="Mix failed")
        return Response(
            {
                "mixJobId": job.public_id,
                "status": body["status"],
                "progress": body["progress"],
                "error": body["error"],
                "downloadUrl": signed_mix_download_url(mix_job=job) if body["status"] == COMPLETED else None,
            }
        )


class MixDownloadApi(SignedJobDownloadApi):
    job_kind = JobKind.MIX

    @SignedJobDownloadApi.download_schema(
        operation_id="separation_mix_download", content_type="audio/mpeg", file_description="The mix as mp3"
    )
    def get(self, request, mix_job_id: str):
        job = self.signed_job(request, job_id=mix_job_id, resource_id=MIX_RESOURCE_ID)
        return job_file_response(
            request,
            storage_key=job.result.get(RESULT_MIX_OUTPUT_KEY) if job.status == JobStatus.SUCCEEDED else None,
            missing=f"Mix not ready: status={completed_status(job)}",
            content_type="audio/mpeg",
            filename=f"{job.public_id}.mp3",
        )
