"""A second, minimal fake Perso written ONLY from the Perso API documentation (restated in
docs/perso.md): its JSON examples, its error tables and its stated rules. No field the documentation
does not show is sent, so a client flow that completes against it depends on nothing undocumented.

Where the documentation is silent the fake takes the plainest reading and says so here:
- Error bodies are not shown in the documentation: errors carry a documented code and its table text,
  in turn as `{"code", "message"}`, `{"detailCode", "message"}` and `{"message"}` only (the client must
  read all three, and the HTTP status alone).
- "space queue not found" has no documented status or code: 400 with that message only.
- Which `/download` answer field holds which target is shown for some targets only; the others use
  the documented field nearest in meaning (`originalVoiceAudio` → `voiceAudioDownloadLink`,
  `translatedAudio` → `voiceWithBackgroundAudioDownloadLink`, `originalVoiceSpeakers` and `all` →
  `zippedFileDownloadLink`). Each answer carries only the link of the asked target.
- Project outputs are the uploaded file itself (audio and video targets), a one-cue SRT and a zip of it
  (archives): the fake checks the protocol, not the media.
- Polling: "Do not poll more frequently than every 5 seconds to avoid rate limiting" → 429 below
  `poll_floor_sec`.

Run it with `DocFake.start()`: one threaded HTTP server on a free loopback port, the API under
`/api`, the file base under `/files` on `localhost` (a different host name than the API's 127.0.0.1).
"""

import io
import json
import re
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "pk_live_docfake"
SPACE_SEQ = 1
VT = "/api/video-translator/api/v1"
LANGUAGES = [
    {"code": "en", "name": "English", "experiment": False},
    {"code": "ko", "name": "Korean", "experiment": False},
    {"code": "ja", "name": "Japanese", "experiment": True},
]
# From the documented progressReason list, in order.
STAGES = {
    "translate": ["Enqueue Pending", "Uploading", "Transcribing", "Translating", "Generating Voice"],
    "stt": ["Enqueue Pending", "Uploading", "Transcribing"],
    "separation": ["Enqueue Pending", "Uploading", "Transcribing"],
}
TARGET_FIELDS = {
    "video": ("videoFile", "videoDownloadLink"),
    "dubbingVideo": ("videoFile", "videoDownloadLink"),
    "lipSyncVideo": ("videoFile", "videoDownloadLink"),
    "originalSubtitle": ("srtFile", "originalSubtitleDownloadLink"),
    "translatedSubtitle": ("srtFile", "translatedSubtitleDownloadLink"),
    "originalVoiceAudio": ("audioFile", "voiceAudioDownloadLink"),
    "voiceAudio": ("audioFile", "voiceAudioDownloadLink"),
    "backgroundAudio": ("audioFile", "backgroundAudioDownloadLink"),
    "voicewithBackgroundAudio": ("audioFile", "voiceWithBackgroundAudioDownloadLink"),
    "translatedAudio": ("audioFile", "voiceWithBackgroundAudioDownloadLink"),
    "all": (None, "zippedFileDownloadLink"),
    "originalVoiceSpeakers": (None, "zippedFileDownloadLink"),
}
ERROR_TEXT = {
    "F4001": "Unauthorized",
    "F4003": "Missing required parameter",
    "VT4041": "Project not found",
    "VT4042": "Video not found",
    "VT4043": "Source language not found",
    "VT4044": "Target language not found",
    "VT4045": "Project deleted",
    "VT4009": "Target language and TTS model pair is not supported",
    "VT4033": "No access to the space",
}


@dataclass
class DocFakeState:
    step_sec: float = 0.2
    poll_floor_sec: float = 1.0
    expire_next_sas: int = 0
    fail_next_project: bool = False
    queue_ready: bool = False
    next_media: int = 456
    next_project: int = 101
    blobs: dict = field(default_factory=dict)  # blob path -> bytes
    media: dict = field(default_factory=dict)  # seq -> {"blob", "name", "video"}
    projects: dict = field(default_factory=dict)  # seq -> project
    last_poll: dict = field(default_factory=dict)
    polls_too_soon: int = 0
    submits: int = 0
    deletes: int = 0
    error_shape: int = 0
    requests: list = field(default_factory=list)  # (method, path)


