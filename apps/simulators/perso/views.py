"""The Perso simulator's HTTP endpoints (API host /sim/perso/, storage host /sim/perso-storage/).

It speaks the documented protocol (paths and their documented HTTP methods, XP-API-KEY, spaceSeq,
envelopes, error codes — the invented ones are marked in codes.py) with the real-world deviations
described in docs/perso.md, injects faults set through `_control`, and counts what tests check
(`_counters`).
"""

import functools
import hashlib
import hmac
import json
import logging
import math
import random
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from apps.simulators.perso.engine import project_stages, project_status, projects_in_queue
from apps.simulators.perso.media import SimMediaError, generate_outputs, probe_media
from apps.simulators.perso.state import (
    DEFAULT_CONTROL,
    control_value,
    count,
    process_counters,
    project_lock,
    sim_reset,
    sim_root,
    sim_state,
)
from apps.simulators.perso.tables import toml_rows

logger = logging.getLogger(__name__)

LANGUAGES = [
    {"code": "en", "name": "English", "experiment": False},
    {"code": "ko", "name": "Korean", "experiment": False},
    {"code": "ja", "name": "Japanese", "experiment": False},
    {"code": "es", "name": "Spanish", "experiment": False},
    {"code": "fr", "name": "French", "experiment": False},
    {"code": "de", "name": "German", "experiment": False},
    {"code": "zh", "name": "Chinese", "experiment": False},
    {"code": "vi", "name": "Vietnamese", "experiment": True},
    {"code": "th", "name": "Thai", "experiment": True},
]
LANGUAGE_CODES = {row["code"] for row in LANGUAGES}
CDN_404_HEADERS = {"Cache-Control": "public, max-age=14400"}


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"status": status, "code": code, "message": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _signing_key() -> bytes:
    return hashlib.sha256(f"perso-sim:{settings.SECRET_KEY}".encode()).digest()


