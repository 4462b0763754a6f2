"""HTTP API of auto dubbing (`/api/v2/autodub...`)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import download_owner_check
from apps.core.downloads import SignedDownloadApi, stored_file_response
from apps.core.error_codes import ErrorCode
from apps.core.errors import NotFound
from apps.core.schema import (
    ERROR_RESPONSES,
    IDEMPOTENCY_PARAMETER,
    RANGE_PARAMETER,
    TOKEN_ERROR_RESPONSES,
    TOKEN_PARAMETER,
    UPLOAD_ERROR_RESPONSES,
    file_responses,
    multipart_request,
)
from apps.core.signing import verify_token
from apps.core.throttling import ScopedRateThrottle
from apps.dubbing.selectors import (
    AUDIO_RESOURCE_ID,
    VIDEO_RESOURCE_ID,
    autodub_job_get,
    dubbed_storage_key,
    dubbed_urls,
)
from apps.dubbing.serializers import AutoDubSpecSerializer, autodub_spec_from_request
from apps.dubbing.services import autodub_submit
from apps.jobs.models import Job, JobKind
from apps.jobs.public_status import READY_STATUSES, ready_status
from apps.jobs.serializers import JobIdSerializer
from apps.jobs.submits import idempotency_header
from apps.media.uploads import uploaded_file_path


class AutoDubSubmitApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    @extend_schema(
        operation_id="autodub_submit",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=multipart_request(
            inline_serializer(
                name="AutoDubSubmitForm",
                fields={
                    "file": serializers.FileField(required=False, help_text="Optional source video or audio"),
                    "spec": AutoDubSpecSerializer(help_text="JSON form item, sent after the file part"),
                },
            )
        ),
        responses={202: JobIdSerializer, **UPLOAD_ERROR_RESPONSES},
        description=(
            "Dubs an uploaded file or a finished render (editedRenderJobId wins; another user's or an unfinished "
            "render → 400 edited_render_not_ready) with Perso. Errors (400): spec_required, invalid_spec, invalid_media_type, "
            "source_language_required, target_language_required, unsupported_language, same_language, "
            "invalid_tts_model, source_required, not_media, no_audio; 413 file_too_large."
        ),
    )
    def post(self, request):
        upload = request.FILES.get("file")
        spec = autodub_spec_from_request(request)
        if upload is not None and not spec.edited_render_job_id:
            with uploaded_file_path(upload) as path:
                job = autodub_submit(
                    owner=request.user,
                    spec=spec,
                    upload_path=path,
                    upload_name=upload.name,
                    idempotency_header=idempotency_header(request),
                )
        else:
            job = autodub_submit(
                owner=request.user, spec=spec, upload_path=None, idempotency_header=idempotency_header(request)
            )
        return Response({"jobId": job.public_id}, status=202)


class AutoDubStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        jobId = serializers.CharField()
        status = serializers.ChoiceField(choices=READY_STATUSES)
        progress = serializers.IntegerField()
        progressReason = serializers.CharField(allow_null=True)
        error = serializers.CharField(allow_null=True)
        dubbedAudioUrl = serializers.CharField(allow_null=True, help_text="Signed mp3 URL; always set when READY")
        dubbedVideoUrl = serializers.CharField(allow_null=True, help_text="Signed mp4 URL (VIDEO projects)")
        audioExtractFailed = serializers.BooleanField(help_text="Always false (kept for old clients)")

    @extend_schema(
        operation_id="autodub_status",
        responses={200: OutputSerializer, **ERROR_RESPONSES},
        description="READY always carries dubbedAudioUrl.",
    )
    def get(self, request, job_id: str):
        job = autodub_job_get(owner=request.user, public_id=job_id)
        status = ready_status(job)
        audio_url, video_url = dubbed_urls(job=job)
        progress_reason = job.progress_reason or None
        error = (job.error_detail or job.error_code or "Dubbing failed") if status == "FAILED" else None
        if status == "READY" and audio_url is None:
            status, video_url = "FAILED", None
            error = progress_reason = "The dubbed audio is no longer available"
        return Response(
            {
                "jobId": job.public_id,
                "status": status,
                "progress": int(job.progress),
                "progressReason": progress_reason,
                "error": error,
                "dubbedAudioUrl": audio_url,
                "dubbedVideoUrl": video_url,
                "audioExtractFailed": False,
            }
        )


def _dubbed_file_response(request, *, job_id: str, resource_id: str, content_type: str, extension: str):
    verify_token(token=request.query_params.get("token"), job_id=job_id, resource_id=resource_id)
    job = Job.objects.filter(public_id=job_id, kind=JobKind.AUTODUB).first()
    if job is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"AutoDub job not found: {job_id}")
    download_owner_check(request, owner_id=job.owner_id)
    storage_key = dubbed_storage_key(job=job, resource_id=resource_id)
    if not storage_key:
        what = "audio" if resource_id == AUDIO_RESOURCE_ID else "video"
        raise NotFound(ErrorCode.NOT_FOUND, f"Dubbed {what} not ready")
    return stored_file_response(
        request, storage_key=storage_key, content_type=content_type, filename=f"{job.public_id}{extension}"
    )


class AutoDubAudioDownloadApi(SignedDownloadApi):
    @extend_schema(
        operation_id="autodub_audio_download",
        auth=[],
        parameters=[TOKEN_PARAMETER, RANGE_PARAMETER],
        responses={
            **file_responses("audio/mpeg", "Dubbed audio"),
            **TOKEN_ERROR_RESPONSES,
        },
    )
    def get(self, request, job_id: str):
        return _dubbed_file_response(
            request, job_id=job_id, resource_id=AUDIO_RESOURCE_ID, content_type="audio/mpeg", extension=".mp3"
        )


class AutoDubVideoDownloadApi(SignedDownloadApi):
    @extend_schema(
        operation_id="autodub_video_download",
        auth=[],
        parameters=[TOKEN_PARAMETER, RANGE_PARAMETER],
        responses={
            **file_responses("video/mp4", "Dubbed video"),
            **TOKEN_ERROR_RESPONSES,
        },
    )
    def get(self, request, job_id: str):
        return _dubbed_file_response(
            request, job_id=job_id, resource_id=VIDEO_RESOURCE_ID, content_type="video/mp4", extension=".mp4"
        )
