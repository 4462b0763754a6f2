"""Access control and hostile input: other users' jobs, tampered download tokens, path traversal, SSRF.

- Every job-scoped endpoint answers 404 for another user's job id (never 403, never 200).
- Signed downloads: a token for another job or resource, an expired, truncated or re-dated token → 403;
  no token → 401; a valid URL opened under another user's Bearer → 404; the owner's player (no Bearer) → 200.
- Traversal strings in stem ids, SRT languages, job ids, upload file names and multipart part names never
  reach a file outside storage.
- No endpoint fetches a URL the client supplies (a loopback canary server must see zero requests).
"""

import json
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from apps.core.signing import sign_token
from apps.dubbing.selectors import AUDIO_RESOURCE_ID, VIDEO_RESOURCE_ID
from apps.jobs.models import Job
from apps.separation.selectors import MIX_RESOURCE_ID, signed_stem_url
from apps.subtitles.selectors import srt_resource_id

pytestmark = pytest.mark.django_db

CANARY_TEXT = "CANARY-OUTSIDE-STORAGE"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"error", "detail"} and isinstance(body["error"], str)
    if code is not None:
        assert body["error"] == code, body
    return body


# --- another user's job ids -------------------------------------------------------------------------------

MIX_BODY = {"stems": [{"stemId": "speaker_0", "volume": 1.0}]}

BEARER_ENDPOINTS = {
    "subtitles status": ("get", lambda jobs: f"/api/v2/subtitles/{jobs.subtitles.public_id}", 200),
    "autodub status": ("get", lambda jobs: f"/api/v2/autodub/{jobs.autodub.public_id}", 200),
    "separation status": ("get", lambda jobs: f"/api/v2/separate/{jobs.separation.public_id}", 200),
    "mix submit": ("post", lambda jobs: f"/api/v2/separate/{jobs.separation.public_id}/mix", 202),
    "mix status": ("get", lambda jobs: f"/api/v2/separate/mix/{jobs.mix.public_id}", 200),
    "render status": ("get", lambda jobs: f"/api/v2/render/{jobs.render.public_id}/status", 200),
    "render download": ("get", lambda jobs: f"/api/v2/render/{jobs.render.public_id}/download", 200),
}


@pytest.mark.parametrize("endpoint", sorted(BEARER_ENDPOINTS))
def test_another_users_job_is_not_found(endpoint, alice, alice_client, bob_client, make_finished_jobs):
    method, path_of, owner_status = BEARER_ENDPOINTS[endpoint]
    path = path_of(make_finished_jobs(alice))
    call = getattr(bob_client, method)
    intruder = call(path, MIX_BODY, format="json") if method == "post" else call(path)
    assert_error(intruder, 404, "not_found")
    owner = getattr(alice_client, method)(path, MIX_BODY, format="json") if method == "post" else alice_client.get(path)
    assert owner.status_code == owner_status, owner.content[:300]


@pytest.mark.parametrize("kind", ["subtitles", "autodub", "separate"])
def test_another_users_render_is_not_a_source(kind, alice, bob_client, make_finished_jobs):
    render_id = make_finished_jobs(alice).render.public_id
    spec = {
        "mediaType": "VIDEO",
        "sourceLanguageCode": "en",
        "targetLanguageCode": "ko",
        "editedRenderJobId": render_id,
    }
    response = bob_client.post(f"/api/v2/{kind}", {"spec": json.dumps(spec)}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "edited_render_not_ready"
    assert render_id not in json.dumps([job.spec for job in Job.objects.filter(owner__username="google:bob-sub")])


# --- signed download tokens -------------------------------------------------------------------------------


def _signed_download_urls(client, jobs) -> dict[str, str]:
    """The owner's download URLs, exactly as the status endpoints hand them out."""
    separation = client.get(f"/api/v2/separate/{jobs.separation.public_id}").json()
    subtitles = client.get(f"/api/v2/subtitles/{jobs.subtitles.public_id}").json()
    autodub = client.get(f"/api/v2/autodub/{jobs.autodub.public_id}").json()
    mix = client.get(f"/api/v2/separate/mix/{jobs.mix.public_id}").json()
    stems = {stem["stemId"]: stem["url"] for stem in separation["stems"]}
    return {
        "stem": stems["speaker_0"],
        "mix": mix["downloadUrl"],
        "srt original": subtitles["originalSrtUrl"],
        "srt translation": subtitles["translatedSrtUrlsByLang"]["en"],
        "dubbed audio": autodub["dubbedAudioUrl"],
        "dubbed video": autodub["dubbedVideoUrl"],
    }


def _resource_of(download: str, jobs) -> tuple[str, str]:
    """(job id, resource id) a download's token is bound to."""
    return {
        "stem": (jobs.separation.public_id, "speaker_0"),
        "mix": (jobs.mix.public_id, MIX_RESOURCE_ID),
        "srt original": (jobs.subtitles.public_id, srt_resource_id("original")),
        "srt translation": (jobs.subtitles.public_id, srt_resource_id("en")),
        "dubbed audio": (jobs.autodub.public_id, AUDIO_RESOURCE_ID),
        "dubbed video": (jobs.autodub.public_id, VIDEO_RESOURCE_ID),
    }[download]


def _with_token(url: str, token: str | None) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items() if name != "token"}
    if token is not None:
        query["token"] = token
    return parts.path + ("?" + "&".join(f"{name}={quote(value)}" for name, value in query.items()) if query else "")


