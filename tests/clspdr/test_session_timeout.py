"""The warning before the session ends: the data the page gets, and the keep-alive."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

KEEPALIVE = reverse("session_keepalive")


def _timeout_data(html: str) -> dict[str, str]:
    match = re.search(r'<div id="session-timeout"([^>]*)>', html)
    assert match, "no session-timeout element"
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', match[1]))


def test_it_gives_the_page_the_seconds_left_with_the_refresh_margin(
    world, personas, login, settings
):
    settings.SESSION_COOKIE_AGE = 1800
    settings.SESSION_SAVE_EVERY_REQUEST = False
    settings.SESSION_REFRESH_INTERVAL = 60
    client = login(personas["police"])
    session = client.session
    session["_session_started_at"] = time.time() - 3600
    session.save()
    data = _timeout_data(client.get(reverse("home")).content.decode())
    assert data["idle"] == "1740"  # may end a refresh interval early
    assert data["warn"] == "120"
    assert 10 * 3600 - 3600 - 5 <= int(data["absolute"]) <= 10 * 3600 - 3600
    assert data["keepalive-url"] == KEEPALIVE
    assert data["login-url"] == reverse("account_login")


def test_it_gives_no_timeout_to_a_page_shown_signed_out(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'id="session-timeout"' not in html
    assert "js/session-timeout.js" in html  # it keeps the drafts for after the login


def test_it_keeps_the_session_when_asked_even_without_saving_every_request(
    world, personas, login, settings
):
    settings.SESSION_SAVE_EVERY_REQUEST = False
    client = login(personas["police"])
    key = client.session.session_key
    soon = timezone.now() + datetime.timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)

    response = client.post(KEEPALIVE)

    assert response.status_code == 200
    assert response.json()["idle"] == settings.SESSION_COOKIE_AGE
    assert "no-store" in response["Cache-Control"]
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE - 5)


def test_it_tells_a_page_whose_session_ended_without_redirecting(client):
    response = client.post(KEEPALIVE)
    assert response.status_code == 401
    assert response.json() == {"expired": True}


def test_it_only_keeps_the_session_on_a_post(world, personas, login):
    assert login(personas["police"]).get(KEEPALIVE).status_code == 405
