"""The source a subtitles or autodub submit names — a finished render of the caller
(`editedRenderJobId`, which wins) or the uploaded file — checked in the request, part of the
request's identity (one submit, one job) and recorded in the new job's spec."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.serializers import wire_fields
from apps.jobs.models import Job
from apps.jobs.submits import SubmitIdentity, SubmitRequest, job_submit
from apps.media.ffmpeg import MediaInfo
from apps.media.sources import SourceMedia, render_source, submit_source_identity, upload_probe, upload_store
from apps.media.uploads import uploaded_file_path

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # django-stubs' name for AUTH_USER_MODEL (no runtime name)


@dataclass(frozen=True)
class SubmitSource:
    owner: "_User"
    render: SourceMedia | None
    upload_path: Path | None = None
    upload_name: str = ""
    upload_info: MediaInfo | None = None

    @property
    def identity(self) -> str:
        """What the source is, for the one-submit-one-job rule: the render it names, or the bytes."""
        return submit_source_identity(self.render, self.upload_path)

    def job_submit(
        self, *, kind: str, spec: dict, idempotency_header: str | None, first_stage: str, expires_at: datetime
    ) -> Job:
        """The job that answers a submit of `spec` from this source: the live one of the same source
        and spec (or Idempotency-Key), else a new job with the source stored under it."""
        identity = SubmitIdentity.of_request(kind=kind, header=idempotency_header, source=self.identity, spec=spec)
        return job_submit(
            owner=self.owner,
            identity=identity,
            spec=spec,
            first_stage=first_stage,
            expires_at=expires_at,
            attach=self.attach,
        )

    def attach(self, job: Job) -> None:
        """Records the source in the new job's spec, the upload stored under the job's own prefix."""
        source = self.render
        if source is None:
            assert self.upload_path is not None and self.upload_info is not None
            source = upload_store(
                public_id=job.public_id,
                upload_path=self.upload_path,
                upload_name=self.upload_name,
                info=self.upload_info,
            )
        job.spec = {**job.spec, "source": source.as_spec()}
        job.save(update_fields=["spec"])


@contextmanager
def submit_source(*, owner, render_job_id: str | None, upload) -> Iterator[SubmitSource]:
    """The submit's source, checked now: the caller's finished render (else 400 edited_render_not_ready),
    or the uploaded bytes probed by ffprobe (not_media, no_audio); neither → 400 source_required."""
    if render_job_id:
        yield SubmitSource(owner=owner, render=render_source(owner=owner, render_job_id=render_job_id))
        return
    if upload is None:
        raise BadRequest(ErrorCode.SOURCE_REQUIRED, "either file part or editedRenderJobId is required")
    with uploaded_file_path(upload) as path:
        yield SubmitSource(
            owner=owner, render=None, upload_path=path, upload_name=upload.name, upload_info=upload_probe(path)
        )


def source_job_submit(request: SubmitRequest, *, kind: str, spec: Any, first_stage: str) -> Job:
    """The job of `kind` that answers a submit of `spec` (a dataclass with `edited_render_job_id`, recorded
    in the job by its wire names) from the request's source, checked now (`editedRenderJobId` wins over
    an uploaded file); kept RESULT_RETENTION_SEC."""
    with submit_source(owner=request.owner, render_job_id=spec.edited_render_job_id, upload=request.upload) as source:
        return source.job_submit(
            kind=kind,
            spec=wire_fields(spec),
            idempotency_header=request.idempotency_header,
            first_stage=first_stage,
            expires_at=timezone.now() + timedelta(seconds=settings.RESULT_RETENTION_SEC),
        )