def _sas_signature(path: str, expires: int) -> str:
    return hmac.new(_signing_key(), f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()


def _faults(state: dict, request) -> tuple[JsonResponse | None, float | None]:
    """(the fault injected for this request, None or — when it is answered after running the
    request — the seconds to wait before answering it)."""
    control = state["control"]
    if control.get("rate_limit_burst", 0) > 0:
        control["rate_limit_burst"] -= 1
        return _too_many_requests(control.get("retry_after_sec", 1)), None
    for rule in control.get("fail_next") or []:
        method = (rule.get("method") or request.method).upper()
        if rule.get("match", "") in request.path and method == request.method and rule.get("times", 1) > 0:
            rule["times"] = rule.get("times", 1) - 1
            control["fail_next"] = [r for r in control["fail_next"] if r.get("times", 1) > 0]
            status = int(rule.get("status", 500))
            if "body" in rule:  # an error body of another shape, sent as given
                fault = JsonResponse(rule["body"], status=status, safe=False)
            elif rule.get("code") == "" and rule.get("message") is None:  # a gateway's page, no Perso code
                fault = HttpResponse(b"<html>Bad Gateway</html>", status=status, content_type="text/html")
            else:
                fault = _error(status, rule.get("code", "F5001"), rule.get("message", "injected"))
            return fault, (float(rule.get("delay_ms") or 0) / 1000 if rule.get("after") else None)
    rate = float(control.get("transient_500_rate") or 0)
    if rate and random.random() < rate:
        return _error(500, "F5001", "INTERNAL_SERVER_ERROR"), None
    return None, None


def _too_many_requests(retry_after_sec) -> JsonResponse:
    return _error(429, "TOO_MANY_REQUESTS", "Too many requests", {"Retry-After": str(retry_after_sec)})


class ErrorAnswer(Exception):
    """An error answer raised from inside an endpoint's helpers; `perso_api` answers it."""

    def __init__(self, response: JsonResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def perso_api(*methods: str):
    """Every API endpoint: the documented methods only (405 otherwise), key check, fault injection,
    slow answers and the request count."""
    allowed = tuple(method.upper() for method in methods)

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            with sim_state() as state:
                state["requests"] = state.get("requests", 0) + 1
                if request.method not in allowed:
                    count(state, "methodNotAllowed")
                    response = _error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
                    response["Allow"] = ", ".join(allowed)
                    return response
                slow_ms = int(state["control"].get("slow_ms") or 0)
                if request.headers.get("XP-API-KEY") != settings.PERSO_SIM_API_KEY:
                    return _error(401, "F4001", "Unauthorized")
                fault, after = _faults(state, request)
            if slow_ms:
                time.sleep(slow_ms / 1000)
            if fault is not None and after is None:
                return fault
            space_seq = kwargs.get("space_seq")
            if space_seq is not None and int(space_seq) != settings.PERSO_SIM_SPACE_SEQ:
                return _error(403, "VT4033", "No access to the space")
            try:
                response = view(request, *args, **kwargs)
            except ErrorAnswer as answer:
                response = answer.response
            if fault is None:
                return response
            time.sleep(after)  # e.g. longer than the client's read timeout: the client sees a timeout
            return fault

        return wrapper

    return decorate


# --- control ------------------------------------------------------------------------------------


@csrf_exempt
def control(request):
    """POST: merge the JSON into the fault/timing control document; GET: the document and counters."""
    with sim_state() as state:
        if request.method == "POST":
            updates = {key: value for key, value in _json_body(request).items() if key in DEFAULT_CONTROL}
            state["control"].update(updates)
        return JsonResponse(
            {
                "control": state["control"],
                "requests": state.get("requests", 0),
                "projects": len(state["projects"]),
                "media": len(state["media"]),
                "counters": state["counters"],
            }
        )


def counters(request):
    """GET: what tests check by the simulator's own count (see docs/perso.md, "Counters")."""
    if request.method != "GET":
        return _error(405, "METHOD_NOT_ALLOWED", "GET only")
    with sim_state(write=False) as state:
        live = sum(1 for project in state["projects"].values() if not project.get("deleted"))
        return JsonResponse(
            {
                **state["counters"],
                "projectsLive": live,
                "requests": state.get("requests", 0),
                "processPollsTooSoon": process_counters["pollsTooSoon"],
            }
        )


@csrf_exempt
def reset(request):
    if request.method != "POST":
        return _error(405, "METHOD_NOT_ALLOWED", "POST only")
    sim_reset()
    return JsonResponse({"reset": True})


# --- catalogue, spaces, usage ---------------------------------------------------------------------


@perso_api("GET")
def languages(request):
    return JsonResponse({"result": {"languages": LANGUAGES}})


def _space_banner() -> dict:
    return {
        "spaceSeq": settings.PERSO_SIM_SPACE_SEQ,
        "spaceName": "Simulated Workspace",
        "planName": "Pro",
        "tier": "team",
        "logo": None,
        "memberCount": 1,
        "seat": 10,
        "isDefaultSpaceOwned": True,
        "memberRole": "space_owner",
        "useVideoTranslatorEdit": True,
    }


@perso_api("GET")
def spaces(request):
    return JsonResponse({"result": [_space_banner()]})


@perso_api("GET")
def space_detail(request, space_seq_any: int):
    if space_seq_any != settings.PERSO_SIM_SPACE_SEQ:
        return _error(404, "PT0026", "Space subscription info not found")
    return JsonResponse({"result": _space_banner()})


@perso_api("GET")
def plan_status(request, space_seq: int):
    with sim_state(write=False) as state:
        remaining = 0 if state["control"].get("credits_exhausted") else 500000
    return JsonResponse(
        {
            "result": {
                "spaceSeq": space_seq,
                "planTier": "creator",
                "remainingQuota": {"remainingQuota": remaining},
                "resetDateTime": "2030-01-01T00:00:00Z",
                "isCancellationScheduled": False,
            }
        }
    )


@perso_api("GET")
def media_quota(request, space_seq: int):
    duration_ms = int(request.GET.get("durationMs") or 0)
    languages_count = int(request.GET.get("targetLanguageSize") or 1)
    return JsonResponse({"result": {"expectedUsedQuota": max(1, duration_ms // 1000) * languages_count}})


@perso_api("GET", "PUT")
def queue(request, space_seq: int):
    with sim_state() as state:
        count(state, "queueInits")
        state["control"]["queue_initialised"] = True
        used = projects_in_queue(state)
        maximum = control_value(state, "queue_max")
    return JsonResponse(
        {
            "success": True,
            "data": {
                "userSeq": 1,
                "planName": "Pro",
                "usedQueueCount": used,
                "maxQueueCount": maximum,
                "redZoneQueueCount": 0,
            },
        }
    )


# --- upload --------------------------------------------------------------------------------------


@perso_api("GET")
def sas_token(request):
    file_name = request.GET.get("fileName")
    if not file_name:
        return _error(400, "F4003", "Missing required parameter: fileName")
    with sim_state() as state:
        ttl = int(control_value(state, "sas_ttl_sec"))
        if state["control"].get("sas_expire_next", 0) > 0:
            state["control"]["sas_expire_next"] -= 1
            ttl = -60
    expires = int(time.time()) + ttl
    # Signed and stored under the decoded path (what Django hands the PUT view), sent URL-encoded.
    folder = f"perso-upload/{uuid.uuid4().hex}/"
    signature = _sas_signature(folder + file_name, expires)
    base = request.build_absolute_uri(reverse("sim-perso-blob", kwargs={"blob_path": "x"}))[:-1]
    expiry_text = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    url = f"{base}{folder}{quote(file_name, safe='')}"
    return JsonResponse(
        {
            "blobSasUrl": f"{url}?sv=2024-11-04&se={expires}&sr=b&sp=rw&sig={signature}",
            "expirationDatetime": expiry_text,
        }
    )


def _blob_file(blob_path: str) -> Path:
    folder = sim_root() / "blobs"
    target = (folder / hashlib.sha256(blob_path.encode()).hexdigest()).resolve()
    return target


@csrf_exempt
def blob_put(request, blob_path: str):
    """Storage host: the Azure-style blob PUT of a SAS URL (no API key allowed)."""
    if request.method != "PUT":
        return HttpResponse(status=405)
    if request.headers.get("XP-API-KEY"):
        return HttpResponse("The API key must not be sent to blob storage", status=400)
    if request.headers.get("x-ms-blob-type") != "BlockBlob":
        return HttpResponse("x-ms-blob-type: BlockBlob is required", status=400)
    try:
        expires = int(request.GET.get("se", "0"))
    except ValueError:
        expires = 0
    if not hmac.compare_digest(request.GET.get("sig", ""), _sas_signature(blob_path, expires)):
        return HttpResponse("AuthenticationFailed", status=403)
    if time.time() > expires:
        return HttpResponse("AuthenticationFailed: Signed expiry time has passed", status=403)
    target = _blob_file(blob_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".part")
    with temp.open("wb") as handle:
        while chunk := request.read(1024 * 1024):
            handle.write(chunk)
    temp.replace(target)
    file_name = blob_path.split("/", 2)[-1]
    if file_name.lower().endswith(".txt"):
        with sim_state() as state:
            state["sidecars"][file_name[:-4]] = str(target)
    return HttpResponse(status=201)


def _register(request, media_type: str):
    body = _json_body(request)
    file_url, file_name = body.get("fileUrl"), body.get("fileName")
    if not file_url or not file_name or body.get("spaceSeq") is None:
        return _error(400, "F4003", "Missing required parameter")
    if int(body["spaceSeq"]) != settings.PERSO_SIM_SPACE_SEQ:
        return _error(403, "VT4033", "No access to the space")
    path = unquote(urlsplit(file_url).path)
    marker = "/perso-upload/"
    if marker not in path:
        return _error(400, "F4003", "fileUrl is not a blob of this storage")
    blob_path = "perso-upload/" + path.split(marker, 1)[1]
    blob = _blob_file(blob_path)
    if not blob.exists():
        return _error(400, "F4003", "No file was uploaded at fileUrl")
    facts = probe_media(blob)
    if facts is None or (media_type == "video" and not facts["hasVideo"]) or not facts["hasAudio"]:
        return _error(400, "F4007", f"Invalid {media_type} type")
    size = blob.stat().st_size
    with sim_state() as state:
        control_doc = state["control"]
        if size > control_doc["max_size_bytes"]:
            return _error(400, "F4004", "File size limit exceeded")
        if facts["durationMs"] > control_doc["max_duration_ms"]:
            return _error(400, "F4008", "Video duration limit exceeded")
        if facts["durationMs"] < control_doc["min_duration_ms"]:
            return _error(400, "F4009", "Video duration too short (min 5s)")
        if media_type == "video":
            if max(facts["width"] or 0, facts["height"] or 0) > 7999:
                return _error(400, "F40010", "Video resolution limit exceeded")
            if min(facts["width"] or 0, facts["height"] or 0) < 201:
                return _error(400, "F40011", "Video resolution too low")
        seq = state["nextMediaSeq"]
        state["nextMediaSeq"] += 1
        decoded_name = unquote(file_name)
        stem = decoded_name.rsplit(".", 1)[0]
        state["media"][str(seq)] = {
            "seq": seq,
            "type": media_type,
            "path": str(blob),
            "originalName": stem,
            "fileName": decoded_name,
            "size": size,
            "sidecar": state["sidecars"].get(stem, ""),
            **facts,
        }
    stored_path = f"/perso-storage/media/{seq}/{quote(decoded_name)}"
    answer = {
        "seq": seq,
        "originalName": stem,
        "thumbnailFilePath": f"/perso-storage/media/{seq}/thumbnail.webp",
        "size": size,
        "durationMs": facts["durationMs"],
    }
    answer["videoFilePath" if media_type == "video" else "audioFilePath"] = stored_path
    return JsonResponse(answer)


@perso_api("PUT")
def register_video(request):
    return _register(request, "video")


@perso_api("PUT")
def register_audio(request):
    return _register(request, "audio")


@perso_api("POST")
def validate_media(request):
    body = _json_body(request)
    required = ("spaceSeq", "durationMs", "originalName", "mediaType", "extension")
    if any(body.get(name) in (None, "") for name in required):
        return _error(400, "F4003", "Missing required parameter")
    with sim_state(write=False) as state:
        control_doc = dict(state["control"])
    if body["extension"].lower() not in (".mp4", ".webm", ".mov", ".mp3", ".wav"):
        return _error(400, "F4007", "Invalid video/audio type")
    if (body.get("size") or 0) > control_doc["max_size_bytes"]:
        return _error(400, "F4004", "File size limit exceeded")
    if body["durationMs"] > control_doc["max_duration_ms"]:
        return _error(400, "F4008", "Video duration limit exceeded")
    if body["durationMs"] < control_doc["min_duration_ms"]:
        return _error(400, "F4009", "Video duration too short (min 5s)")
    if body["mediaType"] == "video":
        width, height = body.get("width"), body.get("height")
        if not width or not height:
            return _error(400, "F4003", "width and height are required for video")
        if max(width, height) > 7999:
            return _error(400, "F40010", "Video resolution limit exceeded")
        if min(width, height) < 201:
            return _error(400, "F40011", "Video resolution too low")
    return JsonResponse({"status": True})


# --- projects ------------------------------------------------------------------------------------


def _create_project(request, space_seq: int, kind: str):
    with sim_state() as state:
        count(state, "submits")
    body = _json_body(request)
    if body.get("mediaSeq") is None or body.get("isVideoProject") is None:
        return _error(400, "VT4000", "Missing required parameter")
    if kind == "translate":
        source = body.get("sourceLanguageCode")
        if source in (None, ""):
            return _error(400, "VT4003", "sourceLanguageCode must not be empty (use 'auto')")
        if source != "auto" and source not in LANGUAGE_CODES:
            return _error(404, "VT4043", "Source language not found")
        targets = body.get("targetLanguages") or [
            {"languageCode": code} for code in body.get("targetLanguageCodes") or []
        ]
        if not targets:
            return _error(400, "VT4000", "targetLanguages is required")
        for item in targets:
            if item.get("languageCode") not in LANGUAGE_CODES:
                return _error(404, "VT4044", "Target language not found")
            if item.get("ttsModel") not in (None, "ELEVEN_V2", "ELEVEN_V3"):
                return _error(400, "VT4009", "Target language and TTS model pair is not supported")
        if body.get("preferredSpeedType") not in ("GREEN", "RED"):
            return _error(400, "VT4000", "preferredSpeedType is required")
    else:
        targets = [{"languageCode": ""}]
    now = time.time()
    with sim_state() as state:
        control_doc = state["control"]
        media = state["media"].get(str(body["mediaSeq"]))
        if media is None:
            return _error(404, "VT4042", "Video not found")
        if not control_doc.get("queue_initialised"):
            return _error(404, "VT4047", "space queue not found")
        if control_doc.get("credits_exhausted"):
            return _error(402, "VT4021", "Insufficient credits")
        if projects_in_queue(state, now=now) + len(targets) > int(control_value(state, "queue_max")):
            return _error(503, "VT5034", "Queue full")
        project_ids = []
        for item in targets:
            seq = state["nextProjectSeq"]
            state["nextProjectSeq"] += 1
            state["projects"][str(seq)] = {
                "seq": seq,
                "kind": kind,
                "mediaSeq": media["seq"],
                "isVideo": bool(body.get("isVideoProject")),
                "title": body.get("title") or media["originalName"],
                "sourceLanguage": body.get("sourceLanguageCode") or "",
                "targetLanguage": item.get("languageCode") or "",
                "numberOfSpeakers": int(body.get("numberOfSpeakers") or 1),
                "withLipSync": bool(body.get("withLipSync")),
                "createdAt": now,
                "stepSec": float(control_value(state, "step_sec")),
                "failAtPercent": control_doc.get("project_fail_at_percent"),
                "failMode": control_doc.get("fail_mode") or "hasFailed",
                "storageLagSec": float(control_doc.get("storage_lag_sec") or 0),
            }
            project_ids.append(seq)
            count(state, "projectsCreated")
    return JsonResponse({"result": {"startGenerateProjectIdList": project_ids}}, status=201)


@perso_api("POST")
def submit_translate(request, space_seq: int):
    return _create_project(request, space_seq, "translate")


@perso_api("POST")
def submit_stt(request, space_seq: int):
    return _create_project(request, space_seq, "stt")


@perso_api("POST")
def submit_separation(request, space_seq: int):
    return _create_project(request, space_seq, "separation")


MEMBER_ROLES = {"enterprise_owner", "space_owner", "space_manager", "space_member", "individual", "developer"}


@perso_api("GET")
def list_projects(request, space_seq: int):
    """List Projects: the active (not deleted) projects of the space, one page."""
    query = request.GET
    try:
        size, offset = int(query["size"]), int(query["offset"])
    except (KeyError, ValueError):
        return _error(400, "VT4000", "Missing required parameter: size, offset")
    if query.get("memberRole") not in MEMBER_ROLES or query.get("sortDirection") not in ("asc", "desc"):
        return _error(400, "VT4000", "Missing required parameter: memberRole, sortDirection")
    with sim_state(write=False) as state:
        projects = [project for project in state["projects"].values() if not project.get("deleted")]
        media = state["media"]
    if query.get("sortType") == "title":
        projects.sort(key=lambda project: project["title"])
    else:
        projects.sort(key=lambda project: project["createdAt"])
    if query["sortDirection"] == "desc":
        projects.reverse()
    page = projects[offset : offset + size]
    content = []
    for project in page:
        status = project_status(project)
        content.append(
            {
                "seq": project["seq"],
                "title": project["title"],
                "projectType": "VIDEO" if project["isVideo"] else "AUDIO",
                "durationMs": media.get(str(project["mediaSeq"]), {}).get("durationMs"),
                "sourceLanguage": {"code": project["sourceLanguage"], "name": project["sourceLanguage"]},
                "targetLanguage": {"code": project["targetLanguage"], "name": project["targetLanguage"]},
                "progress": status.progress,
                "hasFailed": status.has_failed,
                "status": "created",
                "projectGenerationType": "DUBBING",
                "createDate": _iso(project["createdAt"]),
            }
        )
    has_next = offset + size < len(projects)
    return JsonResponse(
        {
            "result": {
                "totalCount": len(projects),
                "hasNext": has_next,
                "pageSize": size,
                "nextVtOffset": offset + size if has_next else None,
                "content": content,
            }
        }
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _project(state: dict, project_seq: int) -> dict:
    """The project, else 404 (unknown or deleted) as an ErrorAnswer."""
    project = state["projects"].get(str(project_seq))
    if project is None:
        raise ErrorAnswer(_error(404, "VT4041", "Project not found"))
    if project.get("deleted"):
        raise ErrorAnswer(_error(404, "VT4045", "Project deleted"))
    return project


@perso_api("GET")
def progress(request, project_seq: int, space_seq: int):
    with sim_state() as state:
        project = _project(state, project_seq)
        # "Do not poll more frequently than every 5 seconds to avoid rate limiting."
        now = time.time()
        floor = float(control_value(state, "poll_min_interval_sec"))
        last = state["lastPollAt"].get(str(project_seq))
        if last is not None and now - last < floor:
            count(state, "pollsTooSoon")
            logger.warning("Perso simulator: project %s polled %.2fs after its last poll", project_seq, now - last)
            return _too_many_requests(max(1, math.ceil(floor - (now - last))))
        state["lastPollAt"][str(project_seq)] = now
        count(state, "polls")
    status = project_status(project)
    total_sec = len(project_stages(project)) * project["stepSec"]
    remaining = max(0, round((1 - status.progress / 100) * total_sec / 60))
    return JsonResponse(
        {
            "result": {
                "projectSeq": project_seq,
                "progress": status.progress,
                "progressReason": status.progress_reason,
                "hasFailed": status.has_failed,
                "speedType": "fast",
                "expectedRemainingTimeMinutes": remaining,
                "isCancelable": status.progress_reason == "Enqueue Pending",
            }
        }
    )


def _outputs(project: dict) -> dict | None:
    """The project's output manifest (files made on first need), or None while not ready."""
    status = project_status(project)
    if not status.is_completed or time.time() < status.completed_at + project.get("storageLagSec", 0):
        return None
    with sim_state(write=False) as state:
        media = dict(state["media"][str(project["mediaSeq"])])
    sidecar_text = ""
    if media.get("sidecar") and Path(media["sidecar"]).exists():
        sidecar_text = Path(media["sidecar"]).read_text(encoding="utf-8", errors="replace")
    folder = sim_root() / "outputs" / str(project["seq"])
    with project_lock(project["seq"]):
        return generate_outputs(project=project, media=media, sidecar_text=sidecar_text, folder=folder)


def _storage_path(project: dict, file_name: str) -> str:
    """A fresh relative path on the storage host for one output (a new nonce on every answer)."""
    return f"/perso-storage/projects/{project['seq']}/{secrets.token_hex(8)}/{file_name}"


def _project_outputs(project_seq: int) -> tuple[dict, dict | None]:
    """(the project, its output manifest or None while not ready); an ErrorAnswer when the project is
    unknown or deleted (404) or its outputs could not be made (500)."""
    with sim_state(write=False) as state:
        project = _project(state, project_seq)
    try:
        return project, _outputs(project)
    except SimMediaError as exc:
        raise ErrorAnswer(_error(500, "F5001", f"INTERNAL_SERVER_ERROR: {exc}"[:300])) from exc


@perso_api("GET", "DELETE")
def project_detail(request, project_seq: int, space_seq: int):
    with sim_state() as state:
        project = _project(state, project_seq)
        if request.method == "DELETE":
            project["deleted"] = True
            count(state, "deletes")
            return HttpResponse(status=204)
        state["envelopeFlip"] = state.get("envelopeFlip", 0) + 1
        wrapped = state["envelopeFlip"] % 2 == 0
    status = project_status(project)
    try:
        manifest = _outputs(project)
    except SimMediaError as exc:
        logger.warning("simulated outputs failed: %s", exc)
        manifest = None
    path_info = {}
    if manifest and "originalBackground" in manifest["files"]:
        files = manifest["files"]
        path_info = {
            "originalVoicePath": _storage_path(project, files["originalVoice"]),
            "originalBackgroundPath": _storage_path(project, files["originalBackground"]),
            "originalSubBackgroundPath": _storage_path(project, files["originalSubBackground"]),
        }
    with sim_state(write=False) as state:
        media = state["media"].get(str(project["mediaSeq"]), {})
    body = {
        "seq": project_seq,
        "projectType": "VIDEO" if project["isVideo"] else "AUDIO",
        "title": project["title"],
        "isEditable": True,
        "durationMs": media.get("durationMs"),
        "sourceLanguage": {"code": project["sourceLanguage"], "name": project["sourceLanguage"]},
        "targetLanguage": {"code": project["targetLanguage"], "name": project["targetLanguage"]},
        "progress": status.progress,
        "progressReason": status.progress_reason,
        "hasFailed": status.has_failed,
        "isLipSync": project["withLipSync"],
        "isLinkShared": False,
        "projectGenerationType": "DUBBING",
        "thumbnailUrl": f"/perso-storage/projects/{project_seq}/thumbnail.webp",
        "createDate": _iso(project["createdAt"]),
        "updateDate": _iso(project["createdAt"]),
        # Not in the documented Get Project answer; the real service sends it for separation projects.
        "downloadPathInfo": path_info or None,
    }
    # The real service sends project info sometimes with and sometimes without the envelope.
    return JsonResponse({"result": body} if wrapped else body)


def _download_flags(project: dict, *, ready: bool) -> dict:
    kind, video = project["kind"], project["isVideo"]
    translate, separation = kind == "translate", kind == "separation"
    flags = {
        "hasPreviousProjectVideo": False,
        "hasTranslatedVideo": translate and video,
        "hasLipSyncVideo": translate and video and project["withLipSync"],
        "hasOriginalSubtitle": True,
        "hasTranslatedSubtitle": translate,
        "hasOriginalVoiceOnly": translate or separation,
        "hasTranslatedVoice": translate,
        "hasOriginalBackground": translate or separation,
        "hasTranslatedBackground": translate,
        "hasTranslateAudio": translate or None,
        "hasTranslatedVoiceWithBackground": translate or None,
        "hasZipDownload": False,
        "hasOriginalSpeakerAudioCollection": separation or translate,
        "hasSpeakerSegmentExcel": False,
        "hasSpeakerSegmentWithTranslationExcel": False,
    }
    if not ready:
        return {name: (False if value is not None else None) for name, value in flags.items()}
    return flags


@perso_api("GET")
def download_info(request, project_seq: int, space_seq: int):
    project, manifest = _project_outputs(project_seq)
    # Documented raw (no envelope).
    return JsonResponse(_download_flags(project, ready=manifest is not None))


# What `/download` answers per target (downloads.toml): target → (section of the result, the link's
# field in it, the output manifest's file key).
DOWNLOAD_TARGETS_FILE = Path(__file__).with_name("downloads.toml")
TRANSLATION_TARGETS = toml_rows(DOWNLOAD_TARGETS_FILE, "translation", (str, str, str))
SEPARATION_TARGETS = toml_rows(DOWNLOAD_TARGETS_FILE, "separation", (str, str, str))


@perso_api("GET")
def download(request, project_seq: int, space_seq: int):
    target = request.GET.get("target")
    if not target:
        return _error(400, "VT4000", "Missing required parameter: target")
    project, manifest = _project_outputs(project_seq)
    if manifest is None:
        return _error(409, "VT4092", "Files are not ready")
    table = SEPARATION_TARGETS if project["kind"] == "separation" else TRANSLATION_TARGETS
    if project["kind"] == "translate" and target in ("originalVoiceSpeakers", "originalSubBackground"):
        table = SEPARATION_TARGETS
    entry = table.get(target)
    if entry is None or entry[2] not in manifest["files"]:
        return _error(400, "VT4002", f"Unexpected Download value: {target}")
    section, field, file_key = entry
    link = _storage_path(project, manifest["files"][file_key])
    return JsonResponse({"result": {section: {field: link}}})


@perso_api("POST")
def cancel(request, project_seq: int, space_seq: int):
    with sim_state() as state:
        project = _project(state, project_seq)
        status = project_status(project)
        if status.progress_reason != "Enqueue Pending":
            return _error(400, "VT4004", "Cancellation not allowed")
        project["cancelled"] = True
        project["cancelledProgress"] = status.progress
    return JsonResponse({"result": {}}, status=201)


def _script(request, project_seq: int, *, kind_label: str, enveloped: bool, with_translation: bool):
    project, manifest = _project_outputs(project_seq)
    with sim_state(write=False) as state:
        page_cap = state["control"].get("script_page_size")
    sentences = manifest["sentences"] if manifest else []
    size = int(request.GET.get("size") or 10000)
    if page_cap:
        size = min(size, int(page_cap))
    cursor = int(request.GET.get("cursorId") or 0)
    rows = []
    for index, sentence in enumerate(sentences):
        seq = project_seq * 10000 + index + 1
        if seq <= cursor:
            continue
        row = {
            "seq": seq,
            "externalScriptSeq": f"pvtv-{project_seq}-{index + 1}",
            "speakerOrderIndex": sentence["speaker"],
            "offsetMs": sentence["offsetMs"],
            "durationMs": sentence["durationMs"],
            "originalDraftText": sentence["text"],
            "originalText": sentence["text"],
        }
        if with_translation:
            row["translatedText"] = sentence.get("translatedText", "")
            row["audioUrl"] = ""
        if kind_label == "separation":
            row["audioUrl"] = ""  # the real service leaves these empty
        rows.append(row)
    page = rows[:size]
    has_next = len(rows) > size
    speakers = [
        {"speakerOrderIndex": speaker, "externalSpeakerSeq": f"pvsp-{project_seq}-{speaker}"}
        for speaker in sorted({s["speaker"] for s in sentences})
    ]
    body = {"hasNext": has_next, "sentences": page, "speakers": speakers}
    if has_next:
        body["nextCursorId"] = page[-1]["seq"]
    return JsonResponse({"result": body} if enveloped else body)


@perso_api("GET")
def script(request, project_seq: int, space_seq: int):
    return _script(request, project_seq, kind_label="translate", enveloped=True, with_translation=True)


@perso_api("GET")
def stt_script(request, project_seq: int, space_seq: int):
    return _script(request, project_seq, kind_label="stt", enveloped=False, with_translation=False)


@perso_api("GET")
def separation_script(request, project_seq: int, space_seq: int):
    return _script(request, project_seq, kind_label="separation", enveloped=False, with_translation=False)


def api_host_storage_path(request, rest: str):
    """A /perso-storage path asked on the API host: 404, empty body, cached for hours by the CDN."""
    response = HttpResponse(b"", status=404)
    for name, value in CDN_404_HEADERS.items():
        response[name] = value
    return response


# --- storage host downloads ----------------------------------------------------------------------------


@csrf_exempt
def storage_file(request, rest: str):
    """GET /perso-storage/projects/<seq>/<nonce>/<file>: served without any key."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if request.headers.get("XP-API-KEY"):
        return HttpResponse("The API key must not be sent to storage", status=400)
    full_path = f"/perso-storage/{rest}"
    with sim_state() as state:
        redirect_host = state["control"].get("storage_redirect_host")
        if redirect_host and not request.GET.get("redirected"):
            # A CDN in front of storage: 302 to the same path on another host.
            port = request.get_port()
            location = f"{request.scheme}://{redirect_host}:{port}{request.path}?redirected=1"
            response = HttpResponse(status=302)
            response["Location"] = location
            return response
        if full_path in state["cdn404"]:
            cached_404 = True
        elif state["control"].get("storage_404_next", 0) > 0:
            state["control"]["storage_404_next"] -= 1
            state["cdn404"].append(full_path)
            cached_404 = True
        else:
            cached_404 = False
        media_entries = state["media"]
        parts = rest.split("/")
        media_path = None
        if len(parts) >= 2 and parts[0] == "media" and parts[1] in media_entries:
            media_path = media_entries[parts[1]]["path"]
    if cached_404:
        return api_host_storage_path(request, rest)
    if media_path:
        return FileResponse(Path(media_path).open("rb"))
    if len(parts) != 4 or parts[0] != "projects" or not parts[1].isdigit():
        return api_host_storage_path(request, rest)
    folder = (sim_root() / "outputs" / parts[1]).resolve()
    target = (folder / unquote(parts[3])).resolve()
    if not target.is_relative_to(folder) or not target.is_file() or target.suffix in (".json", ".lock"):
        return api_host_storage_path(request, rest)
    return FileResponse(target.open("rb"), filename=target.name)
