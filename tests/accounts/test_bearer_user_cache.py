"""The Bearer's user is cached per web process for AUTH_USER_CACHE_SEC (status polls read no user
row); deactivation and deletion take effect within that time, or at once with 0."""

import pytest

from apps.accounts.services import access_token_issue, access_token_user, user_cache_clear
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id

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


def test_each_request_gets_its_own_copy_of_the_cached_user(alice, settings):
    settings.AUTH_USER_CACHE_SEC = 30
    token = access_token_issue(user=alice).token
    first = access_token_user(token=token)
    first.display_name = "changed by one request"
    second = access_token_user(token=token)
    assert second is not first
    assert second.pk == alice.pk and second.display_name == "Alice"
    assert not second._state.adding
