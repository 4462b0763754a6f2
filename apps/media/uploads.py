"""Multipart uploads spool to a temp file and are cut off the moment they pass the size limit."""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from apps.core.errors import PayloadTooLarge


class UploadTooLarge(PayloadTooLarge):
    code = "file_too_large"


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
