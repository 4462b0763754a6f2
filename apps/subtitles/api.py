"""HTTP API of auto subtitles (`/api/v2/subtitles...`)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import download_owner_check
from apps.core.downloads import SignedDownloadApi, stored_file_response
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, NotFound, PayloadTooLarge
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
from apps.core.signing import TokenMissing, verify_token
from apps.core.throttling import ScopedRateThrottle
from apps.jobs.models import Job, JobKind
from apps.jobs.public_status import READY_STATUSES, ready_status
from apps.jobs.serializers import JobIdSerializer
from apps.jobs.submits import idempotency_header
from apps.media.uploads import uploaded_file_path
from apps.subtitles.selectors import ORIGINAL, srt_resource_id, srt_storage_key, subtitles_job_get, subtitles_urls
from apps.subtitles.serializers import (
    SubtitleRegenerateSpecSerializer,
    SubtitleSpecSerializer,
    regenerate_spec_from_request,
    subtitle_spec_from_request,
)
from apps.subtitles.services import subtitles_regenerate_submit, subtitles_submit

SRT_CONTENT_TYPE = "application/x-subrip; charset=utf-8"


_SUBMIT_FORM = inline_serializer(
    name="SubtitleSubmitForm",
    fields={
        "file": serializers.FileField(required=False, help_text="Optional source video or audio (probed by bytes)"),
        "spec": SubtitleSpecSerializer(help_text="JSON form item, sent after the file part"),
    },
)


class SubtitleSubmitApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    @extend_schema(
        operation_id="subtitles_submit",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=multipart_request(_SUBMIT_FORM),
        responses={202: JobIdSerializer, **UPLOAD_ERROR_RESPONSES},
        description=(
            "Transcribes (Perso STT) and translates (Gemini) an uploaded file or a finished render "
            "(editedRenderJobId wins over file; another user's or an unfinished render → 400 edited_render_not_ready). Errors (400): "
            "spec_required, invalid_spec, invalid_media_type, source_language_required, unsupported_language, "
            "source_required, not_media, no_audio; 413 file_too_large."
        ),
    )
    def post(self, request):
        upload = request.FILES.get("file")
        spec = subtitle_spec_from_request(request)
        if upload is not None and not spec.edited_render_job_id:
            with uploaded_file_path(upload) as path:
                job = subtitles_submit(
                    owner=request.user,
                    spec=spec,
                    upload_path=path,
                    upload_name=upload.name,
                    idempotency_header=idempotency_header(request),
                )
        else:
            job = subtitles_submit(
                owner=request.user, spec=spec, upload_path=None, idempotency_header=idempotency_header(request)
            )
        return Response({"jobId": job.public_id}, status=202)


class SubtitleRegenerateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    @extend_schema(
        operation_id="subtitles_regenerate",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=multipart_request(
            inline_serializer(
                name="SubtitleRegenerateForm",
                fields={
                    "file": serializers.FileField(help_text="The edited SRT (UTF-8); `srtFile` is accepted too"),
                    "spec": SubtitleRegenerateSpecSerializer(help_text="JSON form item, sent after the file part"),
                },
            )
        ),
        responses={202: JobIdSerializer, **UPLOAD_ERROR_RESPONSES},
        description="Translates a user-edited SRT with Gemini only; the uploaded SRT is the job's original. "
        "Errors (400): spec_required, invalid_spec, file_required, invalid_srt (with the line number).",
    )
    def post(self, request):
        upload = request.FILES.get("file") or request.FILES.get("srtFile")
        spec = regenerate_spec_from_request(request)
        if upload is None:
            raise BadRequest(ErrorCode.FILE_REQUIRED, "file is required")
        job = subtitles_regenerate_submit(
            owner=request.user,
            spec=spec,
            srt_bytes=_read_limited(upload),
            idempotency_header=idempotency_header(request),
        )
        return Response({"jobId": job.public_id}, status=202)


def _read_limited(upload) -> bytes:
    if upload.size is not None and upload.size > settings.SUBTITLES_SRT_MAX_BYTES:
        raise PayloadTooLarge(
            ErrorCode.FILE_TOO_LARGE, f"SRT files are limited to {settings.SUBTITLES_SRT_MAX_BYTES} bytes"
        )
    return upload.read()


class SubtitleStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        jobId = serializers.CharField()
        status = serializers.ChoiceField(choices=READY_STATUSES)
        progress = serializers.IntegerField()
        progressReason = serializers.CharField(allow_null=True)
        error = serializers.CharField(allow_null=True)
        originalSrtUrl = serializers.CharField(allow_null=True, help_text="Signed path-only URL, when READY")
        translatedSrtUrlsByLang = serializers.DictField(child=serializers.CharField())
        translatedSrtUrl = serializers.CharField(allow_null=True, help_text="The first translation (old clients)")

    @extend_schema(
        operation_id="subtitles_status",
        responses={200: OutputSerializer, **ERROR_RESPONSES},
        description="READY always carries originalSrtUrl and one URL per requested target language.",
    )
    def get(self, request, job_id: str):
        job = subtitles_job_get(owner=request.user, public_id=job_id)
        return Response(subtitles_status_body(job))


def subtitles_status_body(job: Job) -> dict:
    status = ready_status(job)
    original_url, urls_by_lang = subtitles_urls(job=job)
    progress_reason = job.progress_reason or None
    error = (job.error_detail or job.error_code or "Subtitle generation failed") if status == "FAILED" else None
    if status == "READY" and original_url is None:
        status = "FAILED"
        error = progress_reason = "The subtitles are no longer available"
    return {
        "jobId": job.public_id,
        "status": status,
        "progress": int(job.progress),
        "progressReason": progress_reason,
        "error": error,
        "originalSrtUrl": original_url,
        "translatedSrtUrlsByLang": urls_by_lang,
        "translatedSrtUrl": next(iter(urls_by_lang.values()), None),
    }


class SubtitleSrtDownloadApi(SignedDownloadApi):
    @extend_schema(
        operation_id="subtitles_srt_download",
        auth=[],
        parameters=[
            TOKEN_PARAMETER,
            OpenApiParameter(
                "lang", OpenApiTypes.STR, OpenApiParameter.QUERY, description="'original' (default) or a target code"
            ),
            RANGE_PARAMETER,
        ],
        responses={
            **file_responses("application/x-subrip", "The SRT, UTF-8"),
            **TOKEN_ERROR_RESPONSES,
        },
        description="Signed SRT download; no Bearer needed (missing token 401, bad or expired 403). "
        "With a valid Bearer of another user → 404.",
    )
    def get(self, request, job_id: str):
        token = request.query_params.get("token")
        if not token:
            raise TokenMissing(detail="token required")
        lang = (request.query_params.get("lang") or ORIGINAL).strip() or ORIGINAL
        verify_token(token=token, job_id=job_id, resource_id=srt_resource_id(lang))
        job = Job.objects.filter(public_id=job_id, kind=JobKind.SUBTITLES).first()
        if job is None:
            raise NotFound(ErrorCode.NOT_FOUND, f"Subtitle job not found: {job_id}")
        download_owner_check(request, owner_id=job.owner_id)
        storage_key = srt_storage_key(job=job, lang=lang)
        if not storage_key:
            raise NotFound(ErrorCode.NOT_FOUND, f"SRT not available: {lang}")
        return stored_file_response(request, storage_key=storage_key, content_type=SRT_CONTENT_TYPE)
