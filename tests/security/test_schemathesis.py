"""Schemathesis against the project's own OpenAPI schema (`/api/schema`), in-process through Django's WSGI app.

Every operation, authenticated with a real Bearer token, gets EXAMPLES_PER_OPERATION generated requests
(positive and negative data, plus requests that reach a real finished job of the caller with a valid signed
token; derandomized, so a run is repeatable). No answer may be a 5xx; every 4xx must be the error shape
`{"error": str, "detail"?: str}` as JSON (never an HTML page); and every answer must match what the schema
documents for the operation (status code, content type, body schema).

Rerun: `.venv/bin/pytest tests/security/test_schemathesis.py -q -s` (-s prints the outcomes per operation).
"""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.api import SignInThrottle
from apps.accounts.services import access_token_issue
from apps.core.throttling import SubmitRateThrottle
from apps.dubbing.selectors import dubbed_urls
from apps.separation.selectors import signed_mix_download_url, signed_stem_url
from apps.subtitles.selectors import signed_srt_url

# Hypothesis keeps caches under a home folder (default: ./.hypothesis in the checkout); keep them in this
# run's data folder instead.
set_hypothesis_home_dir(str(settings.DATA_DIR / "hypothesis"))

EXAMPLES_PER_OPERATION = 60
UNLIMITED = "1000000/min"


def _operations_with_inputs() -> dict[str, bool]:
    """operationId → whether it takes any input; read at collection time from the generator behind /api/schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        operation["operationId"]: bool(operation.get("parameters") or operation.get("requestBody"))
        for path in schema["paths"].values()
        for operation in path.values()
    }


OPERATIONS_WITH_INPUTS = _operations_with_inputs()


@pytest.fixture
def api_schema(simulators, perso_sim):
    """The schema as the phone's developers see it, fetched from /api/schema through the WSGI app."""
    from vibi.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema", application)


@pytest.fixture
def bearer_headers(alice) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token_issue(user=alice).token}"}


def _token_query(signed_url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(signed_url).query).items()}


@pytest.fixture
def seeded_inputs(alice, make_finished_jobs) -> dict[str, dict]:
    """Fixed path and query parameters that reach a real finished job of the caller (with a valid signed
    token where the endpoint takes one), so generated requests also exercise the found-and-ready paths."""
    jobs = make_finished_jobs(alice)
    separation, mix = jobs.separation.public_id, jobs.mix.public_id
    subtitles, autodub, render = jobs.subtitles.public_id, jobs.autodub.public_id, jobs.render.public_id
    audio_url, video_url = dubbed_urls(job=jobs.autodub)
    return {
        "separation_status": {"path_parameters": {"job_id": separation}},
        "separation_mix_submit": {"path_parameters": {"job_id": separation}},
        "separation_stem_download": {
            "path_parameters": {"job_id": separation, "stem_id": "speaker_0"},
            "query": _token_query(signed_stem_url(job=jobs.separation, stem_id="speaker_0")),
        },
        "separation_mix_status": {"path_parameters": {"mix_job_id": mix}},
        "separation_mix_download": {
            "path_parameters": {"mix_job_id": mix},
            "query": _token_query(signed_mix_download_url(mix_job=jobs.mix)),
        },
        "subtitles_status": {"path_parameters": {"job_id": subtitles}},
        "subtitles_srt_download": {
            "path_parameters": {"job_id": subtitles},
            "query": _token_query(signed_srt_url(job=jobs.subtitles, lang="en")),
        },
        "autodub_status": {"path_parameters": {"job_id": autodub}},
        "autodub_audio_download": {"path_parameters": {"job_id": autodub}, "query": _token_query(audio_url)},
        "autodub_video_download": {"path_parameters": {"job_id": autodub}, "query": _token_query(video_url)},
        "render_status": {"path_parameters": {"job_id": render}},
        "render_download": {"path_parameters": {"job_id": render}},
    }


@pytest.fixture
def unthrottled(monkeypatch):
    """Throttles would turn most generated submits into 429s and hide what the submit code does."""
    rates = {"submit": UNLIMITED, "chat": UNLIMITED, "sign_in": UNLIMITED}
    for throttle_class in (SubmitRateThrottle, ScopedRateThrottle, SignInThrottle):
        monkeypatch.setattr(throttle_class, "THROTTLE_RATES", rates)


@pytest.fixture
def purge_broker():
    """Accepted submits enqueue their first stage on commit; nothing consumes them here."""
    yield
    from vibi.celery import app

    app.control.purge()


def error_shape_problem(response) -> str | None:
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/json"):
        return f"content type {content_type!r}, body {response.content[:200]!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"body is not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return f"no string 'error' in {body!r}"
    if set(body) - {"error", "detail"}:
        return f"unexpected keys {sorted(set(body) - {'error', 'detail'})} in {body!r}"
    if "detail" in body and not isinstance(body["detail"], str):
        return f"'detail' is not a string in {body!r}"
    return None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS_WITH_INPUTS))
def test_operation_never_answers_5xx_and_errors_keep_the_shape(
    operation_id, api_schema, bearer_headers, seeded_inputs, unthrottled, purge_broker
):
    operation = api_schema.find_operation_by_id(operation_id)
    strategies = [
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    ]
    if operation_id in seeded_inputs:
        strategies.append(operation.as_strategy(schemathesis.GenerationMode.POSITIVE, **seeded_inputs[operation_id]))
    strategy = st.one_of(strategies)
    problems: list[str] = []
    outcomes: list[str] = []  # "<status> <error code>" per request, printed with -s

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def exercise(case):
        response = case.call(headers=bearer_headers)
        if response.status_code >= 400 and response.content.startswith(b"{"):
            outcomes.append(f"{response.status_code} {json.loads(response.content).get('error')}")
        else:
            outcomes.append(str(response.status_code))
        described = f"{case.method} {case.formatted_path} -> {response.status_code}"
        try:
            case.validate_response(
                response,
                checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
                headers=bearer_headers,
            )
        except FailureGroup as failures:
            problems.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {failures}")
        if response.status_code >= 500:
            problems.append(f"{described}: {response.content[:300]!r}\n  reproduce: {case.as_curl_command()}")
        elif response.status_code >= 400:
            problem = error_shape_problem(response)
            if problem:
                problems.append(f"{described}: {problem}")

    exercise()
    # Hypothesis stops early only when it has tried every distinct request (an operation without inputs).
    assert len(outcomes) >= EXAMPLES_PER_OPERATION or not OPERATIONS_WITH_INPUTS[operation_id]
    print(operation_id, {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))})
    assert not problems, "\n".join(problems[:10])