DOWNLOADS = ["stem", "mix", "srt original", "srt translation", "dubbed audio", "dubbed video"]


@pytest.mark.parametrize("download", DOWNLOADS)
def test_signed_download_serves_the_owner_and_no_one_else(
    download, alice, alice_client, bob_client, client, make_finished_jobs
):
    url = _signed_download_urls(alice_client, make_finished_jobs(alice))[download]
    player = client.get(url)  # a media player: no Bearer, the token alone
    assert player.status_code == 200
    assert b"".join(player.streaming_content)
    assert alice_client.get(url).status_code == 200
    assert_error(bob_client.get(url), 404, "not_found")  # a leaked URL under another user's Bearer


def _tampered_tokens(token: str, job_id: str, resource_id: str, other_job_id: str) -> dict[str, str]:
    expires_at, signature = token.split(".")
    later = int(expires_at) + 3600
    return {
        "wrong job": sign_token(job_id=other_job_id, resource_id=resource_id, expires_at=int(expires_at)),
        "wrong resource": sign_token(job_id=job_id, resource_id=resource_id + "x", expires_at=int(expires_at)),
        "expired": sign_token(job_id=job_id, resource_id=resource_id, expires_at=int(time.time()) - 1),
        "truncated": token[:-5],
        "signature only": signature,
        "swapped expiry": f"{later}.{signature}",
        "other users token": "",  # filled in below from bob's own job of the same kind
    }


@pytest.mark.parametrize("download", DOWNLOADS)
def test_tampered_tokens_are_403_and_a_missing_token_is_401(
    download, alice, bob, alice_client, bob_client, client, make_finished_jobs
):
    alice_jobs, bob_jobs = make_finished_jobs(alice), make_finished_jobs(bob)
    url = _signed_download_urls(alice_client, alice_jobs)[download]
    token = parse_qs(urlsplit(url).query)["token"][0]
    job_id, resource_id = _resource_of(download, alice_jobs)
    other_job_id = _resource_of(download, bob_jobs)[0]
    tampered = _tampered_tokens(token, job_id, resource_id, other_job_id)
    bob_url = _signed_download_urls(bob_client, bob_jobs)[download]
    tampered["other users token"] = parse_qs(urlsplit(bob_url).query)["token"][0]  # valid, for bob's job
    for name, bad_token in tampered.items():
        response = client.get(_with_token(url, bad_token))
        assert response.status_code == 403, (name, response.status_code)
        assert_error(response, 403, "invalid_token")
    assert_error(client.get(_with_token(url, None)), 401, "token_required")
    assert_error(client.get(_with_token(url, "")), 401, "token_required")
    assert client.get(url).status_code == 200  # the untouched URL still works


def test_a_token_for_one_stem_does_not_open_another(alice, alice_client, client, make_finished_jobs):
    jobs = make_finished_jobs(alice)
    speaker_url = signed_stem_url(job=jobs.separation, stem_id="speaker_0")
    token = parse_qs(urlsplit(speaker_url).query)["token"][0]
    path = f"/api/v2/separate/{jobs.separation.public_id}/stem/background?token={token}"
    assert_error(client.get(path), 403, "invalid_token")


# --- path traversal ------------------------------------------------------------------------------------

TRAVERSALS = [
    "../../canary.txt",
    "../../../canary.txt",
    "..%2F..%2Fcanary.txt",
    "%2e%2e%2f%2e%2e%2fcanary.txt",
    "..\\..\\canary.txt",
    "/etc/passwd",
    "jobs/../../canary.txt",
    "....//....//canary.txt",
    "speaker_0/../../../canary.txt",
]


@pytest.fixture
def canary(tmp_path, settings):
    """A file next to MEDIA_ROOT (and one at the filesystem root's usual target): reading it = escaping storage."""
    canary_file = tmp_path / "canary.txt"
    canary_file.write_text(CANARY_TEXT)
    return canary_file


