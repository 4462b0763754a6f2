"""The kit every job endpoint is built from: submit, status and signed download.

A capability's endpoints are a service, its serializers and a few lines of view each:
- submit: a `JobSubmitApi` (multipart, limited per user under "submit", documented by
  `submit_schema` with a `submit_form`); a `SourceJobSubmitApi` names its spec parser and service and
  needs no post(), any other post() calls the service itself and answers `accepted`, 202 {"jobId"};
  the service creates the job with `apps.jobs.submits.job_submit` (one submit, one job);
- status: a `JobStatusApi` whose get() reads the caller's job with `owned_job_get`
  (apps.jobs.selectors) and answers `status_body` plus the capability's URL fields, documented by a
  subclass of a status serializer of apps.jobs.serializers; a phone's plain poll is answered by
  `status_poll_view` around DRF's dispatch, every other request by DRF;
- download: a `SignedJobDownloadApi` whose get() takes the job from `signed_job` (token, job, owner)
  and answers `job_file_response`.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.settings import api_settings
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

if TYPE_CHECKING:
    from rest_framework.views import AsView, GenericView  # the stubs' types of as_view() (no runtime names)

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


def _json_without_negotiation(request: HttpRequest | Request) -> bool:
    """`Accept: application/json`, `*/*` or none, and no query string (which could carry `?format=`)."""
    return request.META.get("HTTP_ACCEPT", "*/*") in _JSON_ACCEPTS and not request.META.get("QUERY_STRING")


class JsonPollNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, short-cut for a JSON-only view polled with `Accept: application/json` or
    `*/*` (or none) and no query string (`?format=`): anything else is negotiated as before (406 when JSON is not
    acceptable)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        renderer = renderers[0]
        if format_suffix is None and renderer.media_type == "application/json" and _json_without_negotiation(request):
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]


# A status poll: the caller's job, answered with a plain dict (no serializer round-trip per poll);
# never rate-limited (a 429 would end the job on the phone), so no throttle is consulted.
class JobStatusApi(APIView):
    content_negotiation_class = JsonPollNegotiation
    throttle_classes: Sequence[type[Any]] = ()

    @classmethod
    def as_view(cls, **initkwargs: Any) -> "AsView[GenericView]":
        return cast("AsView[GenericView]", status_poll_view(cls, initkwargs, super().as_view(**initkwargs)))

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


def status_poll_view(
    view_class: type[JobStatusApi], initkwargs: dict[str, Any], drf_view: Callable[..., HttpResponseBase]
) -> Callable[..., HttpResponseBase]:
    """`drf_view` (DRF's view function of `view_class`), with a phone's plain poll answered outside
    DRF's dispatch: a GET with an Authorization header, JSON acceptable without negotiation (no query
    string). Such a poll runs what DRF would run on the same view class: the view's authenticators
    (the Bearer check of apps.accounts), its permissions and its get(), whose Response data is
    rendered by the view's JSON renderer with the headers DRF adds (`Allow`). What it skips decides
    nothing for such a poll: DRF's request wrapper, negotiation, versioning and throttles (the view has
    none and one JSON renderer) and the template-response phase of a DRF Response.

    Any other request — another method, an odd Accept, a query string, no credentials — and a poll
    whose authentication or permissions fail or whose get() raises (404, a database error …) is
    answered by `drf_view` itself, so every error is DRF's, byte for byte
    (tests/jobs/test_status_poll_view.py compares both). The result keeps the attributes of
    `drf_view` (`cls`, `initkwargs`, `csrf_exempt` …), which is how drf-spectacular finds and
    documents the view."""
    renderer_classes = list(view_class.renderer_classes)
    if (
        view_class.throttle_classes
        or len(renderer_classes) != 1
        or renderer_classes[0].media_type != "application/json"
    ):
        return drf_view
    renderer = renderer_classes[0]()
    content_type = f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
    # DRF's `default_response_headers` (`Allow`) depend on the class only: read from the first poll's
    # view, as one whole dict (threads that race on the first poll each store a complete one).
    drf_headers: list[dict[str, str]] = []
    format_suffix_kwarg = api_settings.FORMAT_SUFFIX_KWARG

    @functools.wraps(drf_view)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (
            request.method != "GET"
            or "HTTP_AUTHORIZATION" not in request.META
            or not _json_without_negotiation(request)
            or kwargs.get(format_suffix_kwarg) is not None
        ):
            return drf_view(request, *args, **kwargs)
        status_view = view_class(**initkwargs)
        status_view.setup(request, *args, **kwargs)
        status_view.args, status_view.kwargs, status_view.format_kwarg = args, kwargs, None
        try:
            if not _authenticated(request, status_view) or not all(
                permission.has_permission(request, status_view)  # type: ignore[arg-type]  # reads request.user
                for permission in status_view.get_permissions()
            ):
                return drf_view(request, *args, **kwargs)
            response = status_view.get(request, *args, **kwargs)  # type: ignore[attr-defined]  # each subclass's
        except Exception:  # noqa: BLE001 - DRF's view answers it (or raises it) exactly as it would have
            return drf_view(request, *args, **kwargs)
        if not isinstance(response, Response) or response.data is None or response.template_name is not None:
            return drf_view(request, *args, **kwargs)
        answer = HttpResponse(
            renderer.render(response.data, renderer.media_type, {"view": status_view, "request": request}),
            content_type=content_type,
            status=response.status_code,
        )
        for name, value in response.items():
            if name != "Content-Type":
                answer[name] = value
        if not drf_headers:
            drf_headers.append(dict(status_view.default_response_headers))
        for name, value in drf_headers[0].items():
            answer[name] = value
        return answer

    view.drf_view = drf_view  # type: ignore[attr-defined]  # what answers every other request (tests compare both)
    return view


def _authenticated(request: HttpRequest, view: APIView) -> bool:
    """DRF's authentication of `request` by `view`'s authenticators (the first that recognizes its
    credentials wins); sets `request.user` and `request.auth` as DRF's request does. False when none
    did; an authenticator's refusal raises."""
    for authenticator in view.get_authenticators():
        user_auth = authenticator.authenticate(request)  # type: ignore[arg-type]  # reads request.META
        if user_auth is not None:
            request.user, request.auth = user_auth  # type: ignore[attr-defined]  # `auth`: DRF's, set as DRF sets it
            return True
    return False


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
