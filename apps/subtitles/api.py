"""HTTP API of auto subtitles (`/api/v2/subtitles...`)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, PayloadTooLarge
from apps.jobs.endpoints import (
    JobStatusApi,
    JobSubmitApi,
    SignedJobDownloadApi,
    SourceJobSubmitApi,
    job_file_response,
)
from apps.jobs.models import JobKind
from apps.jobs.public_status import ready_status
from apps.jobs.selectors import owned_job_get
from apps.jobs.serializers import ReadyJobStatusSerializer
from apps.jobs.submits import idempotency_header
from apps.subtitles.selectors import ORIGINAL, srt_resource_id, srt_storage_key, subtitles_urls
from apps.subtitles.serializers import (
    SubtitleRegenerateSpecSerializer,
    SubtitleSpecSerializer,
    regenerate_spec_from_request,
    subtitle_spec_from_request,
)
from apps.subtitles.services import (
    subtitles_regenerate_submit,
    subtitles_submit,
)

SRT_CONTENT_TYPE = "application/x-subrip; charset=utf-8"


@extend_schema_view(
    post=JobSubmitApi.submit_schema(
        operation_id="subtitles_submit",
        form=JobSubmitApi.submit_form(
            "SubtitleSubmitForm",
            spec=SubtitleSpecSerializer,
            file=serializers.FileField(required=False, help_text="Optional source video or audio (probed by bytes)"),
        ),
        description=(
            "Transcribes (Perso STT) and translates (Gemini) an uploaded file or a finished render "
            "(editedRenderJobId wins over file; another user's or an unfinished render → 400 edited_render_not_ready). Errors (400): "
            "spec_required, invalid_spec, invalid_media_type, source_language_required, unsupported_language, "
            "source_required, not_media, no_audio; 413 file_too_large."
        ),
    )
)
class SubtitleSubmitApi(SourceJobSubmitApi):
    spec_from_request = staticmethod(subtitle_spec_from_request)
    submit = staticmethod(subtitles_submit)


class SubtitleRegenerateApi(JobSubmitApi):
    @JobSubmitApi.submit_schema(
        operation_id="subtitles_regenerate",
        form=JobSubmitApi.submit_form(
            "SubtitleRegenerateForm",
            spec=SubtitleRegenerateSpecSerializer,
            file=serializers.FileField(help_text="The edited SRT (UTF-8); `srtFile` is accepted too"),
        ),
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
        return self.accepted(job)


def _read_limited(upload) -> bytes:
    if upload.size is not None and upload.size > settings.SUBTITLES_SRT_MAX_BYTES:
        raise PayloadTooLarge(
            ErrorCode.FILE_TOO_LARGE, f"SRT files are limited to {settings.SUBTITLES_SRT_MAX_BYTES} bytes"
        )
    return upload.read()


class SubtitleStatusApi(JobStatusApi):
    class OutputSerializer(ReadyJobStatusSerializer):
        originalSrtUrl = serializers.CharField(allow_null=True, help_text="Signed path-only URL, when READY")
        translatedSrtUrlsByLang = serializers.DictField(child=serializers.CharField())
        translatedSrtUrl = serializers.CharField(allow_null=True, help_text="The first translation (old clients)")

    @JobStatusApi.status_schema(
        operation_id="subtitles_status",
        serializer=OutputSerializer,
        description="READY always carries originalSrtUrl and one URL per requested target language.",
    )
    def get(self, request, job_id: str):
        job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.SUBTITLES)
        original_url, urls_by_lang = subtitles_urls(job=job)
        lost_reason = "The subtitles are no longer available" if original_url is None else None
        return Response(
            {
                **self.status_body(
                    job, status=ready_status(job), failure="Subtitle generation failed", lost_reason=lost_reason
                ),
                "originalSrtUrl": original_url,
                "translatedSrtUrlsByLang": urls_by_lang,
                "translatedSrtUrl": next(iter(urls_by_lang.values()), None),
            }
        )


class SubtitleSrtDownloadApi(SignedJobDownloadApi):
    job_kind = JobKind.SUBTITLES

    @SignedJobDownloadApi.download_schema(
        operation_id="subtitles_srt_download",
        content_type="application/x-subrip",
        file_description="The SRT, UTF-8",
        parameters=[
            OpenApiParameter(
                "lang", OpenApiTypes.STR, OpenApiParameter.QUERY, description="'original' (default) or a target code"
            )
        ],
        description="Signed SRT download; no Bearer needed (missing token 401, bad or expired 403). "
        "With a valid Bearer of another user → 404.",
    )
    def get(self, request, job_id: str):
        lang = (request.query_params.get("lang") or ORIGINAL).strip() or ORIGINAL
        job = self.signed_job(request, job_id=job_id, resource_id=srt_resource_id(lang))
        return job_file_response(
            request,
            storage_key=srt_storage_key(job=job, lang=lang),
            missing=f"SRT not available: {lang}",
            content_type=SRT_CONTENT_TYPE,
        )
