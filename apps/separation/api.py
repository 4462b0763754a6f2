"""HTTP API of audio separation and stem mixing (`/api/v2/separate...`)."""

from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import download_owner_check
from apps.core.downloads import SignedDownloadApi, stored_file_response
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, NotFound
from apps.core.json_input import StrictJSONParser
from apps.core.schema import (
    ERROR_RESPONSES,
    RANGE_PARAMETER,
    TOKEN_ERROR_RESPONSES,
    TOKEN_PARAMETER,
    UPLOAD_ERROR_RESPONSES,
    ErrorSerializer,
    file_responses,
    multipart_request,
)
from apps.core.signing import verify_token
from apps.core.throttling import ScopedRateThrottle
from apps.jobs.models import JobStatus
from apps.jobs.public_status import COMPLETED_STATUSES, READY_STATUSES, completed_status, ready_status
from apps.media.stems import separation_stem_get, separation_stems
from apps.media.uploads import uploaded_file_path
from apps.separation.selectors import (
    MIX_RESOURCE_ID,
    RESULT_MIX_OUTPUT_KEY,
    live_mix_of,
    mix_job_by_public_id,
    mix_job_get,
    separation_job_by_public_id,
    separation_job_get,
    signed_mix_download_url,
    signed_stem_url,
)
from apps.separation.serializers import (
    SeparationSpecSerializer,
    StemMixSubmitInputSerializer,
    separation_spec_from_request,
    stem_volumes_from_request,
)
from apps.separation.submits import separation_submit, stem_mix_submit

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_HEADER_LENGTH = 255

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


def _idempotency_header(request) -> str | None:
    value = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not value:
        return None
    if len(value) > MAX_IDEMPOTENCY_HEADER_LENGTH:
        raise BadRequest(ErrorCode.INVALID_IDEMPOTENCY_KEY, f"{IDEMPOTENCY_HEADER} is longer than 255 characters")
    return value


class SeparationSubmitApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    class OutputSerializer(serializers.Serializer):
        jobId = serializers.CharField()

    @extend_schema(
        operation_id="separation_submit",
        parameters=[_IDEMPOTENCY_PARAMETER],
        request=multipart_request(
            inline_serializer(
                name="SeparationSubmitForm",
                fields={
                    "file": serializers.FileField(
                        required=False, help_text="Optional source (mp4/mov/webm video or mp3/wav/m4a audio)"
                    ),
                    "spec": SeparationSpecSerializer(help_text="JSON form item, sent after the file part"),
                },
            )
        ),
        responses={
            202: OutputSerializer,
            **UPLOAD_ERROR_RESPONSES,
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
        spec = separation_spec_from_request(request)
        header_key = _idempotency_header(request)
        if upload is not None and not spec.edited_render_job_id:
            with uploaded_file_path(upload) as upload_path:
                job, _ = separation_submit(
                    owner=request.user, spec=spec, upload_path=upload_path, idempotency_header=header_key
                )
        else:
            job, _ = separation_submit(owner=request.user, spec=spec, upload_path=None, idempotency_header=header_key)
        return Response({"jobId": job.public_id}, status=202)


class StemSerializer(serializers.Serializer):
    stemId = serializers.CharField()
    label = serializers.CharField()
    url = serializers.CharField(help_text="Path-only signed URL of this service, valid up to 7 days")
    durationMs = serializers.IntegerField(allow_null=True)


class SeparationStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        jobId = serializers.CharField()
        status = serializers.ChoiceField(choices=READY_STATUSES)
        progress = serializers.IntegerField()
        progressReason = serializers.CharField(allow_null=True)
        error = serializers.CharField(allow_null=True)
        stems = StemSerializer(many=True)
        mixJobId = serializers.CharField(allow_null=True)

    @extend_schema(
        operation_id="separation_status",
        responses={200: OutputSerializer, **ERROR_RESPONSES},
        description=(
            "READY always carries a non-empty stems list. On FAILED the readable reason is in progressReason "
            "(and error). mixJobId is set once a mix holds or consumed the stems (then stems is empty)."
        ),
    )
    def get(self, request, job_id: str):
        job = separation_job_get(owner=request.user, public_id=job_id)
        stems = separation_stems(job=job)
        mix = live_mix_of(separation_job=job) if job.status == JobStatus.SUCCEEDED else None
        status = ready_status(job)
        progress_reason = job.progress_reason or None
        error = (job.error_detail or job.error_code or "Separation failed") if status == "FAILED" else None
        if status == "READY" and not stems and mix is None:
            # Never a READY without stems (the phone would poll forever); a consumed job keeps READY + mixJobId.
            status, error = "FAILED", "Separation produced no stems"
            progress_reason = error
        return Response(
            {
                "jobId": job.public_id,
                "status": status,
                "progress": int(job.progress),
                "progressReason": progress_reason,
                "error": error,
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


class StemDownloadApi(SignedDownloadApi):
    @extend_schema(
        operation_id="separation_stem_download",
        auth=[],
        parameters=[TOKEN_PARAMETER, RANGE_PARAMETER],
        responses={
            **file_responses("audio/*", "The stem audio"),
            **TOKEN_ERROR_RESPONSES,
        },
        description="Signed stem stream; no Bearer needed. With a valid Bearer of another user → 404.",
    )
    def get(self, request, job_id: str, stem_id: str):
        verify_token(token=request.query_params.get("token"), job_id=job_id, resource_id=stem_id)
        job = separation_job_by_public_id(public_id=job_id)
        download_owner_check(request, owner_id=job.owner_id)
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


class StemMixSubmitApi(APIView):
    parser_classes = [StrictJSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    class OutputSerializer(serializers.Serializer):
        mixJobId = serializers.CharField()

    @extend_schema(
        operation_id="separation_mix_submit",
        parameters=[_IDEMPOTENCY_PARAMETER],
        request=StemMixSubmitInputSerializer,
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
        separation_job = separation_job_get(owner=request.user, public_id=job_id)
        stems = stem_volumes_from_request(request)
        mix_job, _ = stem_mix_submit(
            separation_job=separation_job, stems=stems, idempotency_header=_idempotency_header(request)
        )
        return Response({"mixJobId": mix_job.public_id}, status=202)


class MixStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        mixJobId = serializers.CharField()
        status = serializers.ChoiceField(choices=COMPLETED_STATUSES)
        progress = serializers.IntegerField()
        error = serializers.CharField(allow_null=True)
        downloadUrl = serializers.CharField(allow_null=True, help_text="Signed mp3 URL, when COMPLETED")

    @extend_schema(operation_id="separation_mix_status", responses={200: OutputSerializer, **ERROR_RESPONSES})
    def get(self, request, mix_job_id: str):
        job = mix_job_get(owner=request.user, public_id=mix_job_id)
        status = completed_status(job)
        return Response(
            {
                "mixJobId": job.public_id,
                "status": status,
                "progress": int(job.progress),
                "error": (job.error_detail or job.error_code or "Mix failed") if status == "FAILED" else None,
                "downloadUrl": signed_mix_download_url(mix_job=job) if status == "COMPLETED" else None,
            }
        )


class MixDownloadApi(SignedDownloadApi):
    @extend_schema(
        operation_id="separation_mix_download",
        auth=[],
        parameters=[TOKEN_PARAMETER, RANGE_PARAMETER],
        responses={
            **file_responses("audio/mpeg", "The mix as mp3"),
            **TOKEN_ERROR_RESPONSES,
        },
    )
    def get(self, request, mix_job_id: str):
        verify_token(token=request.query_params.get("token"), job_id=mix_job_id, resource_id=MIX_RESOURCE_ID)
        job = mix_job_by_public_id(public_id=mix_job_id)
        download_owner_check(request, owner_id=job.owner_id)
        if job.status != JobStatus.SUCCEEDED or not job.result.get(RESULT_MIX_OUTPUT_KEY):
            raise NotFound(ErrorCode.NOT_FOUND, f"Mix not ready: status={completed_status(job)}")
        return stored_file_response(
            request,
            storage_key=job.result[RESULT_MIX_OUTPUT_KEY],
            content_type="audio/mpeg",
            filename=f"{job.public_id}.mp3",
        )
