"""The client against the documented API: never pay twice, error bodies of every shape, redirects,
the documented background target."""

import pytest
import requests

from apps.core.errors import JobFailure
from apps.jobs.models import ExternalCall, JobStatus
from apps.jobs.services import job_claim, job_create
from apps.perso.client import PersoClient
from apps.perso.errors import PersoDownloadError, PersoNotFound, PersoSubmitUncertain
from apps.perso.outputs import perso_download_background, perso_download_target
from apps.perso.submits import perso_queue_ensure, perso_submit_project
from tests.conftest import TEST_POLL_FLOOR_SEC

pytestmark = pytest.mark.django_db


def _calls(endpoint_part: str) -> list[ExternalCall]:
    return [call for call in ExternalCall.objects.filter(service="perso") if endpoint_part in call.endpoint]


def _ready_client() -> PersoClient:
    client = PersoClient()
    perso_queue_ensure(client=client)
    return client


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_after_an_accepted_submit_leaves_exactly_one_project(perso_sim, media_seq_factory, status):
    media_seq = media_seq_factory()
    client = _ready_client()
    perso_sim.control(fail_next=[{"match": "/audio-separation", "status": status, "code": "", "after": True}])

    project_seq = client.submit_audio_separation(media_seq=media_seq, is_video=False, title="sep-job-1-abc")

    counters = perso_sim.counters()
    assert (counters["submits"], counters["projectsCreated"], counters["projectsLive"]) == (1, 1, 1)
    assert client.projects_titled("sep-job-1-abc") == [project_seq]
    assert [call.status_code for call in _calls("/audio-separation")] == [status]


def test_a_timeout_after_an_accepted_submit_leaves_exactly_one_project(perso_sim, media_seq_factory, settings):
    media_seq = media_seq_factory()
    client = _ready_client()
    settings.PERSO_READ_TIMEOUT_SEC = 1
    rule = {"match": "/stt", "method": "POST", "status": 504, "code": "", "after": True, "delay_ms": 1500}
    perso_sim.control(fail_next=[rule])

    project_seq = PersoClient().submit_stt(media_seq=media_seq, is_video=False, title="sub-job-3-abc")

    counters = perso_sim.counters()
    assert (counters["submits"], counters["projectsCreated"], counters["projectsLive"]) == (1, 1, 1)
    assert [call.error_code for call in _calls("/stt")] == ["timeout"]
    assert client.projects_titled("sub-job-3-abc") == [project_seq]


def test_a_gateway_error_that_created_nothing_is_resent_once(perso_sim, media_seq_factory):
    media_seq = media_seq_factory()
    client = _ready_client()
    perso_sim.control(fail_next=[{"match": "/stt", "method": "POST", "status": 502, "code": ""}])

    project_seq = client.submit_stt(media_seq=media_seq, is_video=False, title="sub-job-2-abc")

    counters = perso_sim.counters()
    assert (counters["submits"], counters["projectsCreated"]) == (1, 1)
    assert [call.status_code for call in _calls("/stt")] == [502, 201]
    assert client.projects_titled("sub-job-2-abc") == [project_seq]


def test_a_job_whose_translate_submit_hit_a_502_after_acceptance_adopts_its_projects(
    perso_sim, media_seq_factory, alice, settings
):
    media_seq = media_seq_factory()
    job, _ = job_create(kind="autodub", owner=alice, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    perso_sim.control(fail_next=[{"match": "/translate", "status": 502, "code": "", "after": True}])

    perso_submit_project(
        job=job,
        kind="translate",
        media_seq=media_seq,
        on_complete_stage="download",
        source_language="en",
        target_languages=[{"code": "ko"}, {"code": "ja"}],
    )

    job.refresh_from_db()
    counters = perso_sim.counters()
    assert (counters["submits"], counters["projectsCreated"]) == (1, 2)
    assert job.status == JobStatus.WAITING
    assert len(job.upstream["persoProjectSeqs"]) == 2
    assert job.public_id in job.upstream["persoRequest"]["title"]


def test_a_submit_without_a_title_is_not_resent_when_its_outcome_is_unknown(perso_sim, media_seq_factory):
    media_seq = media_seq_factory()
    client = _ready_client()
    perso_sim.control(fail_next=[{"match": "/stt", "method": "POST", "status": 504, "code": "", "after": True}])

    with pytest.raises(PersoSubmitUncertain):
        client.submit_stt(media_seq=media_seq, is_video=False)

    assert perso_sim.counters()["submits"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"code": "VT4041", "message": "Project not found"},
        {"detailCode": "VT4041", "message": "Project not found"},
        {"status": 404, "code": 404, "detailCode": "VT4041", "message": "Project not found"},
        {"error": {"code": "VT4041", "message": "Project not found"}},
        {"result": {"code": "VT4041", "message": "Project not found"}},
    ],
)
def test_error_codes_are_read_from_every_body_shape(perso_sim, body):
    perso_sim.control(fail_next=[{"match": "/languages", "status": 404, "body": body}])

    with pytest.raises(PersoNotFound) as raised:
        PersoClient().languages()

    assert (raised.value.status, raised.value.code, raised.value.message) == (404, "VT4041", "Project not found")


