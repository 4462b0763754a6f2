"""HTTP API of auto dubbing (`/api/v2/autodub...`)."""

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response

from apps.dubbing.selectors import AUDIO_RESOURCE_ID, VIDEO_RESOURCE_ID, dubbed_storage_key, dubbed_urls
from apps.dubbing.serializers import AutoDubSpecSerializer, autodub_spec_from_request
from apps.dubbing.services import autodub_submit
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


@extend_schema_view(
    post=JobSubmitApi.submit_schema(
        operation_id="autodub_submit",
        form=JobSubmitApi.submit_form(
            "AutoDubSubmitForm",
            spec=AutoDubSpecSerializer,
            file=serializers.FileField(required=False, help_text="Optional source video or audio"),
        ),
        description=(
            "Dubs an uploaded file or a finished render (editedRenderJobId wins; another user's or an unfinished "
            "render → 400 edited_render_not_ready) with Perso. Errors (400): spec_required, invalid_spec, invalid_media_type, "
            "source_language_required, target_language_required, unsupported_language, same_language, "
            "invalid_tts_model, source_required, not_media, no_audio; 413 file_too_large."
        ),
    )
)
class AutoDubSubmitApi(SourceJobSubmitApi):
    spec_from_request = staticmethod(autodub_spec_from_request)
    submit = staticmethod(autodub_submit)


class AutoDubStatusApi(JobStatusApi):
    class OutputSerializer(ReadyJobStatusSerializer):
        dubbedAudioUrl = serializers.CharField(allow_null=True, help_text="Signed mp3 URL; always set when READY")
        dubbedVideoUrl = serializers.CharField(allow_null=True, help_text="Signed mp4 URL (VIDEO projects)")
        audioExtractFailed = serializers.BooleanField(help_text="Always false (kept for old clients)")

    @JobStatusApi.status_schema(
        operation_id="autodub_status", serializer=OutputSerializer, description="READY always carries dubbedAudioUrl."
    )
    def get(self, request, job_id: str):
        job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.AUTODUB)
        audio_url, video_url = dubbed_urls(job=job)
        lost_reason = "The dubbed audio is no longer available" if audio_url is None else None
        body = self.status_body(job, status=ready_status(job), failure="Dubbing failed", lost_reason=lost_reason)
        return Response(
            {
                **body,
                "dubbedAudioUrl": audio_url,
                # A READY job always has the audio; without it there is no video either.
                "dubbedVideoUrl": video_url if audio_url else None,
                "audioExtractFailed": False,
            }
        )


class _DubbedFileDownloadApi(SignedJobDownloadApi):
    job_kind = JobKind.AUTODUB
    resource_id: str
    content_type: str
    extension: str
    what: str

    def get(self, request, job_id: str):
        job = self.signed_job(request, job_id=job_id, resource_id=self.resource_id)
        return job_file_response(
            request,
            storage_key=dubbed_storage_key(job=job, resource_id=self.resource_id),
            missing=f"Dubbed {self.what} not ready",
            content_type=self.content_type,
            filename=f"{job.public_id}{self.extension}",
        )


@extend_schema_view(
    get=SignedJobDownloadApi.download_schema(
        operation_id="autodub_audio_download", content_type="audio/mpeg", file_description="Dubbed audio"
    )
)
class AutoDubAudioDownloadApi(_DubbedFileDownloadApi):
    resource_id, content_type, extension, what = AUDIO_RESOURCE_ID, "audio/mpeg", ".mp3", "audio"


@extend_schema_view(
    get=SignedJobDownloadApi.download_schema(
        operation_id="autodub_video_download", content_type="video/mp4", file_description="Dubbed video"
    )
)
class AutoDubVideoDownloadApi(_DubbedFileDownloadApi):
    resource_id, content_type, extension, what = VIDEO_RESOURCE_ID, "video/mp4", ".mp4", "video"