class DocFake:
    def __init__(self):
        self.state = DocFakeState()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.api_base = f"http://127.0.0.1:{self.port}/api"
        self.file_base = f"http://localhost:{self.port}/files"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @classmethod
    def start(cls) -> "DocFake":
        fake = cls()
        fake.thread.start()
        return fake

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def live_projects(self) -> int:
        return sum(1 for project in self.state.projects.values() if not project["deleted"])

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._dispatch(self)

            def do_PUT(self):
                fake._dispatch(self)

            def do_POST(self):
                fake._dispatch(self)

            def do_DELETE(self):
                fake._dispatch(self)

            def do_PATCH(self):
                fake._dispatch(self)

        return Handler

    # --- plumbing ---------------------------------------------------------------------------------

    def _send(self, handler, status: int, body=None, *, raw: bytes | None = None, headers: dict | None = None):
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if body is not None:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _error(self, handler, status: int, code: str = "", message: str = ""):
        message = message or ERROR_TEXT.get(code, "")
        shape = self.state.error_shape % 3
        self.state.error_shape += 1
        if shape == 0 and code:
            body = {"code": code, "message": message}
        elif shape == 1 and code:
            body = {"detailCode": code, "message": message}
        else:
            body = {"message": message}
        self._send(handler, status, body)

    def _body(self, handler) -> dict:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _dispatch(self, handler):
        parts = urlsplit(handler.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self.lock:
            self.state.requests.append((handler.command, parts.path))
            if parts.path.startswith("/files/"):
                return self._files(handler, parts.path, query)
            if handler.headers.get("XP-API-KEY") != API_KEY:
                return self._error(handler, 401, "F4001")
            for method, pattern, view in self.routes:
                match = re.fullmatch(pattern, parts.path)
                if match:
                    if method != handler.command and not (method == "PUT|GET" and handler.command in ("PUT", "GET")):
                        continue
                    space = match.groupdict().get("space")
                    if space is not None and int(space) != SPACE_SEQ:
                        return self._error(handler, 403, "VT4033")
                    return view(self, handler, query, **{k: v for k, v in match.groupdict().items() if k != "space"})
            if any(re.fullmatch(pattern, parts.path) for _, pattern, _ in self.routes):
                return self._send(handler, 405, None)
            return self._send(handler, 404, None)

    # --- file API -----------------------------------------------------------------------------------

    def sas_token(self, handler, query):
        name = query.get("fileName")
        if not name:
            return self._error(handler, 400, "F4003")
        expired = self.state.expire_next_sas > 0
        self.state.expire_next_sas -= 1 if expired else 0
        expires = int(time.time()) + (-60 if expired else 1800)
        path = f"/files/container/dir/{secrets.token_hex(8)}_{name}"
        self.state.blobs[path] = None
        sas = f"sv=2024-11-04&se={expires}&sr=b&sp=rw&sig={secrets.token_hex(8)}"
        return self._send(
            handler,
            200,
            {
                "blobSasUrl": f"http://localhost:{self.port}{path}?{sas}",
                "expirationDatetime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(expires)),
            },
        )

    def _files(self, handler, path: str, query: dict):
        if handler.command == "PUT":
            if handler.headers.get("XP-API-KEY") or handler.headers.get("x-ms-blob-type") != "BlockBlob":
                return self._send(handler, 400, None)
            if path not in self.state.blobs or int(query.get("se", "0")) < time.time():
                length = int(handler.headers.get("Content-Length") or 0)
                handler.rfile.read(length)
                return self._send(handler, 403, None)
            length = int(handler.headers.get("Content-Length") or 0)
            self.state.blobs[path] = handler.rfile.read(length)
            return self._send(handler, 201, None)
        if handler.command != "GET":
            return self._send(handler, 405, None)
        content = self.state.blobs.get(path)
        if content is None:
            return self._send(handler, 404, None)
        return self._send(handler, 200, raw=content, headers={"Content-Type": "application/octet-stream"})

    def register(self, handler, query, kind: str):
        body = self._body(handler)
        if body.get("spaceSeq") is None or not body.get("fileUrl") or not body.get("fileName"):
            return self._error(handler, 400, "F4003")
        blob = urlsplit(body["fileUrl"]).path
        if self.state.blobs.get(blob) is None:
            return self._error(handler, 400, "F4003")
        seq = self.state.next_media
        self.state.next_media += 1
        self.state.media[seq] = {"blob": blob, "video": kind == "video"}
        name = body["fileName"].rsplit(".", 1)[0]
        answer = {
            "seq": seq,
            "originalName": name,
            f"{kind}FilePath": blob,
            "thumbnailFilePath": blob + ".webp",
            "size": len(self.state.blobs[blob]),
            "durationMs": 30000,
        }
        return self._send(handler, 200, answer)

    def validate(self, handler, query):
        body = self._body(handler)
        if any(body.get(name) in (None, "") for name in ("spaceSeq", "durationMs", "originalName", "mediaType")):
            return self._error(handler, 400, "F4003")
        return self._send(handler, 200, {"status": True})

    # --- catalogue, space, usage ----------------------------------------------------------------------

    def languages(self, handler, query):
        return self._send(handler, 200, {"result": {"languages": LANGUAGES}})

    def space(self, handler, query, seq: str):
        banner = {
            "spaceSeq": int(seq),
            "spaceName": "My Workspace",
            "planName": "Pro",
            "tier": "team",
            "logo": "https://...",
            "memberCount": 5,
            "seat": 10,
            "isDefaultSpaceOwned": True,
            "memberRole": "space_owner",
            "useVideoTranslatorEdit": True,
        }
        return self._send(handler, 200, {"result": banner})

    def queue(self, handler, query):
        self.state.queue_ready = True
        data = {"userSeq": 12345, "planName": "Free", "usedQueueCount": 0, "maxQueueCount": 10, "redZoneQueueCount": 0}
        return self._send(handler, 200, {"success": True, "data": data})

    # --- projects ---------------------------------------------------------------------------------------

    def _create(self, handler, kind: str):
        self.state.submits += 1
        body = self._body(handler)
        if body.get("mediaSeq") is None or body.get("isVideoProject") is None:
            return self._error(handler, 400, "F4003")
        if int(body["mediaSeq"]) not in self.state.media:
            return self._error(handler, 404, "VT4042")
        targets = [""]
        if kind == "translate":
            codes = {row["code"] for row in LANGUAGES}
            source = body.get("sourceLanguageCode")
            if source != "auto" and source not in codes:
                return self._error(handler, 404, "VT4043")
            targets = [item.get("languageCode") for item in body.get("targetLanguages") or []]
            if not targets or any(code not in codes for code in targets):
                return self._error(handler, 404, "VT4044")
            if body.get("preferredSpeedType") not in ("GREEN", "RED"):
                return self._error(handler, 400, "F4003")
            if not self.state.queue_ready:
                return self._error(handler, 400, message="space queue not found")
        ids = []
        for target in targets:
            seq = self.state.next_project
            self.state.next_project += 1
            self.state.projects[seq] = {
                "seq": seq,
                "kind": kind,
                "media": int(body["mediaSeq"]),
                "title": body.get("title") or "my_video",
                "target": target,
                "created": time.time(),
                "fails": self.state.fail_next_project,
                "deleted": False,
            }
            ids.append(seq)
        self.state.fail_next_project = False
        return self._send(handler, 201, {"result": {"startGenerateProjectIdList": ids}})

    def translate(self, handler, query):
        return self._create(handler, "translate")

    def stt(self, handler, query):
        return self._create(handler, "stt")

    def separation(self, handler, query):
        return self._create(handler, "separation")

    def _project(self, handler, seq: str):
        project = self.state.projects.get(int(seq))
        if project is None:
            self._error(handler, 404, "VT4041")
            return None
        if project["deleted"]:
            self._error(handler, 404, "VT4045")
            return None
        return project

    def _status(self, project) -> tuple[int, str, bool]:
        stages = STAGES[project["kind"]]
        elapsed = time.time() - project["created"]
        total = self.state.step_sec * len(stages)
        if project["fails"] and elapsed >= total / 2:
            return 50, "Failed", True
        if elapsed >= total:
            return 100, "Completed", False
        return int(100 * elapsed / total), stages[int(elapsed / self.state.step_sec)], False

    def progress(self, handler, query, seq: str):
        project = self._project(handler, seq)
        if project is None:
            return None
        now = time.time()
        last = self.state.last_poll.get(project["seq"])
        if last is not None and now - last < self.state.poll_floor_sec:
            self.state.polls_too_soon += 1
            return self._send(handler, 429, None, headers={"Retry-After": "5"})
        self.state.last_poll[project["seq"]] = now
        progress, reason, failed = self._status(project)
        body = {
            "projectSeq": project["seq"],
            "progress": progress,
            "progressReason": reason,
            "hasFailed": failed,
            "speedType": "fast",
            "expectedRemainingTimeMinutes": 0,
            "isCancelable": reason == "Enqueue Pending",
        }
        return self._send(handler, 200, {"result": body})

    def project_or_delete(self, handler, query, seq: str):
        project = self._project(handler, seq)
        if project is None:
            return None
        if handler.command == "DELETE":
            project["deleted"] = True
            self.state.deletes += 1
            return self._send(handler, 204, None)
        progress, reason, failed = self._status(project)
        body = {
            "seq": project["seq"],
            "projectType": "VIDEO" if self.state.media[project["media"]]["video"] else "AUDIO",
            "title": project["title"],
            "isEditable": True,
            "durationMs": 30000,
            "sourceLanguage": {"code": "en", "name": "English"},
            "targetLanguage": {"code": project["target"] or "en", "name": "Korean"},
            "progress": progress,
            "progressReason": reason,
            "hasFailed": failed,
            "isLipSync": False,
            "isLinkShared": False,
            "projectGenerationType": "DUBBING",
            "thumbnailUrl": "https://...",
            "createDate": "2026-01-15T10:30:00Z",
            "updateDate": "2026-01-15T11:00:00Z",
        }
        return self._send(handler, 200, {"result": body})

    def list_projects(self, handler, query):
        if any(name not in query for name in ("memberRole", "size", "offset", "sortDirection")):
            return self._error(handler, 400, "F4003")
        rows = [project for project in self.state.projects.values() if not project["deleted"]]
        rows.sort(key=lambda project: project["created"], reverse=query["sortDirection"] == "desc")
        size, offset = int(query["size"]), int(query["offset"])
        page = rows[offset : offset + size]
        content = [
            {
                "seq": project["seq"],
                "title": project["title"],
                "projectType": "AUDIO",
                "durationMs": 30000,
                "sourceLanguage": {"code": "en", "name": "English"},
                "targetLanguage": {"code": project["target"] or "en", "name": "Korean"},
                "progress": self._status(project)[0],
                "hasFailed": self._status(project)[2],
                "status": "created",
                "projectGenerationType": "DUBBING",
                "createDate": "2026-01-15T10:00:00Z",
            }
            for project in page
        ]
        has_next = offset + size < len(rows)
        body = {"totalCount": len(rows), "hasNext": has_next, "pageSize": size, "nextVtOffset": offset + size}
        return self._send(handler, 200, {"result": {**body, "content": content}})

    def _sentences(self, with_audio: bool) -> list[dict]:
        sentence = {
            "seq": 1,
            "externalScriptSeq": "pvtv-e1045225d769af98305367b722c1adfb",
            "speakerOrderIndex": 1,
            "offsetMs": 0,
            "durationMs": 1000,
            "originalDraftText": "Hello, world!",
            "originalText": "Hello, world!",
        }
        if with_audio:
            sentence["audioUrl"] = "/perso-storage/audio.mp3"
        return [sentence]

    def _raw_script(self, handler, seq: str, *, with_audio: bool):
        if self._project(handler, seq) is None:
            return None
        speakers = [{"speakerOrderIndex": 1, "externalSpeakerSeq": "pvtv-e1045225d769af98305367b722c1adfb"}]
        body = {"hasNext": False, "nextCursorId": 1, "sentences": self._sentences(with_audio), "speakers": speakers}
        return self._send(handler, 200, body)

    def stt_script(self, handler, query, seq: str):
        return self._raw_script(handler, seq, with_audio=False)

    def separation_script(self, handler, query, seq: str):
        return self._raw_script(handler, seq, with_audio=True)

    def script(self, handler, query, seq: str):
        if self._project(handler, seq) is None:
            return None
        sentence = {
            "seq": 1,
            "speakerOrderIndex": 0,
            "offsetMs": 0,
            "durationMs": 3500,
            "originalText": "Hello, welcome.",
            "translatedText": "...",
            "audioUrl": "https://...",
            "matchingRate": {"level": 3, "levelType": "GOOD"},
            "rewrite": {"speed": "normal", "current": 120},
        }
        body = {
            "hasNext": False,
            "retranslateAvailable": True,
            "sentences": [sentence],
            "speakers": [{"speakerOrderIndex": 0, "externalSpeakerSeq": "spk_001"}],
        }
        return self._send(handler, 200, {"result": body})

    def _flags(self, project) -> dict:
        done = self._status(project)[1] == "Completed"
        translate, separation = project["kind"] == "translate", project["kind"] == "separation"
        video = self.state.media[project["media"]]["video"]
        return {
            "hasPreviousProjectVideo": False,
            "hasTranslatedVideo": done and translate and video,
            "hasLipSyncVideo": False,
            "hasOriginalSubtitle": done,
            "hasTranslatedSubtitle": done and translate,
            "hasOriginalVoiceOnly": done and (translate or separation),
            "hasTranslatedVoice": done and translate,
            "hasOriginalBackground": done and (translate or separation),
            "hasTranslatedBackground": done and translate,
            "hasTranslateAudio": (done and translate) if translate else None,
            "hasTranslatedVoiceWithBackground": (done and translate) if translate else None,
            "hasZipDownload": done,
            "hasOriginalSpeakerAudioCollection": done and separation,
            "hasSpeakerSegmentExcel": False,
            "hasSpeakerSegmentWithTranslationExcel": False,
        }

    def download_info(self, handler, query, seq: str):
        project = self._project(handler, seq)
        if project is None:
            return None
        return self._send(handler, 200, self._flags(project))

    def download(self, handler, query, seq: str):
        project = self._project(handler, seq)
        if project is None:
            return None
        target = query.get("target")
        if target not in TARGET_FIELDS:
            return self._error(handler, 400, "F4003")
        source = self.state.blobs[self.state.media[project["media"]]["blob"]]
        if target in ("originalSubtitle", "translatedSubtitle"):
            content = b"1\n00:00:00,000 --> 00:00:01,000\nHello, world!\n"
        elif target in ("all", "originalVoiceSpeakers"):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as bundle:
                bundle.writestr("speaker_1.wav", source)
            content = buffer.getvalue()
        else:
            content = source
        path = f"/files/perso-storage/{project['seq']}/{secrets.token_hex(6)}/{target}"
        self.state.blobs[path] = content
        section, name = TARGET_FIELDS[target]
        link = f"http://localhost:{self.port}{path}"
        result = {name: link} if section is None else {section: {name: link}}
        return self._send(handler, 200, {"result": result})

    PROJECT = VT + r"/projects/(?P<seq>\d+)/spaces/(?P<space>\d+)"
    routes = [
        ("GET", r"/api/file/api/upload/sas-token", sas_token),
        ("PUT", r"/api/file/api/upload/(?P<kind>video|audio)", register),
        ("POST", r"/api/file/api/v1/media/validate", validate),
        ("GET", VT + r"/languages", languages),
        ("GET", r"/api/portal/api/v1/spaces/(?P<seq>\d+)", space),
        ("PUT|GET", VT + r"/projects/spaces/(?P<space>\d+)/queue", queue),
        ("POST", VT + r"/projects/spaces/(?P<space>\d+)/translate", translate),
        ("POST", VT + r"/projects/spaces/(?P<space>\d+)/stt", stt),
        ("POST", VT + r"/projects/spaces/(?P<space>\d+)/audio-separation", separation),
        ("GET", VT + r"/projects/spaces/(?P<space>\d+)", list_projects),
        ("GET", VT + r"/projects/(?P<seq>\d+)/space/(?P<space>\d+)/progress", progress),
        ("GET", PROJECT, project_or_delete),
        ("DELETE", PROJECT, project_or_delete),
        ("GET", PROJECT + "/script", script),
        ("GET", PROJECT + "/stt/script", stt_script),
        ("GET", PROJECT + "/audio-separation/script", separation_script),
        ("GET", PROJECT + "/download-info", download_info),
        ("GET", PROJECT + "/download", download),
    ]
