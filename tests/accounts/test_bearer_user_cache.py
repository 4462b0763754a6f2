"""The Bearer's user is cached per web process for AUTH_USER_CACHE_SEC (status polls read no user
row); deactivation and deletion take effect within that time, or at once with 0."""

import pytest

from apps.accounts.services import access_token_issue, access_token_user, user_cache_clear
from apps.jobs.models import Job, JobKind
from apps.jobs.services import job_create, new_public_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_render_status(alice):
    job = Job.objects.create(public_id=new_public_id(JobKind.RENDER), kind=JobKind.RENDER, owner=alice, spec={})
    return f"/api/v2/render/{job.public_id}/status"


def test_a_deactivated_user_is_refused_once_the_cache_window_ends(alice, alice_client, alice_render_status, settings):
    settings.AUTH_USER_CACHE_SEC = 30
    assert alice_client.get(alice_render_status).status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    # Within the window this process still answers from its cache (the documented delay) …
    assert alice_client.get(alice_render_status).status_code == 200
    user_cache_clear()  # … which ends after AUTH_USER_CACHE_SEC
    refused = alice_client.get(alice_render_status)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


def test_with_no_cache_a_deactivated_user_is_refused_on_the_next_request(
    alice, alice_client, alice_render_status, settings
):
    settings.AUTH_USER_CACHE_SEC = 0
    assert alice_client.get(alice_render_status).status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert alice_client.get(alice_render_status).status_code == 401


def test_a_deleted_user_is_refused_with_no_cache(alice, alice_client, alice_render_status, settings):
    settings.AUTH_USER_CACHE_SEC = 0
    assert alice_client.get(alice_render_status).status_code == 200
    alice.delete()
    assert alice_client.get(alice_render_status).status_code == 401


def _state_of(user) -> dict:
    """Everything an instance holds: its field values and attributes, and Django's state and caches."""
    return {
        **{name: value for name, value in vars(user).items() if name != "_state"},
        "_state": {name: value for name, value in vars(user._state).items() if name != "fields_cache"},
        "fields_cache": dict(user._state.fields_cache),
    }


def test_every_request_shares_the_cached_user_and_none_changes_it(alice, alice_client, settings):
    """The API hands the cached user to every request of the window without a copy: the requests that
    read it (polls, fast and through DRF, downloads, errors) and the code that stores it as a job's
    owner leave it as it was."""
    settings.AUTH_USER_CACHE_SEC = 30
    token = access_token_issue(user=alice).token
    cached = access_token_user(token=token)
    assert access_token_user(token=token) is cached
    before = _state_of(cached)

    created, _ = job_create(kind=JobKind.RENDER, owner=cached, spec={}, first_stage=None)
    render = f"/api/v2/render/{created.public_id}"
    subtitles = Job.objects.create(public_id=new_public_id(JobKind.SUBTITLES), kind=JobKind.SUBTITLES, owner=alice)
    for url, headers in [
        (f"{render}/status", {"HTTP_ACCEPT": "application/json"}),  # a plain poll, outside DRF's dispatch
        (f"{render}/status?format=json", {}),  # through DRF
        (f"/api/v2/subtitles/{subtitles.public_id}", {}),
        (f"{render}/download", {}),
        ("/api/v2/render/rnd-missing/status", {}),
    ]:
        assert alice_client.get(url, **headers).status_code in (200, 404)
    assert access_token_user(token=token) is cached
    assert _state_of(cached) == before


@pytest.mark.parametrize("removal", ["deactivated", "deleted"])
def test_a_write_reads_the_user_row_within_the_cache_window(
    alice, alice_client, alice_render_status, settings, removal
):
    settings.AUTH_USER_CACHE_SEC = 30
    assert alice_client.get(alice_render_status).status_code == 200  # the user is now in this process's cache
    assert alice_client.post("/api/v2/subtitles", {}, format="multipart").json()["error"] == "spec_required"
    if removal == "deleted":
        alice.delete()  # a submit would store a job owned by a user row that no longer exists
    else:
        alice.is_active = False
        alice.save(update_fields=["is_active"])
    refused = alice_client.post("/api/v2/subtitles", {}, format="multipart")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    assert not Job.objects.filter(kind=JobKind.SUBTITLES).exists()
