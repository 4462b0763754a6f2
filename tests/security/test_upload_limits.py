"""Upload limits hold while the body streams in, and nothing is left on disk after a refusal.

- A file part over MAX_UPLOAD_FILE_SIZE_MB → 413 `file_too_large` after reading little more than the limit;
  the spooled temp file is gone and storage holds nothing.
- A body announcing more than MAX_REQUEST_BODY_MB → 413 `request_too_large` before a byte is read.
- A body of unknown length (chunked) → 411 `length_required` before a byte is read (Django reads a WSGI
  body only up to its Content-Length, so such a body could neither be bounded nor parsed).
- A `spec` form item over DATA_UPLOAD_MAX_MEMORY_SIZE → 413 `request_too_large` as soon as it passes the
  limit, even after a file part was spooled (that temp file is deleted too).
"""

import socket
import uuid
from pathlib import Path

import pytest
from django.test.client import FakePayload

from apps.accounts.services import access_token_issue

pytestmark = pytest.mark.django_db

MB = 1024 * 1024

# Each multipart submit and the name of its main file part.
MULTIPART_SUBMITS = {
    "/api/v2/subtitles": "file",
    "/api/v2/subtitles/regenerate": "file",
    "/api/v2/autodub": "file",
    "/api/v2/separate": "file",
    "/api/v2/render": "video_0",
    "/api/v2/render/inputs": "video",
}
SPEC = b'{"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ko"}'


class CountingPayload(FakePayload):
    """The request body as the server reads it, counting the bytes actually read."""

    def __init__(self, content: bytes):
        super().__init__(content)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """(body, content type) with the parts in the order given, file parts first like the phone."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n" if filename else b""
        body += b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def upload_folders(settings, tmp_path) -> tuple[Path, Path]:
    """(temp upload folder, storage folder) of this test alone, so "nothing left behind" is exact."""
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temp_dir)
    settings.MAX_UPLOAD_FILE_SIZE_MB = 1
    return temp_dir, tmp_path / "media"


def files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders if folder.exists() for path in folder.rglob("*") if path.is_file()]


def post_counted(client, path: str, body: bytes, content_type: str, **extra):
    payload = CountingPayload(body)
    response = client.generic("POST", path, body, content_type=content_type, **{"wsgi.input": payload, **extra})
    return response, payload


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and set(body) <= {"error", "detail"}, body


@pytest.mark.parametrize("path", sorted(MULTIPART_SUBMITS))
def test_file_over_the_limit_is_cut_off_while_streaming_and_leaves_nothing(path, upload_folders, alice_client):
    body, content_type = multipart([(MULTIPART_SUBMITS[path], "big.mp4", b"\0" * (6 * MB)), ("spec", None, SPEC)])
    response, payload = post_counted(alice_client, path, body, content_type)
    assert_error(response, 413, "file_too_large")
    # Cut at the limit: the server read about 1 MB (+ one 1 MB handler chunk), not the 6 MB sent.
    assert payload.bytes_read <= 3 * MB, payload.bytes_read
    assert files_under(*upload_folders) == []


def test_file_under_the_limit_is_accepted_as_a_control(upload_folders, alice_client, make_media):
    audio = make_media("tone.mp3", seconds=1).read_bytes()
    assert len(audio) < MB
    body, content_type = multipart([("file", "tone.mp3", audio), ("spec", None, SPEC)])
    response, payload = post_counted(alice_client, "/api/v2/subtitles", body, content_type)
    assert response.status_code == 202, response.content
    assert payload.bytes_read == len(body)
    temp_dir, media_root = upload_folders
    assert files_under(temp_dir) == [] and len(files_under(media_root)) == 1  # the source, in storage


@pytest.mark.parametrize("path", sorted(MULTIPART_SUBMITS))
def test_body_announced_over_the_request_limit_is_refused_unread(path, upload_folders, settings, alice_client):
    settings.MAX_REQUEST_BODY_MB = 2
    body, content_type = multipart([(MULTIPART_SUBMITS[path], "big.mp4", b"\0" * (3 * MB)), ("spec", None, SPEC)])
    response, payload = post_counted(alice_client, path, body, content_type)
    assert_error(response, 413, "request_too_large")
    assert payload.bytes_read == 0
    assert files_under(*upload_folders) == []


@pytest.mark.parametrize("path", sorted(MULTIPART_SUBMITS))
def test_body_of_unknown_length_is_refused_unread(path, upload_folders, alice_client):
    body, content_type = multipart([(MULTIPART_SUBMITS[path], "big.mp4", b"\0" * (3 * MB)), ("spec", None, SPEC)])
    response, payload = post_counted(
        alice_client, path, body, content_type, CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert_error(response, 411, "length_required")
    assert payload.bytes_read == 0
    assert files_under(*upload_folders) == []


@pytest.mark.parametrize(
    ("path", "json_item"), [*((path, "spec") for path in MULTIPART_SUBMITS), ("/api/v2/render", "config")]
)
def test_huge_json_form_item_is_refused_early_and_the_spooled_file_deleted(
    path, json_item, upload_folders, settings, alice_client, make_media
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    audio = make_media("tone.mp3", seconds=1).read_bytes()
    huge = b'{"mediaType": "AUDIO", "padding": "' + b"x" * (8 * MB) + b'"}'
    body, content_type = multipart([(MULTIPART_SUBMITS[path], "tone.mp3", audio), (json_item, None, huge)])
    response, payload = post_counted(alice_client, path, body, content_type)
    assert_error(response, 413, "request_too_large")
    assert payload.bytes_read <= len(audio) + 2 * MB, payload.bytes_read  # refused soon after 64 KiB of it
    assert files_under(*upload_folders) == []


@pytest.mark.django_db(transaction=True)
def test_chunked_body_over_a_real_socket_is_refused_before_it_is_read(live_server, alice, upload_folders):
    """The same through a real HTTP server: the answer comes while most of the body is still unsent."""
    host, port = live_server.thread.host, live_server.thread.port
    token = access_token_issue(user=alice).token
    body, content_type = multipart([("file", "big.mp4", b"\0" * (2 * MB)), ("spec", None, SPEC)])
    head = (
        f"POST /api/v2/separate HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    first_chunk = body[: 64 * 1024]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(head + f"{len(first_chunk):x}\r\n".encode() + first_chunk + b"\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            received = connection.recv(65536)
            if not received:
                break
            answer += received
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 411 " in status_line, answer[:300]
    assert b'"error":"length_required"' in rest.replace(b" ", b"")
    assert files_under(*upload_folders) == []
