"""The Perso simulator keeps to the documentation: documented methods only, the 5 s polling floor,
and counters tests read over HTTP."""

import pytest
import requests

from apps.simulators.perso.codes import DOCUMENTED_CODES, INVENTED_CODES
from apps.simulators.perso.state import process_counters
from apps.simulators.perso.tables import toml_rows

pytestmark = pytest.mark.django_db

KEY = {"XP-API-KEY": "sim-perso-key"}
VT = "/sim/perso/video-translator/api/v1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{VT}/languages"),
        ("GET", f"{VT}/projects/spaces/1/translate"),
        ("GET", f"{VT}/projects/spaces/1/stt"),
        ("PUT", f"{VT}/projects/spaces/1/audio-separation"),
        ("POST", f"{VT}/projects/1/space/1/progress"),
        ("PUT", f"{VT}/projects/1/spaces/1"),
        ("POST", f"{VT}/projects/1/spaces/1/download"),
        ("DELETE", f"{VT}/projects/spaces/1/queue"),
        ("POST", "/sim/perso/file/api/upload/sas-token"),
        ("POST", "/sim/perso/file/api/upload/audio"),
        ("GET", "/sim/perso/file/api/v1/media/validate"),
    ],
)
def test_undocumented_methods_are_405(perso_sim, method, path):
    response = requests.request(method, perso_sim.base_url + path, headers=KEY, timeout=10)

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert method not in response.headers["Allow"]
    assert perso_sim.counters()["methodNotAllowed"] == 1


def test_storage_serves_files_with_get_only(perso_sim):
    response = requests.post(f"{perso_sim.base_url}/sim/perso-storage/perso-storage/projects/1/x/a.wav", timeout=10)
    assert response.status_code == 405


def test_queue_accepts_both_documented_methods(perso_sim):
    for method in ("GET", "PUT"):
        response = requests.request(
            method, f"{perso_sim.base_url}{VT}/projects/spaces/1/queue", headers=KEY, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["success"] is True
    assert perso_sim.counters()["queueInits"] == 2


def test_a_project_polled_sooner_than_the_floor_gets_429_and_is_counted(perso_sim, media_seq_factory, settings):
    settings.PERSO_SIM_POLL_MIN_INTERVAL_SEC = 5
    seq = media_seq_factory()
    requests.put(f"{perso_sim.base_url}{VT}/projects/spaces/1/queue", headers=KEY, timeout=10)
    created = requests.post(
        f"{perso_sim.base_url}{VT}/projects/spaces/1/stt",
        json={"mediaSeq": seq, "isVideoProject": False, "title": "floor"},
        headers=KEY,
        timeout=10,
    )
    project_seq = created.json()["result"]["startGenerateProjectIdList"][0]
    url = f"{perso_sim.base_url}{VT}/projects/{project_seq}/space/1/progress"

    first = requests.get(url, headers=KEY, timeout=10)
    second = requests.get(url, headers=KEY, timeout=10)
    process_counters["expected"] += 1

    assert first.status_code == 200
    assert second.status_code == 429
    assert 1 <= int(second.headers["Retry-After"]) <= 5
    counters = perso_sim.counters()
    assert (counters["polls"], counters["pollsTooSoon"]) == (1, 1)
    assert (counters["submits"], counters["projectsCreated"], counters["projectsLive"]) == (1, 1, 1)


def test_counters_follow_submits_and_deletes(perso_sim, media_seq_factory):
    seq = media_seq_factory()
    requests.put(f"{perso_sim.base_url}{VT}/projects/spaces/1/queue", headers=KEY, timeout=10)
    body = {"mediaSeq": seq, "isVideoProject": False}
    created = requests.post(
        f"{perso_sim.base_url}{VT}/projects/spaces/1/audio-separation", json=body, headers=KEY, timeout=10
    )
    refused = requests.post(f"{perso_sim.base_url}{VT}/projects/spaces/1/stt", json={}, headers=KEY, timeout=10)
    project_seq = created.json()["result"]["startGenerateProjectIdList"][0]
    deleted = requests.delete(f"{perso_sim.base_url}{VT}/projects/{project_seq}/spaces/1", headers=KEY, timeout=10)
    again = requests.delete(f"{perso_sim.base_url}{VT}/projects/{project_seq}/spaces/1", headers=KEY, timeout=10)

    assert (created.status_code, refused.status_code, deleted.status_code) == (201, 400, 204)
    assert (again.status_code, again.json()["code"]) == (404, "VT4045")
    counters = perso_sim.counters()
    assert counters["submits"] == 2
    assert counters["projectsCreated"] == 1
    assert counters["deletes"] == 1
    assert counters["projectsLive"] == 0


def test_list_projects_needs_the_documented_query_and_shows_titles(perso_sim, media_seq_factory):
    seq = media_seq_factory()
    requests.put(f"{perso_sim.base_url}{VT}/projects/spaces/1/queue", headers=KEY, timeout=10)
    requests.post(
        f"{perso_sim.base_url}{VT}/projects/spaces/1/stt",
        json={"mediaSeq": seq, "isVideoProject": False, "title": "job-xyz"},
        headers=KEY,
        timeout=10,
    )
    url = f"{perso_sim.base_url}{VT}/projects/spaces/1"
    query = {"memberRole": "space_owner", "size": 10, "offset": 0, "sortDirection": "desc"}

    listed = requests.get(url, params=query, headers=KEY, timeout=10)
    incomplete = requests.get(url, params={"size": 10}, headers=KEY, timeout=10)

    assert listed.status_code == 200
    assert [row["title"] for row in listed.json()["result"]["content"]] == ["job-xyz"]
    assert incomplete.status_code == 400


def test_invented_codes_are_kept_apart_from_documented_ones():
    assert not set(INVENTED_CODES) & set(DOCUMENTED_CODES)
    source = open("apps/simulators/perso/views.py", encoding="utf-8").read()
    import re

    used = set(re.findall(r'_error\(\s*\d+,\s*"([A-Z0-9_]+)"', source))
    assert used <= set(INVENTED_CODES) | set(DOCUMENTED_CODES), used - set(INVENTED_CODES) - set(DOCUMENTED_CODES)


def test_a_table_row_of_another_shape_is_refused_at_load(tmp_path):
    table_file = tmp_path / "codes.toml"
    table_file.write_text('[documented]\nVT4041 = [404, "Project not found"]\nVT4042 = ["404", "Video not found"]\n')

    with pytest.raises(ValueError, match="VT4042"):
        toml_rows(table_file, "documented", (int, str))
    table_file.write_text('[documented]\nVT4041 = [404, "Project not found"]\n')
    assert toml_rows(table_file, "documented", (int, str)) == {"VT4041": (404, "Project not found")}