def _body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("traversal", TRAVERSALS)
def test_traversal_in_stem_id_lang_and_job_id_never_escapes_storage(
    traversal, canary, alice, alice_client, client, make_finished_jobs
):
    jobs = make_finished_jobs(alice)
    separation, subtitles = jobs.separation.public_id, jobs.subtitles.public_id
    # Worst case: the attacker holds a valid signature for the hostile resource id.
    stem_token = sign_token(job_id=separation, resource_id=traversal, expires_at=int(time.time()) + 600)
    lang_token = sign_token(job_id=subtitles, resource_id=srt_resource_id(traversal), expires_at=int(time.time()) + 600)
    attempts = [
        client.get(f"/api/v2/separate/{separation}/stem/{quote(traversal, safe='')}?token={quote(stem_token)}"),
        client.get(f"/api/v2/separate/{separation}/stem/{traversal}?token={quote(stem_token)}"),
        client.get(f"/api/v2/subtitles/{subtitles}/srt?lang={quote(traversal, safe='')}&token={quote(lang_token)}"),
        alice_client.get(f"/api/v2/separate/{quote(traversal, safe='')}"),
        alice_client.get(f"/api/v2/render/{quote(traversal, safe='')}/download"),
        alice_client.get(f"/api/v2/render/{quote(traversal, safe='')}/status"),
        alice_client.post(
            f"/api/v2/separate/{separation}/mix", {"stems": [{"stemId": traversal, "volume": 1}]}, format="json"
        ),
    ]
    for response in attempts:
        assert response.status_code in (400, 403, 404), (response.status_code, traversal)
        assert CANARY_TEXT.encode() not in _body_of(response)
        assert_error(response, response.status_code)


@pytest.mark.parametrize(
    "filename", ["../../canary-upload.mp3", "..\\..\\canary-upload.mp3", "/tmp/canary-upload.mp3", "%2e%2e%2fx.mp3"]
)
def test_upload_file_names_never_place_a_file_outside_storage(filename, tmp_path, settings, alice_client, tiny_audio):
    before = {path for path in tmp_path.rglob("*")}
    with open(tiny_audio, "rb") as handle:
        uploaded = _named_upload(handle.read(), filename)
    spec = {"mediaType": "AUDIO", "sourceLanguageCode": "en"}
    response = alice_client.post("/api/v2/subtitles", {"file": uploaded, "spec": json.dumps(spec)}, format="multipart")
    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["jobId"])
    storage_key = job.spec["source"]["storageKey"]
    assert storage_key.startswith(f"jobs/{job.public_id}/") and ".." not in storage_key
    media_root = (tmp_path / "media").resolve()
    created = {path for path in tmp_path.rglob("*")} - before
    assert created and all(path.resolve().is_relative_to(media_root) for path in created), created
    assert not any("canary-upload" in str(path) for path in created if path.is_file() and path.parent == media_root)


def _named_upload(content: bytes, filename: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(filename, content, content_type="audio/mpeg")


def test_render_part_names_and_file_keys_cannot_name_paths(tmp_path, alice_client, tiny_audio, make_media):
    video = make_media("clip.mp4", seconds=1, video=True)
    before = {path for path in tmp_path.rglob("*")}
    config = {
        "dubClips": [{"audioFileKey": "../../canary-part", "startMs": 0, "durationMs": 500}],
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 1000}],
    }
    with open(video, "rb") as video_handle, open(tiny_audio, "rb") as audio_handle:
        response = alice_client.post(
            "/api/v2/render",
            {"video_0": video_handle, "../../canary-part": audio_handle, "config": json.dumps(config)},
            format="multipart",
        )
    media_root = (tmp_path / "media").resolve()
    created = {path for path in tmp_path.rglob("*")} - before
    assert all(path.resolve().is_relative_to(media_root) for path in created), created
    if response.status_code == 200:
        job = Job.objects.get(public_id=response.json()["jobId"])
        stored = json.dumps(job.spec)
        assert "../" not in stored.replace("../../canary-part", "")  # the key may be echoed, never a stored path
    else:
        assert_error(response, response.status_code)


def test_archive_entries_cannot_escape_the_extraction_folder(tmp_path):
    import io
    import tarfile

    from apps.separation.archives import archive_extract_files

    archive_path = tmp_path / "speakers.tar"
    with tarfile.open(archive_path, "w") as archive:
        for name in ["../../canary-archive.wav", "/tmp/canary-archive-abs.wav", "ok/speaker_0.wav", "..%2fx.wav"]:
            data = b"RIFF" + b"\0" * 64
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("speaker_1.wav")
        link.type, link.linkname = tarfile.SYMTYPE, "../../canary.txt"
        archive.addfile(link)
    destination = tmp_path / "out" / "deep"
    destination.mkdir(parents=True)
    contents = archive_extract_files(archive_path=archive_path, dest_dir=destination)
    written = [path for path in tmp_path.rglob("*") if path.is_file() and path != archive_path]
    assert written and all(path.resolve().is_relative_to(destination.resolve()) for path in written), written
    assert {entry.entry_name for entry in contents.files} <= {"ok/speaker_0.wav", "..%2fx.wav"}
    assert not list(tmp_path.rglob("canary-archive*"))