def test_an_error_without_a_json_body_keeps_its_status(perso_sim):
    perso_sim.control(fail_next=[{"match": "/languages", "status": 404, "code": ""}])

    with pytest.raises(PersoNotFound) as raised:
        PersoClient().languages()

    assert (raised.value.status, raised.value.code) == (404, "")


def _completed_separation(client: PersoClient, media_seq: int) -> int:
    import time

    project_seq = client.submit_audio_separation(media_seq=media_seq, is_video=False, title="sep-x")
    for _ in range(20):
        time.sleep(TEST_POLL_FLOOR_SEC)
        if client.progress(project_seq).is_completed:
            return project_seq
    raise AssertionError("the simulated separation did not complete")


def test_downloads_follow_redirects_to_allowed_hosts_only(perso_sim, media_seq_factory, settings, tmp_path):
    settings.PERSO_DOWNLOAD_ALLOWED_HOSTS = ["portal-media.perso.ai"]  # + the file base's host (localhost)
    client = _ready_client()
    project_seq = _completed_separation(client, media_seq_factory())
    perso_sim.control(storage_redirect_host="127.0.0.1")  # the live server is on localhost

    with pytest.raises(JobFailure) as refused:
        perso_download_target(project_seq=project_seq, target="originalVoiceSpeakers", dest=tmp_path / "a.tar")
    assert refused.value.code == "perso_download_refused"

    settings.PERSO_DOWNLOAD_ALLOWED_HOSTS = [*settings.PERSO_DOWNLOAD_ALLOWED_HOSTS, "127.0.0.1"]
    archive = perso_download_target(project_seq=project_seq, target="originalVoiceSpeakers", dest=tmp_path / "b.tar")

    assert archive.stat().st_size > 1000
    assert _calls("storage:")[-1].status_code == 200


def test_a_redirect_to_a_host_outside_the_list_is_a_permanent_error(perso_sim, tmp_path, settings):
    settings.PERSO_DOWNLOAD_ALLOWED_HOSTS = ["portal-media.perso.ai"]
    client = PersoClient()
    perso_sim.control(storage_redirect_host="127.0.0.1")

    with pytest.raises(PersoDownloadError) as raised:
        client.download_file("/perso-storage/projects/1/x/file.wav", tmp_path / "file.wav")

    assert raised.value.code == "redirect_host_not_allowed"
    assert not (tmp_path / "file.wav").exists()


def test_background_falls_back_to_the_documented_target_when_the_undocumented_path_fails(
    perso_sim, media_seq_factory, tmp_path
):
    client = _ready_client()
    project_seq = _completed_separation(client, media_seq_factory())
    perso_sim.control(storage_404_next=1)  # the originalBackgroundPath file 404s

    background = perso_download_background(project_seq=project_seq, dest=tmp_path / "background.wav")

    assert background.stat().st_size > 1000
    assert [call.status_code for call in _calls("storage:")] == [404, 200]
    downloads = [call.endpoint for call in _calls("/download") if call.endpoint.endswith("/download")]
    assert len(downloads) == 1  # the documented target=backgroundAudio
    assert "target=" not in downloads[0]  # (the query is not logged)
    assert requests.get(f"{perso_sim.base_url}/sim/perso/_counters", timeout=5).status_code == 200
