"""The one client of the Perso API (and of its storage host), over a pooled `requests` session.

Retry policy, decided here and nowhere else:
- reads and idempotent calls (`RetryPolicy.READ`): 429, 5xx, connection errors and timeouts are
  retried with exponential backoff and full jitter, `Retry-After` respected, a bounded number of times;
- paid submits (`RetryPolicy.SUBMIT`: translate, STT, audio separation): sent again only when Perso
  refused them (429, or a 5xx carrying a Perso code other than VT5034). When the outcome is unknown —
  timeout, dropped connection, 502, 504, a 5xx without a Perso code (a gateway's answer) — the
  project may exist: `_submit` first looks for it by its job-unique title in List Projects and adopts
  it, and sends again only when none exists (never pay twice);
- polls (`RetryPolicy.NONE`) are tried once: the durable poller maps their errors;
- other 4xx are never retried.
Every HTTP attempt is logged as an `ExternalCall` (service "perso"). The API key is sent only to
the API host, never to the blob or storage host, and never logged; SAS query strings are not logged.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db import DatabaseError

from apps.core.chaos import chaos_point, chaos_reader
from apps.jobs.services import external_call_record
from apps.perso.errors import (
    PersoDownloadError,
    PersoError,
    PersoNotFound,
    PersoProtocolError,
    PersoSubmitUncertain,
    PersoTransientError,
    perso_error_from_response,
)

logger = logging.getLogger(__name__)

API_KEY_HEADER = "XP-API-KEY"
STORAGE_PATH_PREFIX = "/perso-storage/"
CHUNK_BYTES = 1024 * 1024
VT_PREFIX = "/video-translator/api/v1"

_thread_state = threading.local()
# memberRole per (API base, space): List Projects requires it; the space banner names it.
_member_roles: dict[tuple[str, int], str] = {}
DEFAULT_MEMBER_ROLE = "space_owner"
PROJECT_LIST_PAGE = 50
PROJECT_LIST_MAX_PAGES = 4
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5


class RetryPolicy(Enum):
    READ = "read"
    SUBMIT = "submit"
    NONE = "none"


# --- Parsed answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersoLanguage:
    code: str
    name: str
    experiment: bool = False
    native_name: str | None = None
    supports_dubbing: bool = True
    supports_subtitles: bool = True


@dataclass(frozen=True)
class SasToken:
    blob_sas_url: str

    @property
    def blob_url(self) -> str:
        """The blob URL without its query string: what register expects as fileUrl."""
        parts = urlsplit(self.blob_sas_url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(frozen=True)
class RegisteredMedia:
    seq: int
    original_name: str
    file_path: str
    size: int | None
    duration_ms: int | None


@dataclass(frozen=True)
class PersoProgress:
    project_seq: int
    progress: int
    progress_reason: str
    has_failed: bool
    expected_remaining_minutes: int | None = None
    is_cancelable: bool = False

    @property
    def is_completed(self) -> bool:
        return self.progress_reason == "Completed" and not self.has_failed

    @property
    def is_failed(self) -> bool:
        # Perso can report progressReason "Failed" with hasFailed false: both mean failure.
        return self.has_failed or self.progress_reason == "Failed"


@dataclass(frozen=True)
class DownloadPathInfo:
    """Undocumented (see docs/perso.md, "Undocumented fields"): read only as an optimisation."""

    original_background_path: str | None = None


@dataclass(frozen=True)
class PersoProject:
    seq: int
    progress: int
    progress_reason: str
    has_failed: bool
    duration_ms: int | None
    download_path_info: DownloadPathInfo
    raw: dict = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class ScriptSentence:
    seq: int
    speaker_order_index: int
    offset_ms: int
    duration_ms: int
    original_text: str
    translated_text: str = ""


@dataclass(frozen=True)
class Script:
    sentences: list[ScriptSentence]
    speakers: list[dict]
    pages: int


@dataclass(frozen=True)
class DownloadInfo:
    flags: dict[str, bool | None]

    def has(self, flag: str) -> bool:
        return bool(self.flags.get(flag))


class _DownloadLinks:
    """A `/download` answer. TARGET_LINK_FIELDS: for each target, the fields its link may stand in,
    in the order they are tried."""

    TARGET_LINK_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {}

    def link_for(self, target: str) -> str | None:
        candidates = (getattr(self, name) for name in self.TARGET_LINK_FIELDS.get(target, ()))
        return next((link for link in candidates if link), None) or _only_link(self)


@dataclass(frozen=True)
class TranslationDownloadLinks(_DownloadLinks):
    """`/download` answer of a translation (dubbing) project."""

    video: str | None = None
    original_voice_audio: str | None = None
    voice_audio: str | None = None
    background_audio: str | None = None
    voice_with_background_audio: str | None = None
    translated_audio: str | None = None
    translated_voice: str | None = None
    original_subtitle: str | None = None
    translated_subtitle: str | None = None
    zipped: str | None = None

    TARGET_LINK_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "video": ("video",),
        "dubbingVideo": ("video",),
        "lipSyncVideo": ("video",),
        "originalSubtitle": ("original_subtitle",),
        "translatedSubtitle": ("translated_subtitle",),
        "originalVoiceAudio": ("original_voice_audio", "voice_audio"),
        "voiceAudio": ("voice_audio", "translated_voice"),
        "translatedVoice": ("translated_voice", "voice_audio"),
        "backgroundAudio": ("background_audio",),
        "voicewithBackgroundAudio": ("voice_with_background_audio",),
        "translatedAudio": ("translated_audio", "voice_with_background_audio"),
        "all": ("zipped",),
    }


@dataclass(frozen=True)
class SeparationDownloadLinks(_DownloadLinks):
    """`/download` answer of an audio-separation project: `voiceAudioDownloadLink` holds the
    per-speaker ARCHIVE here (target originalVoiceSpeakers), unlike in the translation model."""

    speakers_archive: str | None = None
    original_voice_audio: str | None = None
    background_audio: str | None = None
    zipped: str | None = None

    TARGET_LINK_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "originalVoiceSpeakers": ("speakers_archive", "zipped"),
        "originalVoiceAudio": ("original_voice_audio",),
        "backgroundAudio": ("background_audio",),
    }


def _only_link(links) -> str | None:
    """The documented fallback when the field a target's link is expected in is absent: an answer to
    one target carries one link, wherever the service put it."""
    present = {value for value in vars(links).values() if value}
    return present.pop() if len(present) == 1 else None


def unwrap_envelope(body):
    """Perso answers with `{"result": ...}` on most endpoints and raw on some: accept both."""
    if isinstance(body, dict) and "result" in body and len(body) <= 3:
        return body["result"]
    return body


def parse_translation_links(body) -> TranslationDownloadLinks:
    result = unwrap_envelope(body) or {}
    video_file = result.get("videoFile") or {}
    audio_file = result.get("audioFile") or {}
    srt_file = result.get("srtFile") or {}
    return TranslationDownloadLinks(
        video=video_file.get("videoDownloadLink"),
        original_voice_audio=audio_file.get("originalVoiceAudioDownloadLink"),
        voice_audio=audio_file.get("voiceAudioDownloadLink"),
        background_audio=audio_file.get("backgroundAudioDownloadLink"),
        voice_with_background_audio=audio_file.get("voiceWithBackgroundAudioDownloadLink"),
        translated_audio=audio_file.get("translatedAudioDownloadLink"),
        translated_voice=audio_file.get("translatedVoiceDownloadLink"),
        original_subtitle=srt_file.get("originalSubtitleDownloadLink"),
        translated_subtitle=srt_file.get("translatedSubtitleDownloadLink"),
        zipped=result.get("zippedFileDownloadLink"),
    )


def parse_separation_links(body) -> SeparationDownloadLinks:
    """A separation project's answer has the translation layout; its voiceAudioDownloadLink is the
    per-speaker archive."""
    links = parse_translation_links(body)
    return SeparationDownloadLinks(
        speakers_archive=links.voice_audio,
        original_voice_audio=links.original_voice_audio,
        background_audio=links.background_audio,
        zipped=links.zipped,
    )


def _parse_sentence(raw: dict) -> ScriptSentence:
    return ScriptSentence(
        seq=int(raw.get("seq") or 0),
        speaker_order_index=int(raw.get("speakerOrderIndex") or 0),
        offset_ms=int(raw.get("offsetMs") or 0),
        duration_ms=int(raw.get("durationMs") or 0),
        original_text=raw.get("originalText") or raw.get("originalDraftText") or "",
        translated_text=raw.get("translatedText") or "",
    )


def _parse_progress(raw: dict, project_seq: int) -> PersoProgress:
    return PersoProgress(
        project_seq=int(raw.get("projectSeq") or project_seq),
        progress=max(0, min(100, int(raw.get("progress") or 0))),
        progress_reason=raw.get("progressReason") or "",
        has_failed=bool(raw.get("hasFailed")),
        expected_remaining_minutes=raw.get("expectedRemainingTimeMinutes"),
        is_cancelable=bool(raw.get("isCancelable")),
    )


def _retry_after_sec(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


CODE_FIELDS = ("code", "detailCode", "errorCode")


def _first_code(*documents: dict) -> str:
    for document in documents:
        for name in CODE_FIELDS:
            value = document.get(name)
            # A numeric `code` is an HTTP status echo; the Perso code is a string like VT4041.
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _error_fields(response: requests.Response) -> tuple[str, str]:
    """(code, message) from an error answer of any shape: `code`, `detailCode` or `errorCode` and
    `message` at the top, under `error` or under `result`; non-JSON or empty bodies give ("", text)."""
    try:
        body = response.json()
    except ValueError:
        return "", (response.text or "")[:300]
    if not isinstance(body, dict):
        return "", str(body)[:300]
    nested = body["error"] if isinstance(body.get("error"), dict) else {}
    result = body["result"] if isinstance(body.get("result"), dict) else {}
    code = _first_code(body, nested, result)
    message = (
        body.get("message")
        or body.get("msg")
        or body.get("detail")
        or nested.get("message")
        or result.get("message")
        or (body.get("error") if isinstance(body.get("error"), str) else "")
        or ""
    )
    return str(code), str(message)[:500]


def _session() -> requests.Session:
    """One pooled session per thread (requests sessions are not guaranteed thread-safe)."""
    session = getattr(_thread_state, "session", None)
    if session is None:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _thread_state.session = session
    return session


class PersoClient:
    """Typed calls to Perso. Configuration comes from settings unless given (tests, scripts)."""

    def __init__(
        self,
        *,
        api_base_url: str | None = None,
        storage_base_url: str | None = None,
        api_key: str | None = None,
        space_seq: int | None = None,
        max_attempts: int | None = None,
        control_timeout_sec: int | None = None,
    ):
        self.api_base_url = (api_base_url or settings.PERSO_API_BASE_URL).rstrip("/")
        self.storage_base_url = (storage_base_url or settings.PERSO_STORAGE_BASE_URL).rstrip("/")
        self._api_key = api_key if api_key is not None else settings.PERSO_API_KEY
        self.space_seq = space_seq or settings.PERSO_SPACE_SEQ
        self.max_attempts = max_attempts or settings.PERSO_MAX_ATTEMPTS
        self.retry_base_sec = settings.PERSO_RETRY_BASE_MS / 1000
        self.retry_max_wait_sec = float(settings.PERSO_RETRY_MAX_WAIT_SEC)
        self.control_timeout = (settings.PERSO_CONNECT_TIMEOUT_SEC, settings.PERSO_READ_TIMEOUT_SEC)
        if control_timeout_sec is not None:
            self.control_timeout = (min(control_timeout_sec, self.control_timeout[0]), control_timeout_sec)
        self.transfer_timeout = (settings.PERSO_UPLOAD_CONNECT_TIMEOUT_SEC, settings.PERSO_UPLOAD_TIMEOUT_SEC)
        # Downloads (and every redirect they follow) stay on these hosts: the file base plus the
        # configured CDN hosts.
        self.allowed_download_hosts = {host.lower() for host in settings.PERSO_DOWNLOAD_ALLOWED_HOSTS} | {
            _host_of(self.storage_base_url),
        }

    def __repr__(self) -> str:
        return f"PersoClient(api={self.api_base_url!r}, space={self.space_seq})"

    # --- transport ------------------------------------------------------------------------------

    def _record(self, *, method: str, endpoint: str, status: int | None, started: float, error_code: str, attempt: int):
        try:
            external_call_record(
                service="perso",
                method=method,
                endpoint=endpoint,
                status_code=status,
                latency_ms=int((time.monotonic() - started) * 1000),
                error_code=error_code,
                attempt=attempt,
            )
        except DatabaseError:
            logger.warning("could not record Perso call %s %s", method, endpoint, exc_info=True)

    def _backoff_sec(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(self.retry_max_wait_sec, max(0.0, float(retry_after)))
            except ValueError:
                pass
        ceiling = min(self.retry_max_wait_sec, self.retry_base_sec * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _send(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        policy: RetryPolicy,
        timeout: tuple[float, float],
        with_key: bool = True,
        json_body=None,
        params: dict | None = None,
        headers: dict | None = None,
        body_factory=None,
        stream: bool = False,
        ok_statuses: tuple[int, ...] = (),
    ) -> requests.Response:
        """One logical call with its retries; returns the successful response or raises a PersoError."""
        request_headers = {"Accept": "application/json", **(headers or {})}
        if with_key:
            request_headers[API_KEY_HEADER] = self._api_key
        attempts = 1 if policy is RetryPolicy.NONE else self.max_attempts
        last_error: PersoError | None = None
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            data = body_factory() if body_factory else None
            try:
                response = _session().request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    headers=request_headers,
                    data=data,
                    timeout=timeout,
                    stream=stream,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                kind = "timeout" if isinstance(exc, requests.Timeout) else "connection_error"
                self._record(
                    method=method, endpoint=endpoint, status=None, started=started, error_code=kind, attempt=attempt
                )
                if policy is RetryPolicy.SUBMIT:
                    raise PersoSubmitUncertain(None, kind, f"{kind} on submit {endpoint}; outcome unknown")
                last_error = PersoTransientError(None, kind, f"{kind} calling Perso {endpoint}")
                if attempt < attempts:
                    time.sleep(self._backoff_sec(attempt, None))
                continue
            finally:
                if data is not None and hasattr(data, "close"):
                    data.close()
            status = response.status_code
            if 200 <= status < 300 or status in ok_statuses:
                self._record(
                    method=method, endpoint=endpoint, status=status, started=started, error_code="", attempt=attempt
                )
                return response
            code, message = _error_fields(response)
            retry_after = _retry_after_sec(response.headers.get("Retry-After"))
            response.close()
            self._record(
                method=method,
                endpoint=endpoint,
                status=status,
                started=started,
                error_code=code or str(status),
                attempt=attempt,
            )
            if policy is RetryPolicy.SUBMIT and (status in (502, 504) or (status >= 500 and not code)):
                raise PersoSubmitUncertain(status, code, f"submit {endpoint} answered {status}; outcome unknown")
            error = perso_error_from_response(status=status, code=code, message=message, retry_after_sec=retry_after)
            retryable = status == 429 or (status >= 500 and code != "VT5034")
            if not retryable or policy is RetryPolicy.NONE or attempt == attempts:
                raise error
            last_error = error
            time.sleep(self._backoff_sec(attempt, response.headers.get("Retry-After")))
        assert last_error is not None
        raise last_error

    def _api(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy = RetryPolicy.READ,
        json_body=None,
        params: dict | None = None,
        ok_statuses: tuple[int, ...] = (),
    ):
        response = self._send(
            method,
            self.api_base_url + path,
            endpoint=path,
            policy=policy,
            timeout=self.control_timeout,
            json_body=json_body,
            params=params,
            ok_statuses=ok_statuses,
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise PersoProtocolError(response.status_code, "", f"Perso {path} answered non-JSON")

    # --- catalogue, space, usage ----------------------------------------------------------------

    def languages(self) -> list[PersoLanguage]:
        body = unwrap_envelope(self._api("GET", f"{VT_PREFIX}/languages")) or {}
        rows = body.get("languages", []) if isinstance(body, dict) else body
        languages = []
        for row in rows or []:
            if not isinstance(row, dict) or not row.get("code"):
                continue
            languages.append(
                PersoLanguage(
                    code=str(row["code"]),
                    name=str(row.get("name") or row["code"]),
                    experiment=bool(row.get("experiment")),
                    native_name=row.get("nativeName") or row.get("native_name"),
                    supports_dubbing=bool(row.get("supportsDubbing", row.get("supports_dubbing", True))),
                    supports_subtitles=bool(row.get("supportsSubtitles", row.get("supports_subtitles", True))),
                )
            )
        return languages

    def spaces(self) -> list[dict]:
        return unwrap_envelope(self._api("GET", "/portal/api/v1/spaces")) or []

    def space(self) -> dict:
        return unwrap_envelope(self._api("GET", f"/portal/api/v1/spaces/{self.space_seq}")) or {}

    def plan_status(self) -> dict:
        return unwrap_envelope(self._api("GET", f"{VT_PREFIX}/projects/spaces/{self.space_seq}/plan/status")) or {}

    def quota_estimate(
        self,
        *,
        media_type: str,
        duration_ms: int,
        lip_sync: bool = False,
        width: int | None = None,
        height: int | None = None,
        target_language_count: int = 1,
    ) -> int:
        params = {
            "mediaType": media_type.upper(),
            "lipSync": str(lip_sync).lower(),
            "durationMs": duration_ms,
            "targetLanguageSize": target_language_count,
        }
        if width and height:
            params.update(width=width, height=height)
        body = unwrap_envelope(
            self._api("GET", f"{VT_PREFIX}/projects/spaces/{self.space_seq}/media/quota", params=params)
        )
        return int((body or {}).get("expectedUsedQuota") or 0)

    def init_queue(self) -> dict:
        """Creates the space's translation queue if missing (PUT is idempotent)."""
        body = self._api("PUT", f"{VT_PREFIX}/projects/spaces/{self.space_seq}/queue")
        if isinstance(body, dict) and "data" in body:
            return body["data"] or {}
        return unwrap_envelope(body) or {}

    # --- upload -----------------------------------------------------------------------------------

    def sas_token(self, file_name: str) -> SasToken:
        # The name is URL-encoded here once (Korean, spaces, parentheses); requests keeps %XX as is.
        path = "/file/api/upload/sas-token"
        response = self._send(
            "GET",
            f"{self.api_base_url}{path}?fileName={quote(file_name, safe='')}",
            endpoint=path,
            policy=RetryPolicy.READ,
            timeout=self.control_timeout,
        )
        body = unwrap_envelope(response.json())
        if not isinstance(body, dict) or not body.get("blobSasUrl"):
            raise PersoProtocolError(response.status_code, "", "SAS token answer without blobSasUrl")
        return SasToken(blob_sas_url=body["blobSasUrl"])

    def put_blob(self, sas_url: str, source: Path) -> None:
        """Streams the file to the blob URL: no API key, `x-ms-blob-type: BlockBlob`, and each retry
        reopens the file from byte 0 with a matching Content-Length. 403 (SAS expired) raises
        PersoAuthError; the caller fetches a new SAS."""
        source = Path(source)
        size = source.stat().st_size
        parts = urlsplit(sas_url)
        self._send(
            "PUT",
            sas_url,
            endpoint=f"blob:{parts.path}",
            policy=RetryPolicy.READ,
            timeout=self.transfer_timeout,
            with_key=False,
            headers={
                "x-ms-blob-type": "BlockBlob",
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            },
            body_factory=lambda: chaos_reader(source.open("rb"), "perso_upload"),
        )

    def register_media(self, *, media_type: str, file_url: str, file_name: str) -> RegisteredMedia:
        kind = "video" if media_type.lower() == "video" else "audio"
        body = unwrap_envelope(
            self._api(
                "PUT",
                f"/file/api/upload/{kind}",
                json_body={"spaceSeq": self.space_seq, "fileUrl": file_url, "fileName": file_name},
            )
        )
        if not isinstance(body, dict) or not body.get("seq"):
            raise PersoProtocolError(200, "", "register answer without seq")
        return RegisteredMedia(
            seq=int(body["seq"]),
            original_name=body.get("originalName") or "",
            file_path=body.get("videoFilePath") or body.get("audioFilePath") or "",
            size=body.get("size"),
            duration_ms=body.get("durationMs"),
        )

    def validate_media(
        self,
        *,
        media_type: str,
        duration_ms: int,
        original_name: str,
        extension: str,
        size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        """Raises PersoInvalidMedia (F4004/F4007/F4008/F4009/F40010/F40011) before a long upload."""
        self._api(
            "POST",
            "/file/api/v1/media/validate",
            json_body={
                "spaceSeq": self.space_seq,
                "durationMs": duration_ms,
                "originalName": original_name,
                "mediaType": media_type.lower(),
                "extension": extension if extension.startswith(".") else f".{extension}",
                "size": size,
                "width": width,
                "height": height,
                "thumbnailFilePath": None,
            },
        )

    # --- projects ---------------------------------------------------------------------------------

    def _submit(self, path: str, payload: dict) -> list[int]:
        """Sends a paid submit; when its outcome is unknown, adopts the project it may have created
        (found by its title, which callers make job-unique) and sends again only when there is none."""
        title = payload.get("title") or ""
        for send in range(1, self.max_attempts + 1):
            try:
                body = unwrap_envelope(self._api("POST", path, policy=RetryPolicy.SUBMIT, json_body=payload))
            except PersoSubmitUncertain as exc:
                if not title:
                    raise
                logger.warning("submit %s outcome unknown (%s); looking for the project it may have made", path, exc)
                adopted = self._find_submitted_projects(title)
                if adopted:
                    logger.info("adopting Perso project(s) %s created by the uncertain submit", adopted)
                    return adopted
                if send == self.max_attempts:
                    raise
                continue
            ids = (body or {}).get("startGenerateProjectIdList") if isinstance(body, dict) else None
            if not ids:
                raise PersoProtocolError(200, "", "submit answer without startGenerateProjectIdList")
            return [int(value) for value in ids]
        raise PersoSubmitUncertain(None, "", "submit outcome unknown")  # pragma: no cover - the loop returns

    def _find_submitted_projects(self, title: str) -> list[int]:
        """Projects titled `title` (looked up twice, a moment apart: a project can take a moment to be
        listed after the submit that made it)."""
        for look in range(2):
            found = self.projects_titled(title)
            if found:
                return found
            if look == 0:
                time.sleep(min(self.retry_max_wait_sec, self.retry_base_sec))
        return []

    def member_role(self) -> str:
        """Our role in the space (List Projects requires it), from the documented space banner."""
        key = (self.api_base_url, self.space_seq)
        role = _member_roles.get(key)
        if role is None:
            try:
                role = (self.space() or {}).get("memberRole") or DEFAULT_MEMBER_ROLE
            except PersoError:
                role = DEFAULT_MEMBER_ROLE
            _member_roles[key] = role
        return role

    def list_projects(self, *, offset: int = 0, size: int = PROJECT_LIST_PAGE) -> dict:
        """One page of List Projects, newest first."""
        body = unwrap_envelope(
            self._api(
                "GET",
                f"{VT_PREFIX}/projects/spaces/{self.space_seq}",
                params={
                    "memberRole": self.member_role(),
                    "size": size,
                    "offset": offset,
                    "sortType": "update_date",
                    "sortDirection": "desc",
                },
            )
        )
        return body if isinstance(body, dict) else {}

    def projects_titled(self, title: str, *, max_pages: int = PROJECT_LIST_MAX_PAGES) -> list[int]:
        """Seqs of the active projects titled exactly `title`, in submit order (oldest first)."""
        found: list[int] = []
        offset = 0
        for _ in range(max_pages):
            page = self.list_projects(offset=offset)
            rows = page.get("content") or []
            found += [int(row["seq"]) for row in rows if isinstance(row, dict) and row.get("title") == title]
            if not page.get("hasNext") or not rows:
                break
            offset = int(page.get("nextVtOffset") or offset + len(rows))
        return sorted(found)

    def submit_translate(
        self,
        *,
        media_seq: int,
        is_video: bool,
        source_language: str,
        target_languages: list[dict],
        number_of_speakers: int = 1,
        preferred_speed_type: str = "GREEN",
        with_lip_sync: bool = False,
        title: str | None = None,
    ) -> list[int]:
        """One project per target language; `target_languages` items are {code, tts_model?}."""
        payload = {
            "mediaSeq": media_seq,
            "isVideoProject": is_video,
            "sourceLanguageCode": source_language or "auto",
            "targetLanguages": [
                {"languageCode": item["code"], "ttsModel": item.get("tts_model") or "ELEVEN_V2"}
                for item in target_languages
            ],
            "numberOfSpeakers": number_of_speakers,
            "withLipSync": with_lip_sync,
            "preferredSpeedType": preferred_speed_type,
        }
        if title:
            payload["title"] = title
        return self._submit(f"{VT_PREFIX}/projects/spaces/{self.space_seq}/translate", payload)

    def submit_stt(self, *, media_seq: int, is_video: bool, title: str | None = None) -> int:
        payload: dict[str, Any] = {"mediaSeq": media_seq, "isVideoProject": is_video}
        if title:
            payload["title"] = title
        return self._submit(f"{VT_PREFIX}/projects/spaces/{self.space_seq}/stt", payload)[0]

    def submit_audio_separation(self, *, media_seq: int, is_video: bool, title: str | None = None) -> int:
        payload: dict[str, Any] = {"mediaSeq": media_seq, "isVideoProject": is_video}
        if title:
            payload["title"] = title
        return self._submit(f"{VT_PREFIX}/projects/spaces/{self.space_seq}/audio-separation", payload)[0]

    def progress(self, project_seq: int) -> PersoProgress:
        """One poll, never retried here: the poller maps its errors and keeps the 5 s floor."""
        body = unwrap_envelope(
            self._api(
                "GET", f"{VT_PREFIX}/projects/{project_seq}/space/{self.space_seq}/progress", policy=RetryPolicy.NONE
            )
        )
        if not isinstance(body, dict):
            raise PersoProtocolError(200, "", "progress answer is not an object")
        return _parse_progress(body, project_seq)

    def project(self, project_seq: int) -> PersoProject:
        body = unwrap_envelope(self._api("GET", f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}"))
        if not isinstance(body, dict):
            raise PersoProtocolError(200, "", "project answer is not an object")
        path_info = body["downloadPathInfo"] if isinstance(body.get("downloadPathInfo"), dict) else {}
        return PersoProject(
            seq=int(body.get("seq") or project_seq),
            progress=int(body.get("progress") or 0),
            progress_reason=body.get("progressReason") or "",
            has_failed=bool(body.get("hasFailed")),
            duration_ms=body.get("durationMs"),
            download_path_info=DownloadPathInfo(
                original_background_path=path_info.get("originalBackgroundPath"),
            ),
            raw=body,
        )

    def _script_pages(self, path: str, *, page_size: int | None = None) -> Script:
        sentences: list[ScriptSentence] = []
        speakers: list[dict] = []
        cursor = None
        pages = 0
        seen_cursors = set()
        while True:
            params = {}
            if cursor is not None:
                params["cursorId"] = cursor
            if page_size:
                params["size"] = page_size
            body = unwrap_envelope(self._api("GET", path, params=params)) or {}
            pages += 1
            sentences.extend(_parse_sentence(raw) for raw in body.get("sentences") or [])
            for speaker in body.get("speakers") or []:
                if speaker not in speakers:
                    speakers.append(speaker)
            cursor = body.get("nextCursorId")
            if not body.get("hasNext") or cursor is None:
                break
            if cursor in seen_cursors:
                raise PersoProtocolError(200, "", f"script pagination repeats cursor {cursor}")
            seen_cursors.add(cursor)
        return Script(sentences=sentences, speakers=speakers, pages=pages)

    def script_all(self, project_seq: int, *, page_size: int | None = None) -> Script:
        return self._script_pages(
            f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/script", page_size=page_size
        )

    def stt_script_all(self, project_seq: int, *, page_size: int | None = None) -> Script:
        return self._script_pages(
            f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/stt/script", page_size=page_size
        )

    def separation_script_all(self, project_seq: int, *, page_size: int | None = None) -> Script:
        return self._script_pages(
            f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/audio-separation/script", page_size=page_size
        )

    def download_info(self, project_seq: int) -> DownloadInfo:
        body = unwrap_envelope(
            self._api("GET", f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/download-info")
        )
        return DownloadInfo(flags=dict(body or {}))

    def _download_links_body(self, project_seq: int, target: str):
        return self._api(
            "GET", f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/download", params={"target": target}
        )

    def download_links(self, project_seq: int, target: str) -> TranslationDownloadLinks:
        """Links of a translation project (a fresh set of paths on every call)."""
        return parse_translation_links(self._download_links_body(project_seq, target))

    def separation_download_links(self, project_seq: int, target: str) -> SeparationDownloadLinks:
        """Links of an audio-separation project (its own answer model)."""
        return parse_separation_links(self._download_links_body(project_seq, target))

    def cancel(self, project_seq: int) -> None:
        self._api("POST", f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}/cancel", policy=RetryPolicy.NONE)

    def delete(self, project_seq: int) -> None:
        self._api("DELETE", f"{VT_PREFIX}/projects/{project_seq}/spaces/{self.space_seq}")

    # --- downloads --------------------------------------------------------------------------------

    def resolve_download_url(self, path_or_url: str) -> tuple[str, bool]:
        """(absolute URL, whether the API key goes with it). `/perso-storage/...` belongs to the
        storage host; absolute URLs must be on an allowed host; `//x` and `\\x` are refused."""
        value = (path_or_url or "").strip()
        if not value or value.startswith("//") or value.startswith("\\"):
            raise PersoDownloadError(None, "bad_link", "Perso gave an unusable download link")
        if value.startswith(("http://", "https://")):
            url, with_key = value, False
        elif value.startswith(STORAGE_PATH_PREFIX):
            url, with_key = self.storage_base_url + value, False
        elif value.startswith("/"):
            url, with_key = self.api_base_url + value, True
        else:
            url, with_key = urljoin(self.storage_base_url + "/", value), False
        if _host_of(url) not in self.allowed_download_hosts:
            raise PersoDownloadError(None, "host_not_allowed", f"download host {_host_of(url)!r} is not allowed")
        return url, with_key

    def _open_following_redirects(self, url: str, *, endpoint: str, with_key: bool) -> requests.Response:
        """GETs `url`, following redirects (CDNs redirect) only to allowed hosts and never with the
        API key; a redirect elsewhere is a permanent PersoDownloadError."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(
                "GET",
                url,
                endpoint=endpoint,
                policy=RetryPolicy.READ,
                timeout=self.transfer_timeout,
                with_key=with_key,
                headers={"Accept": "*/*"},
                stream=True,
                ok_statuses=REDIRECT_STATUSES,
            )
            if response.status_code not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location") or ""
            response.close()
            url = urljoin(url, location)
            host = _host_of(url)
            if not location or urlsplit(url).scheme not in ("http", "https") or host not in self.allowed_download_hosts:
                raise PersoDownloadError(
                    None, "redirect_host_not_allowed", f"download redirected to a host that is not allowed: {host!r}"
                )
            endpoint, with_key = "storage:" + urlsplit(url).path, False
        raise PersoDownloadError(None, "too_many_redirects", f"download redirected more than {MAX_REDIRECTS} times")

    def download_file(self, path_or_url: str, target_path: Path) -> int:
        """Streams a Perso file to `target_path` (via `<target>.tmp`, renamed on success); returns the
        byte count. A 404 raises PersoNotFound: the storage CDN caches 404s per path, so retrying the
        same path is pointless — ask `/download` again for a fresh link (services do)."""
        url, with_key = self.resolve_download_url(path_or_url)
        endpoint = "storage:" + urlsplit(url).path
        target_path = Path(target_path)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        temp_path = target_path.with_name(target_path.name + ".tmp")
        for attempt in range(1, self.max_attempts + 1):
            response = self._open_following_redirects(url, endpoint=endpoint, with_key=with_key)
            written = 0
            try:
                with response, temp_path.open("wb") as handle:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        handle.write(chunk)
                        if not written:
                            chaos_point("perso_download")
                        written += len(chunk)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                temp_path.unlink(missing_ok=True)
                if attempt == self.max_attempts:
                    raise PersoTransientError(None, "download_interrupted", f"download interrupted: {exc}")
                time.sleep(self._backoff_sec(attempt, None))
                continue
            expected = response.headers.get("Content-Length")
            if expected and expected.isdigit() and int(expected) != written:
                temp_path.unlink(missing_ok=True)
                if attempt == self.max_attempts:
                    raise PersoTransientError(None, "download_truncated", f"got {written} of {expected} bytes")
                continue
            temp_path.replace(target_path)
            return written
        raise PersoNotFound(404, "", "download failed")  # pragma: no cover - the loop returns or raises


def perso_client() -> PersoClient:
    """A client configured from the current settings (cheap: the HTTP pool is shared per thread)."""
    return PersoClient()
