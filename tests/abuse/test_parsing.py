"""Hostile JSON, over real HTTP against the embedded web server: deep nesting and NaN/Infinity
are a 400 in the error shape on every JSON body and every multipart JSON part, never a 500. One
server serves the whole module (each test only sends it requests)."""

import json

import pytest
import requests

from tests.abuse.conftest import bearer_for

DEEP = 990  # deep enough to blow Python's recursion limit in json.loads on the unfixed server


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_bad_request(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) <= {"error", "detail"} and body["error"], body


def json_bodies() -> dict[str, str]:
    # NaN/Infinity in bodies were already refused by DRF's strict parser: kept as guards.
    deep_object = '{"a":' * DEEP + "1" + "}" * DEEP
    return {
        "deep_array": nested(DEEP),
        "deep_object": deep_object,
        "deep_inside_value": json.dumps({"messages": []})[:-1] + ', "x": ' + nested(DEEP) + "}",
        "nan": '{"idToken": NaN}',
        "infinity": '{"messages": [{"role": "user", "content": "hi"}], "x": -Infinity}',
    }


@pytest.mark.parametrize("path", ["/api/v2/auth/google", "/api/v2/chat"])
@pytest.mark.parametrize("case", sorted(json_bodies()))
def test_json_body_too_deep_or_not_json_numbers_is_400(shared_server, alice, path, case):
    response = requests.post(
        shared_server.url(path),
        data=json_bodies()[case],
        headers={"Content-Type": "application/json", **bearer_for(alice)},
        timeout=30,
    )
    assert_bad_request(response)


SPEC_PARTS = {
    "/api/v2/subtitles": "spec",
    "/api/v2/autodub": "spec",
    "/api/v2/separate": "spec",
    "/api/v2/render": "config",
}


# The code each multipart endpoint gives a JSON part it cannot accept (the part's own name in it).
JSON_PART_ERRORS = {"spec": "invalid_spec", "config": "invalid_config_json"}


@pytest.mark.parametrize("path", sorted(SPEC_PARTS))
@pytest.mark.parametrize("case", ["deep", "nan", "infinity"])
def test_multipart_json_part_too_deep_or_not_json_numbers_is_400(shared_server, alice, path, case):
    # The non-numbers sit under a key every endpoint ignores: only the JSON entry point can refuse them.
    value = {
        "deep": nested(DEEP),
        "nan": '{"mediaType": "AUDIO", "sourceLanguageCode": "en", "unknownKey": NaN}',
        "infinity": '{"mediaType": "AUDIO", "sourceLanguageCode": "en", "unknownKey": [-Infinity]}',
    }[case]
    part = SPEC_PARTS[path]
    response = requests.post(
        shared_server.url(path), files={part: (None, value)}, headers=bearer_for(alice), timeout=30
    )
    assert_bad_request(response)
    assert response.json()["error"] == JSON_PART_ERRORS[part], response.text
