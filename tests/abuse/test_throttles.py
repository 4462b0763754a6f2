"""Throttles hold across web processes (the embedded default's cache is shared on disk), and the
admin sign-in is throttled per account and per address."""

import re

import requests

from tests.abuse.conftest import bearer_for


def test_submit_throttle_is_shared_by_two_web_processes(start_server, alice):
    first = start_server(THROTTLE_SUBMIT="4/min")
    second = start_server(THROTTLE_SUBMIT="4/min")
    headers = bearer_for(alice)
    statuses = [
        requests.post(
            server.url("/api/v2/subtitles"), headers=headers, files={"x": (None, "1")}, timeout=30
        ).status_code
        for server in [first, second] * 5
    ]
    # Four submits pass the limit (each then refused for its missing spec), every later one is 429.
    assert statuses.count(429) == 6, statuses
    assert statuses[4:] == [429] * 6, statuses


def _admin_login(session: requests.Session, server, username: str, password: str) -> requests.Response:
    page = session.get(server.url("/admin/login/"), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        server.url("/admin/login/"),
        data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"},
        headers={"Referer": server.url("/admin/login/")},
        allow_redirects=False,
        timeout=30,
    )


def test_admin_login_is_throttled_per_account(start_server, django_user_model):
    django_user_model.objects.create_superuser(username="boss", email="boss@example.com", password="right-password")
    server = start_server(ADMIN_LOGIN_MAX_FAILURES=3)
    session = requests.Session()
    wrong = [_admin_login(session, server, "boss", f"wrong-{n}").status_code for n in range(3)]
    assert wrong == [200, 200, 200]  # the form again, with an error
    # Now even the right password is refused for this account, before it is checked.
    assert _admin_login(session, server, "boss", "right-password").status_code == 429
    assert _admin_login(session, server, "BOSS ", "wrong").status_code == 429


def test_admin_login_is_throttled_per_address(start_server, django_user_model):
    server = start_server(ADMIN_LOGIN_MAX_FAILURES=3)
    session = requests.Session()
    assert [_admin_login(session, server, f"user{n}", "x").status_code for n in range(3)] == [200, 200, 200]
    assert _admin_login(session, server, "someone-else", "x").status_code == 429
