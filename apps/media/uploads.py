"""Multipart uploads: spooled to a temp file and cut off the moment they pass the size limit (the
JSON form items, `spec`, are read by apps.core.serializers.JsonFormItemSerializer)."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from apps.core.error_codes import ErrorCode
from apps.core.errors import PayloadTooLarge


class UploadTooLarge(PayloadTooLarge, code=ErrorCode.FILE_TOO_LARGE): ...


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024  # Django's 64 KiB default costs throughput on large media

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received_bytes = 0

    def receive_data_chunk(self, raw_data, start):
        self.received_bytes += len(raw_data)
        limit = settings.MAX_UPLOAD_FILE_SIZE_MB * 1024 * 1024
        if self.received_bytes > limit:
            self.file.close()  # a NamedTemporaryFile: closing deletes it, nothing is left behind
            raise UploadTooLarge(detail=f"File exceeds maximum size of {settings.MAX_UPLOAD_FILE_SIZE_MB}MB")
        return super().receive_data_chunk(raw_data, start)


@contextmanager
def uploaded_file_path(upload) -> Iterator[Path]:
    """The upload's spooled temp file (or a temp copy of an in-memory one), as a path."""
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(suffix=".upload") as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)
