"""Job files in storage (local disk or an S3-compatible bucket through django-storages).

Every file of a job lives under `jobs/<public id>/`, so deleting a job deletes one prefix.
Render hosts and web hosts share nothing but this storage.
"""

import os
import posixpath
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class PublicEndpointS3Storage(S3Storage):  # type: ignore[misc]  # django-storages ships no type stubs
    """S3 storage whose download URLs are presigned (SigV4) for the address the phone reaches.

    The platform reads and writes through `endpoint_url` (inside a compose network: an internal name
    such as http://objects:9000); a SigV4 signature covers the host, so links for the outside are
    signed by a second client configured with `public_endpoint_url` (a public name or custom domain
    that forwards to the same store). Signing is local: that client never connects anywhere.
    """

    def __init__(self, *, public_endpoint_url: str | None = None, **options: Any) -> None:
        self.public_endpoint_url = public_endpoint_url
        super().__init__(**options)
        self._public_clients = threading.local()

    def _public_client(self) -> Any:  # a boto3 S3 client (boto3 ships no type stubs)
        client = getattr(self._public_clients, "client", None)
        if client is None:
            client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                endpoint_url=self.public_endpoint_url or self.endpoint_url,
                config=self.client_config,
            )
            self._public_clients.client = client
        return client

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        params = dict(parameters or {})
        params.update(Bucket=self.bucket_name, Key=self._normalize_name(clean_name(name)))
        presigned_url: str = self._public_client().generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )
        return presigned_url


def job_storage_prefix(public_id: str) -> str:
    return f"jobs/{safe_file_name(public_id)}/"


def job_file_key(public_id: str, name: str) -> str:
    return job_storage_prefix(public_id) + safe_file_name(name)


def safe_file_name(name: str) -> str:
    """A name that cannot leave its folder: no separators, no leading dots, bounded length."""
    base = posixpath.basename(name.replace("\\", "/")) or "file"
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".") or "file"
    return cleaned[:120]


def storage_save_file(*, key: str, local_path: str | Path) -> str:
    with open(local_path, "rb") as handle:
        return storage_save_stream(key=key, stream=handle)


def storage_save_stream(*, key: str, stream: IO[bytes]) -> str:
    if default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, File(stream))


def storage_delete_prefix(prefix: str) -> None:
    if settings.STORAGE_BACKEND == "local":
        folder = Path(settings.MEDIA_ROOT) / prefix
        if folder.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve()) and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        return
    directories, files = default_storage.listdir(prefix)
    for name in files:
        default_storage.delete(prefix + name)
    for directory in directories:
        storage_delete_prefix(f"{prefix}{directory}/")


def storage_size(key: str) -> int:
    return default_storage.size(key)


@contextmanager
def local_copy(key: str, *, suffix: str = "") -> Iterator[Path]:
    """A local path holding the stored file (the file itself on local storage, a temp copy otherwise)."""
    if settings.STORAGE_BACKEND == "local":
        yield Path(default_storage.path(key))
        return
    handle, temp_path = tempfile.mkstemp(suffix=suffix, dir=settings.FILE_UPLOAD_TEMP_DIR)
    try:
        with os.fdopen(handle, "wb") as target, default_storage.open(key, "rb") as source:
            shutil.copyfileobj(source, target, 1024 * 1024)
        yield Path(temp_path)
    finally:
        Path(temp_path).unlink(missing_ok=True)


def storage_delete_stale(*, prefix: str, older_than_sec: int) -> int:
    """Deletes files under `prefix` last modified more than `older_than_sec` ago (upload staging
    left behind by a crash between saving an upload and creating its job). Returns the count."""
    cutoff = timezone.now() - timedelta(seconds=older_than_sec)
    deleted = 0
    try:
        directories, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return 0
    for name in files:
        key = prefix + name
        if default_storage.get_modified_time(key) < cutoff:
            default_storage.delete(key)
            deleted += 1
    for directory in directories:
        deleted += storage_delete_stale(prefix=f"{prefix}{directory}/", older_than_sec=older_than_sec)
    return deleted
