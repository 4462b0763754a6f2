"""HTTP API of audio separation and stem mixing (`/api/v2/separate...`)."""

from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.downloads import stored_file_response
from apps.core.error_codes import ErrorCode
from apps.core.errors import NotFound
from apps.core.json_input import StrictJSONParser
from apps.core.schema import ERROR_RESPONSES, ErrorSerializer
from apps.jobs.endpoints import JobStatusApi, JobSubmitApi, SignedJobDownloadApi, job_file_response
from apps.jobs.models import JobKind, JobStatus
from apps.jobs.public_status import COMPLETED, COMPLETED_STATUSES, completed_status, ready_status
from apps.jobs.selectors import owned_job_get
from apps.jobs.serializers import JobIdSerializer, ReadyJobStatusSerializer
from apps.jobs.submits import IDEMPOTENCY_HEADER, idempotency_header
from apps.media.stems import separation_stem_get, separation_stems
from apps.media.uploads import uploaded_file_path
from apps.separation.selectors import (
    MIX_RESOURCE_ID,
    RESULT_MIX_OUTPUT_KEY,
    live_mix_of,
    signed_mix_download_url,
    signed_stem_url,
)
from apps.separation.serializers import (
    SeparationSpecSerializer,
    StemMixSubmitInputSerializer,
    separation_spec_from_request,
    stem_volumes_from_request,
)
from apps.separation.submits import (
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


class SeparationSubmitApi(JobSubmitApi):
    class OutputSerializer(JobIdSerializer):
        pass

    @JobSubmitApi.submit_schema(
        operation_id="separation_submit",
        idempotency_parameter=_IDEMPOTENCY_PARAMETER,
        form=JobSubmitApi.submit_form(
            "SeparationSubmitForm",
            spec=SeparationSpecSerializer,
            file=serializers.FileField(
                required=False, help_text="Optional source (mp4/mov/webm video or mp3/wav/m4a audio)"
            ),
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
        spec = separation_spec_from_request(request)
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
        separation_job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.SEPARATION)
        stems = stem_volumes_from_request(request)
        mix_job, _ = stem_mix_submit(
            separation_job=separation_job, stems=stems, idempotency_header=idempotency_header(request)
        )
        return self.accepted(mix_job, id_field="mixJobId")


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
