import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_404_json(client):
    response = client.get("/api/v2/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found"}


def test_wrong_method_is_405_json(client):
    response = client.get("/api/v2/auth/google", content_type="application/json")
    assert response.status_code == 405
    assert set(response.json()) <= {"error", "detail"} and response.json()["error"]


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": True, "broker": True, "storage": True}


def test_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "/api/v2/auth/google" in schema


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/swagger")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
