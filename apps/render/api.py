"""HTTP API of rendering (`/api/v2/render...`): the input cache, submit, status and download."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.schema import (
    ERROR_RESPONSES,
    IDEMPOTENCY_PARAMETER,
    RANGE_PARAMETER,
    UPLOAD_ERROR_RESPONSES,
    ErrorSerializer,
    file_responses,
    multipart_request,
)
from apps.jobs.endpoints import JobStatusApi, job_file_response
from apps.jobs.models import JobKind, JobStatus
from apps.jobs.public_status import FAILED, completed_status
from apps.jobs.selectors import job_not_found, job_status_snapshot, owned_job_get
from apps.jobs.serializers import CompletedJobStatusSerializer
from apps.jobs.services import job_touch_expiry
from apps.jobs.submits import idempotency_header
from apps.media.sources import RESULT_OUTPUT_KEY, RESULT_OUTPUT_KIND
from apps.render.config import RenderConfigSerializer, config_document_from_request
from apps.render.services import render_input_store, render_submit


@contextmanager
def _local_paths(files) -> Iterator[dict[str, str]]:
    """Upload name → a local path (uploads are spooled to temp files; anything else is written out)."""
    with ExitStack() as stack:
        paths = {}
        for name, uploaded in files.items():
            if hasattr(uploaded, "temporary_file_path"):
                paths[name] = uploaded.temporary_file_path()
                continue
            handle = stack.enter_context(tempfile.NamedTemporaryFile(prefix="render-part-"))
            shutil.copyfileobj(uploaded, handle)
            handle.flush()
            paths[name] = handle.name
        yield paths


_MULTIPART_NOTE = "multipart/form-data; file parts first, the `config` JSON form item last."


class RenderInputsApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class OutputSerializer(serializers.Serializer):
        inputId = serializers.CharField()
        expiresAt = serializers.IntegerField(help_text="Epoch milliseconds")
        videoSizeBytes = serializers.IntegerField()
        audioCount = serializers.IntegerField()

    @extend_schema(
        operation_id="render_inputs_create",
        request={
            "multipart/form-data": inline_serializer(
                name="RenderInputsRequest",
                fields={
                    "video": serializers.FileField(),
                    "audios": serializers.ListField(child=serializers.FileField(), required=False),
                },
            )
        },
        responses={200: OutputSerializer, **UPLOAD_ERROR_RESPONSES},
        description="Caches a video (+ dub audios, repeated `audios` parts or `audio_0..N`) for later renders "
        "of the caller: pass the `inputId` to POST /render instead of re-uploading.",
    )
    def post(self, request):
        videos = request.FILES.getlist("video")
        if not videos:
            raise BadRequest(ErrorCode.VIDEO_REQUIRED, "video part is required for /render/inputs")
        if len(videos) > 1:
            raise BadRequest(ErrorCode.DUPLICATE_VIDEO_PART, "Multiple 'video' parts in /render/inputs")
        audio_files = {f"audio_{index}": uploaded for index, uploaded in enumerate(request.FILES.getlist("audios"))}
        for name in request.FILES:
            if name.startswith("audio_") and name[6:].isdigit():
                audio_files[name] = request.FILES[name]
        with _local_paths({"video": videos[0], **audio_files}) as paths:
            video_path = paths.pop("video")
            entry = render_input_store(owner=request.user, video_path=video_path, audio_paths=paths)
        return Response(
            self.OutputSerializer(
                {
                    "inputId": entry.public_id,
                    "expiresAt": int(entry.expires_at.astimezone(UTC).timestamp() * 1000),
                    "videoSizeBytes": entry.video_size_bytes,
                    "audioCount": entry.audio_count,
                }
            ).data
        )


class RenderSubmitApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class OutputSerializer(serializers.Serializer):
        jobId = serializers.CharField()

    @extend_schema(
        operation_id="render_create",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=multipart_request(
            inline_serializer(
                name="RenderRequest",
                fields={
                    "inputId": serializers.CharField(required=False),
                    "video": serializers.FileField(required=False, help_text="legacy single video"),
                    "video_0": serializers.FileField(required=False, help_text="video_<order>, one per segment"),
                    "segment_image_0": serializers.FileField(required=False, help_text="IMAGE segment stills"),
                    "image_0": serializers.FileField(required=False, help_text="stickers (image_<i>)"),
                    "audio_0": serializers.FileField(required=False, help_text="dub clips (audio_<i>)"),
                    "bgm_0": serializers.FileField(required=False, help_text="BGM (bgm_<i>)"),
                    "audio_override": serializers.FileField(required=False),
                    "subtitles": serializers.FileField(required=False, help_text="ASS file to burn in"),
                    "config": RenderConfigSerializer(help_text="RenderConfig JSON (see docs/render.md)"),
                },
            ),
            json_items=("config",),
        ),
        responses={200: OutputSerializer, **UPLOAD_ERROR_RESPONSES},
        description="Starts a render (one ffmpeg pass on a render host). " + _MULTIPART_NOTE,
    )
    def post(self, request):
        config_document = config_document_from_request(request)
        input_id = request.data.get("inputId")
        input_id = input_id.strip() if isinstance(input_id, str) and input_id.strip() else None
        files = {name: request.FILES.getlist(name)[-1] for name in request.FILES if name != "config"}
        with _local_paths(files) as uploads:
            job = render_submit(
                owner=request.user,
                config_document=config_document,
                uploads=uploads,
                input_id=input_id,
                idempotency_header=idempotency_header(request),
            )
        return Response({"jobId": job.public_id})


class RenderStatusApi(JobStatusApi):
    class OutputSerializer(CompletedJobStatusSerializer):
        pass

    @JobStatusApi.status_schema(
        operation_id="render_status",
        serializer=OutputSerializer,
        description="`progressReason` is `queued` while the render waits for a render slot.",
    )
    def get(self, request, job_id: str):
        job = job_status_snapshot(owner_id=request.user.pk, public_id=job_id, kind=JobKind.RENDER)
        if job is None:
            raise job_not_found(kind=JobKind.RENDER, public_id=job_id)
        body = self.status_body(job, status=completed_status(job), failure="Render failed")
        if body["status"] == FAILED:
            # The first line only: the stderr tail stays in the job row for operators.
            error = "Cancelled" if job.status == JobStatus.CANCELLED else body["error"].splitlines()[0][:500]
            body["error"] = body["progressReason"] = error
        return Response(body)


class RenderDownloadApi(APIView):
    @extend_schema(
        operation_id="render_download",
        parameters=[RANGE_PARAMETER],
        responses={
            **file_responses("video/mp4", "The rendered mp4 (audio/mp4 m4a for outputKind audio)"),
            416: OpenApiResponse(ErrorSerializer, description="Range not satisfiable"),
            **ERROR_RESPONSES,
        },
        description="The owner's finished render, with Range support.",
    )
    def get(self, request, job_id: str):
        job = owned_job_get(owner=request.user, public_id=job_id, kind=JobKind.RENDER)
        output_key = job.result.get(RESULT_OUTPUT_KEY) if job.status == JobStatus.SUCCEEDED else None
        if output_key:
            job_touch_expiry(job=job, ttl_sec=settings.RENDER_OUTPUT_TTL_SEC)
        audio = job.result.get(RESULT_OUTPUT_KIND) == "audio"
        return job_file_response(
            request,
            storage_key=output_key,
            missing=f"Render not ready: status={completed_status(job)}",
            content_type="audio/mp4" if audio else "video/mp4",
            filename=f"{job.public_id}.{'m4a' if audio else 'mp4'}",
        )
