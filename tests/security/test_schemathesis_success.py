"""Schemathesis success checks: "never 5xx" passes for a server that answers 4xx to everything, so here
every operation of the schema gets at least one well-formed request — signed in through the API
itself, with small valid media made on the fly — that must SUCCEED (2xx) and conform to the schema.
Requests are chained the way the phone uses them: sign-in → submit → the status of the job the
submit created → its downloads (a render is run to completion in between; the other kinds'
downloads use finished jobs of the same user).

Rerun: `.venv/bin/pytest tests/security/test_schemathesis_success.py -q`.
"""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import User
from apps.jobs.models import Job
from tests.render.helpers import run_render
from tests.security.test_schemathesis import OPERATIONS_WITH_INPUTS
from workers.render import stem_mix_task

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
GOOGLE_SUB = "schemathesis-success"


class Chain:
    """Calls operations by id with explicit inputs; records which succeeded."""

    def __init__(self, schema):
        self.schema = schema
        self.headers: dict[str, str] = {}
        self.succeeded: set[str] = set()

    def call(self, operation_id: str, *, expect: int = 200, **case_kwargs):
        operation = self.schema.find_operation_by_id(operation_id)
        case = operation.Case(**case_kwargs)
        response = case.call(headers=self.headers)
        assert response.status_code == expect, (operation_id, response.status_code, response.content[:500])
        case.validate_response(response, checks=CHECKS, headers=self.headers)
        self.succeeded.add(operation_id)
        return response


def _query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def chain(simulators, perso_sim, settings):
    from vibi.wsgi import application

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"),
    }
    return Chain(schemathesis.openapi.from_wsgi("/api/schema", application))


@pytest.fixture
def purge_broker():
    yield
    from vibi.celery import app

    app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_every_operation_succeeds_for_a_signed_in_user_with_valid_input(
    chain, simulators, make_media, speech_wav, make_finished_jobs, purge_broker
):
    id_token = requests.post(
        f"{simulators}/sim/google/token",
        json={"sub": GOOGLE_SUB, "email": "s@example.com", "aud": "vibi-embedded.apps.googleusercontent.com"},
        timeout=30,
    ).json()["idToken"]
    signed_in = chain.call("auth_google", body={"idToken": id_token}, media_type="application/json")
    chain.headers = {"Authorization": f"Bearer {signed_in.json()['accessToken']}"}
    user = User.objects.get(google_sub=GOOGLE_SUB)

    chain.call("languages_list")
    chain.call(
        "chat",
        body={"messages": [{"role": "user", "content": "Add subtitles in Korean"}], "locale": "en"},
        media_type="application/json",
    )

    speech = speech_wav.read_bytes()
    for feature, spec in (
        ("subtitles", {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["ko"]}),
        ("autodub", {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ko"}),
        ("separation", {"mediaType": "AUDIO", "numberOfSpeakers": 1, "sourceLanguageCode": "auto"}),
    ):
        submitted = chain.call(
            f"{feature}_submit",
            expect=202,
            body={"file": speech, "spec": json.dumps(spec)},
            media_type="multipart/form-data",
        )
        chain.call(f"{feature}_status", path_parameters={"job_id": submitted.json()["jobId"]})

    srt = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"
    chain.call(
        "subtitles_regenerate",
        expect=202,
        body={"file": srt, "spec": json.dumps({"sourceLanguageCode": "en", "targetLanguageCodes": ["ko"]})},
        media_type="multipart/form-data",
    )

    # Render: an input uploaded once, a render of it, its status, the render run, its download.
    clip = make_media("clip.mp4", seconds=2, video=True).read_bytes()
    uploaded = chain.call("render_inputs_create", body={"video": clip}, media_type="multipart/form-data")
    config = {
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0, "trimEndMs": 0}],
        "frame": {"width": 320, "height": 240, "backgroundColorHex": "#000000"},
        "quality": "low",
    }
    created = chain.call(
        "render_create",
        body={"inputId": uploaded.json()["inputId"], "config": json.dumps(config)},
        media_type="multipart/form-data",
    )
    render_id = created.json()["jobId"]
    chain.call("render_status", path_parameters={"job_id": render_id})
    assert run_render(render_id).status == "succeeded"
    chain.call("render_download", path_parameters={"job_id": render_id})

    # Downloads of finished jobs of this user; a mix of a finished separation, run, then downloaded.
    jobs = make_finished_jobs(user)
    status = chain.call("subtitles_status", path_parameters={"job_id": jobs.subtitles.public_id}).json()
    srt_url = status["translatedSrtUrls"]["en"] if "translatedSrtUrls" in status else status["originalSrtUrl"]
    chain.call("subtitles_srt_download", path_parameters={"job_id": jobs.subtitles.public_id}, query=_query_of(srt_url))
    status = chain.call("autodub_status", path_parameters={"job_id": jobs.autodub.public_id}).json()
    for operation_id, field in (
        ("autodub_audio_download", "dubbedAudioUrl"),
        ("autodub_video_download", "dubbedVideoUrl"),
    ):
        url = status[field]
        chain.call(operation_id, path_parameters={"job_id": jobs.autodub.public_id}, query=_query_of(url))
    status = chain.call("separation_status", path_parameters={"job_id": jobs.separation.public_id}).json()
    stem = status["stems"][0]
    chain.call(
        "separation_stem_download",
        path_parameters={"job_id": jobs.separation.public_id, "stem_id": stem["stemId"]},
        query=_query_of(stem["url"]),
    )
    mix = chain.call(
        "separation_mix_submit",
        expect=202,
        path_parameters={"job_id": jobs.separation.public_id},
        body={"stems": [{"stemId": stem["stemId"], "volume": 1.0}]},
        media_type="application/json",
    )
    mix_id = mix.json()["mixJobId"]
    mix_job = Job.objects.get(public_id=mix_id)
    stem_mix_task(mix_job.pk, mix_job.dispatch_seq)
    mix_status = chain.call("separation_mix_status", path_parameters={"mix_job_id": mix_id}).json()
    assert mix_status["status"] == "COMPLETED", mix_status
    chain.call(
        "separation_mix_download", path_parameters={"mix_job_id": mix_id}, query=_query_of(mix_status["downloadUrl"])
    )

    every_operation = set(OPERATIONS_WITH_INPUTS)
    assert chain.succeeded == every_operation, sorted(every_operation - chain.succeeded)