# --- SSRF ------------------------------------------------------------------------------------------------


def _render_with_stem_url(client, video_path, audio_url: str):
    config = {
        "dubClips": [],
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 1000}],
        "separationDirectives": [
            {
                "id": "d1",
                "rangeStartMs": 0,
                "rangeEndMs": 800,
                "numberOfSpeakers": 1,
                "muteOriginalSegmentAudio": True,
                "selections": [{"stemId": "speaker_0", "audioUrl": audio_url, "volume": 1.0}],
            }
        ],
    }
    with open(video_path, "rb") as handle:
        return client.post("/api/v2/render", {"video_0": handle, "config": json.dumps(config)}, format="multipart")


def test_render_never_fetches_a_stem_url(request_recorder, alice, alice_client, make_finished_jobs, make_media):
    video = make_media("clip.mp4", seconds=1, video=True)
    jobs = make_finished_jobs(alice)
    for foreign_url in [
        request_recorder.url("/"),
        request_recorder.url("/speaker_0.wav"),
        request_recorder.url(f"/api/v2/separate/{jobs.separation.public_id}/stem/speaker_0?token=forged"),
        f"http://127.0.0.1:{request_recorder.port}/api/v2/separate/sep-1/stem/speaker_0",
        f"file:///{request_recorder.port}/etc/passwd",
    ]:
        assert_error(_render_with_stem_url(alice_client, video, foreign_url), 400, "invalid_stem_url")
    # One of our signed stem URLs behind a foreign host is resolved from its path and token, never fetched.
    signed = request_recorder.url(signed_stem_url(job=jobs.separation, stem_id="speaker_0"))
    accepted = _render_with_stem_url(alice_client, video, signed)
    assert accepted.status_code == 200, accepted.content
    assert request_recorder.requests == []


@pytest.mark.django_db(transaction=True)
def test_no_endpoint_fetches_a_client_supplied_url(request_recorder, simulators, perso_sim, alice_client, tiny_audio):
    url = request_recorder.url("/fetch-me")
    with open(tiny_audio, "rb") as handle:
        audio = handle.read()
    spec_with_urls = {
        "mediaType": "AUDIO",
        "sourceLanguageCode": "en",
        "targetLanguageCode": "ko",
        "targetLanguageCodes": ["ko"],
        "editedRenderJobId": url,
        "sourceUrl": url,
        "fileUrl": url,
    }
    for path in ["/api/v2/subtitles", "/api/v2/autodub", "/api/v2/separate"]:
        response = alice_client.post(path, {"spec": json.dumps(spec_with_urls)}, format="multipart")
        assert response.status_code in (400, 404), (path, response.content)
        response = alice_client.post(
            path,
            {
                "file": _named_upload(audio, url.replace("/", "_")),
                "spec": json.dumps({**spec_with_urls, "editedRenderJobId": None}),
            },
            format="multipart",
        )
        assert response.status_code in (202, 400), (path, response.content)
    chat = alice_client.post(
        "/api/v2/chat",
        {
            "messages": [{"role": "user", "content": f"Please download {url} and add it"}],
            "projectContext": {
                "segments": [{"id": "s1", "startMs": 0, "endMs": 1000, "sourceUri": url}],
                "separationStems": [{"stemId": "speaker_0", "label": url, "volume": 1, "selected": True}],
                "videoDurationMs": 1000,
            },
            "locale": "en",
        },
        format="json",
    )
    assert chat.status_code == 200, chat.content
    sign_in = alice_client.post("/api/v2/auth/google", {"idToken": url}, format="json")
    assert sign_in.status_code in (400, 401)
    from vibi.celery import app

    app.control.purge()  # accepted submits were queued; no worker runs here
    assert request_recorder.requests == []


# --- values Postgres cannot hold -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/subtitles/sub-%00",
        "/api/v2/autodub/dub-%00/audio?token=1.abc",
        "/api/v2/separate/sep-%00x",
        "/api/v2/separate/mix/mix-%00",
        "/api/v2/render/rnd-%00/status",
        "/api/v2/subtitles/sub-1/srt?lang=%00&token=1.abc",
    ],
)
def test_nul_characters_in_ids_are_a_client_error(path, alice_client):
    response = alice_client.get(path)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


@pytest.mark.parametrize("kind", ["subtitles", "autodub", "separate"])
def test_nul_characters_in_a_spec_are_a_client_error(kind, alice_client):
    spec = {
        "mediaType": "AUDIO",
        "sourceLanguageCode": "en",
        "targetLanguageCode": "ko",
        "editedRenderJobId": "rnd-\u0000",
    }
    response = alice_client.post(f"/api/v2/{kind}", {"spec": json.dumps(spec)}, format="multipart")
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)
