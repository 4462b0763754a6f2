"""The kit every job endpoint is built from: submit, status and signed download.

A capability's endpoints are a service, its serializers and a few lines of view each:
- submit: a `JobSubmitApi` (multipart, limited per user under "submit", documented by
  `submit_schema` with a `submit_form`); a `SourceJobSubmitApi` names its spec parser and service and
  needs no post(), any other post() calls the service itself and answers `accepted`, 202 {"jobId"};
  the service creates the job with `apps.jobs.submits.job_submit` (one submit, one job);
- status: a `JobStatusApi` whose get() reads the caller's job with `owned_job_get`
  (apps.jobs.selectors) and answers `status_body` plus the capability's URL fields, documented by a
  subclass of a status serializer of apps.jobs.serializers;
- download: a `SignedJobDownloadApi` whose get() takes the job from `signed_job` (token, job, owner)
  and answers `job_file_response`.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

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
from apps.jobs.models import Job
from apps.jobs.public_status import COMPLETED, FAILED, READY
from apps.jobs.selectors import JobStatusSnapshot, job_of_kind_get
from apps.jobs.serializers import JobIdSerializer
from apps.jobs.submits import SubmitRequest

# A view's docstring is its operation's description in the schema unless extend_schema gives one,
# so the base views below carry comments instead.


# A submit: multipart (file parts, then the JSON `spec`), limited per user under "submit".
class JobSubmitApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "submit"

    @staticmethod
    def submit_schema(
        *,
        operation_id: str,
        form: Serializer[Any],
        description: str,
        responses: dict[int, Any] | None = None,
        idempotency_parameter: OpenApiParameter = IDEMPOTENCY_PARAMETER,
    ) -> Callable[[Any], Any]:
        """A multipart submit with an optional Idempotency-Key, answered 202 {"jobId"}."""
        return extend_schema(
            operation_id=operation_id,
            parameters=[idempotency_parameter],
            request=multipart_request(form),
            responses={202: JobIdSerializer, **UPLOAD_ERROR_RESPONSES, **(responses or {})},
            description=description,
        )

    @staticmethod
    def submit_form(name: str, *, spec: type[Serializer[Any]], file: serializers.FileField) -> Serializer[Any]:
        """The form of a submit: the `file` part, then the JSON `spec` item."""
        return inline_serializer(
            name=name, fields={"file": file, "spec": spec(help_text="JSON form item, sent after the file part")}
        )

    @staticmethod
    def accepted(job: Job, *, id_field: str = "jobId") -> Response:
        return Response({id_field: job.public_id}, status=202)


# A submit of a spec and a source (the `file` part, or a render the spec names): post() parses the
# spec with `spec_from_request` and hands it, with the caller, the file and the Idempotency-Key, to
# the capability's `submit` service; 202 {"jobId"}. Subclasses document post() with extend_schema_view.
class SourceJobSubmitApi(JobSubmitApi):
    spec_from_request: Callable[[Request], Any]
    submit: Callable[[SubmitRequest, Any], Job]

    def post(self, request: Request) -> Response:
        spec = self.spec_from_request(request)
        return self.accepted(self.submit(SubmitRequest.of(request), spec))


# What a phone's poll accepts: answered JSON without parsing the Accept header.
_JSON_ACCEPTS = frozenset({"application/json", "*/*"})


class JsonPollNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, short-cut for a JSON-only view polled with `Accept: application/json` or
    `*/*` (or none) and no query string (`?format=`): anything else is negotiated as before (406 when JSON is not
    acceptable)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        renderer = renderers[0]
        if (
            format_suffix is None
            and renderer.media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "*/*") in _JSON_ACCEPTS
            and not request.META.get("QUERY_STRING")
        ):
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]


# A status poll: the caller's job, answered with a plain dict (no serializer round-trip per poll);
# never rate-limited (a 429 would end the job on the phone), so no throttle is consulted.
class JobStatusApi(APIView):
    content_negotiation_class = JsonPollNegotiation
    throttle_classes: Sequence[type[Any]] = ()

    @staticmethod
    def status_schema(
        *, operation_id: str, serializer: type[Serializer[Any]], description: str | None = None
    ) -> Callable[[Any], Any]:
        return extend_schema(
            operation_id=operation_id, responses={200: serializer, **ERROR_RESPONSES}, description=description
        )

    @staticmethod
    def status_body(
        job: Job | JobStatusSnapshot, *, status: str, failure: str, lost_reason: str | None = None
    ) -> dict[str, Any]:
        """The fields every status answers with: jobId, status, progress, progressReason, error.

        `status` is the public status (ready_status or completed_status); `failure` the error of a
        FAILED job that recorded none; `lost_reason`, when set, is why a finished job whose output is
        gone shows as FAILED — never a READY the phone cannot download, it would poll forever."""
        progress_reason = job.progress_reason or None
        error = (job.error_detail or job.error_code or failure) if status == FAILED else None
        if lost_reason and status in (READY, COMPLETED):
            status, error, progress_reason = FAILED, lost_reason, lost_reason
        return {
            "jobId": job.public_id,
            "status": status,
            "progress": int(job.progress),
            "progressReason": progress_reason,
            "error": error,
        }


# A signed download of a file of a job of `job_kind`.
class SignedJobDownloadApi(SignedDownloadApi):
    job_kind: str

    @staticmethod
    def download_schema(
        *,
        operation_id: str,
        content_type: str,
        file_description: str,
        description: str | None = None,
        parameters: Sequence[OpenApiParameter] = (),
    ) -> Callable[[Any], Any]:
        """No Bearer; the token (and `parameters`) in the query; Range."""
        return extend_schema(
            operation_id=operation_id,
            auth=[],
            parameters=[TOKEN_PARAMETER, *parameters, RANGE_PARAMETER],
            responses={**file_responses(content_type, file_description), **TOKEN_ERROR_RESPONSES},
            description=description,
        )

    def signed_job(self, request: Request, *, job_id: str, resource_id: str) -> Job:
        """The job the URL's token signs for `resource_id`: token missing → 401, bad or expired → 403;
        no such job → 404; opened under another user's Bearer → 404."""
        verify_token(token=request.query_params.get("token"), job_id=job_id, resource_id=resource_id)
        job = job_of_kind_get(public_id=job_id, kind=self.job_kind)
        self.owner_check(request, owner_id=job.owner_id)
        return job


def job_file_response(
    request: HttpRequest, *, storage_key: str | None, missing: str, content_type: str, filename: str | None = None
) -> HttpResponseBase:
    """A job's stored file (with Range), or 404 `missing` when the job has none (yet)."""
    if not storage_key:
        raise NotFound(ErrorCode.NOT_FOUND, missing)
    return stored_file_response(request, storage_key=storage_key, content_type=content_type, filename=filename)
