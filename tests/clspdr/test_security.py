"""Sessions, response headers, CSRF and error pages (T-12, T-30, T-31, T-36, T-38, T-39).

This module doubles as a tiny URLconf (`urlpatterns` below) so that the 403 and 500 pages can
be rendered from views that fail on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertRedirects

from clspdr.middleware import CLEAR_SITE_DATA
from tests.factories import PASSWORD, UserFactory

LOGIN_URL = reverse("account_login")
HOME_URL = reverse("home")


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-internal-detail")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("secret-internal-detail")


urlpatterns = [
    path("test-boom/", _boom),
    path("test-forbidden/", _forbidden),
    path("", include("clspdr.urls")),
]


@pytest.fixture
def camille(db):
    return UserFactory(username="camille", email="camille@example.org")


def _log_in(client: Client) -> str:
    """Log in through the real form; return the new session key."""
    response = client.post(LOGIN_URL, {"login": "camille", "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    key = client.session.session_key
    assert key
    return key


def _session_key(client: Client, settings) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _is_logged_in(client: Client) -> bool:
    response = client.get(HOME_URL)
    return response.status_code == 200


# --- Session id and logout (T-30, T-12) ----------------------------------------------------------


def test_it_rotates_the_session_id_on_login(client, camille, settings):
    anonymous = client.session
    anonymous["visited"] = True
    anonymous.save()
    before = anonymous.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = before

    after = _log_in(client)

    assert after != before
    assert _session_key(client, settings) == after
    assert not Session.objects.filter(session_key=before).exists()


def test_it_invalidates_the_session_server_side_on_logout(client, camille, settings):
    key = _log_in(client)
    response = client.post(reverse("account_logout"))
    assertRedirects(response, LOGIN_URL, fetch_redirect_response=False)
    assert not Session.objects.filter(session_key=key).exists()

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assertRedirects(
        replay.get(HOME_URL), f"{LOGIN_URL}?next={HOME_URL}", fetch_redirect_response=False
    )


def test_it_asks_the_browser_to_clear_site_data_on_logout(client, camille):
    _log_in(client)
    assert "Clear-Site-Data" not in client.get(HOME_URL)
    response = client.post(reverse("account_logout"))
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"' == CLEAR_SITE_DATA


def test_it_does_not_clear_site_data_for_an_anonymous_visitor(client, db):
    assert "Clear-Site-Data" not in client.post(reverse("account_logout"))
    assert "Clear-Site-Data" not in client.get(LOGIN_URL)


def test_it_forbids_caching_of_every_authenticated_response(client, camille):
    _log_in(client)
    for url in (HOME_URL, reverse("account_change_password"), "/page-qui-n-existe-pas/"):
        assert "no-store" in client.get(url)["Cache-Control"], url


def test_it_lets_anonymous_pages_keep_their_own_cache_policy(client, db):
    response = client.get(reverse("account_reset_password_done"))
    assert response.status_code == 200
    assert "private" not in response.get("Cache-Control", "")


# --- Idle and absolute lifetime (T-31) -----------------------------------------------------------


def test_it_uses_a_30_minute_idle_timeout_kept_in_the_database(settings):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # The deadline is pushed forward once a minute at most (clspdr/middleware.py), not by a
    # write on every request; the CSRF token lives in its cookie, so it never writes one either.
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert settings.SESSION_REFRESH_INTERVAL == 60
    assert settings.CSRF_USE_SESSIONS is False
    assert settings.SESSION_ABSOLUTE_LIFETIME == 10 * 60 * 60


# The session tests travel in time: the clock stands still (tick=False) and moves only when a
# test shifts it, so a deadline is hit to the second.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REFRESH = timedelta(seconds=60)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _expiry(key: str) -> datetime:
    return Session.objects.get(pk=key).expire_date


def _stay_active(client: Client, clock: time_machine.Traveller, minutes: int) -> None:
    """A page every 20 minutes for `minutes` minutes: never idle for long, always logged in."""
    assert minutes % 20 == 0
    for _ in range(minutes // 20):
        clock.shift(timedelta(minutes=20))
        assert _is_logged_in(client), timezone.now()


def test_it_extends_the_idle_deadline_at_most_once_a_minute(client, camille, clock):
    key = _log_in(client)
    assert _expiry(key) == START + timedelta(minutes=30)

    clock.shift(REFRESH - timedelta(seconds=1))
    assert _is_logged_in(client)
    assert _expiry(key) == START + timedelta(minutes=30)  # not written

    clock.shift(timedelta(seconds=1))
    assert _is_logged_in(client)
    assert _expiry(key) == START + REFRESH + timedelta(minutes=30)


# Where the last request falls after the last write: right on it, or up to one interval later.
LAST_REQUEST_OFFSETS = [timedelta(0), timedelta(seconds=30), REFRESH - timedelta(seconds=1)]


@pytest.mark.parametrize("offset", LAST_REQUEST_OFFSETS)
def test_it_logs_out_30_minutes_after_the_last_request(client, camille, clock, offset):
    _log_in(client)
    clock.shift(offset)
    assert _is_logged_in(client)

    clock.shift(timedelta(minutes=30))

    assertRedirects(
        client.get(HOME_URL), f"{LOGIN_URL}?next={HOME_URL}", fetch_redirect_response=False
    )


@pytest.mark.parametrize("offset", LAST_REQUEST_OFFSETS)
def test_it_keeps_a_session_29_minutes_after_the_last_request(client, camille, clock, offset):
    # The deadline runs from the last write, which is at most one interval before the last
    # request: a session ends early by at most the refresh interval, never late.
    _log_in(client)
    clock.shift(offset)
    assert _is_logged_in(client)

    clock.shift(timedelta(minutes=30) - REFRESH)

    assert _is_logged_in(client)


def test_it_keeps_an_active_session_alive_past_the_idle_timeout(client, camille, clock):
    _log_in(client)
    for _ in range(90):  # 45 minutes, a page every 30 s: half of them write nothing
        clock.shift(timedelta(seconds=30))
        assert _is_logged_in(client), timezone.now()


def test_it_stamps_the_session_start_at_login(client, camille, clock):
    _log_in(client)
    assert client.session["_session_started_at"] == START.timestamp()


def test_it_logs_out_after_10_hours_even_when_active(client, camille, clock, settings):
    key = _log_in(client)
    _stay_active(client, clock, minutes=9 * 60 + 40)
    clock.shift(timedelta(minutes=19))
    assert _is_logged_in(client)  # 9 h 59 min after login

    clock.shift(timedelta(minutes=2))
    response = client.get(HOME_URL)

    assertRedirects(response, f"{LOGIN_URL}?next={HOME_URL}", fetch_redirect_response=False)
    assert response["Clear-Site-Data"] == CLEAR_SITE_DATA
    assert not Session.objects.filter(session_key=key).exists()


def test_it_starts_the_clock_again_after_a_new_login(client, camille, clock):
    _log_in(client)
    _stay_active(client, clock, minutes=10 * 60)
    clock.shift(timedelta(minutes=1))
    assert not _is_logged_in(client)  # 10 h 1 min after the first login

    _log_in(client)
    _stay_active(client, clock, minutes=9 * 60)  # 19 h after the first login


# --- Headers (T-38) ------------------------------------------------------------------------------


@pytest.mark.parametrize("authenticated", [False, True])
def test_it_sends_the_security_headers_on_html_pages(client, camille, authenticated):
    if authenticated:
        _log_in(client)
    response = client.get(HOME_URL if authenticated else LOGIN_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "geolocation=()", "microphone=()"):
        assert feature in policy


def test_it_marks_session_and_csrf_cookies_httponly_and_samesite(client, camille, settings):
    _log_in(client)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"


# --- CSRF (T-36) ---------------------------------------------------------------------------------


@pytest.fixture
def strict_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_it_refuses_a_post_without_csrf_token_with_a_french_page(strict_client, camille):
    strict_client.force_login(camille)
    response = strict_client.post(reverse("account_logout"))
    assert response.status_code == 403
    assertContains(response, "Formulaire expiré", status_code=403)
    assertContains(response, '<html lang="fr">', status_code=403)
    assert "CSRF" not in response.content.decode()  # no technical detail
    assert _is_logged_in(strict_client)  # nothing changed


def test_it_sends_htmx_back_to_the_login_page_on_csrf_failure(strict_client, camille):
    strict_client.force_login(camille)
    response = strict_client.post(
        reverse("account_logout"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/plan/"},
    )
    assert response.status_code == 403
    assert response["HX-Redirect"] == f"{LOGIN_URL}?next=%2Fplan%2F"
    assert _is_logged_in(strict_client)


def test_it_accepts_the_post_with_its_token(strict_client, camille):
    strict_client.force_login(camille)
    strict_client.get(reverse("account_logout"))  # sets the CSRF cookie
    token = strict_client.cookies["csrftoken"].value
    response = strict_client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


# --- Error pages (T-39) --------------------------------------------------------------------------


def test_it_shows_a_generic_french_404(client, db, settings):
    assert settings.DEBUG is False
    response = client.get("/ceci-n-existe-pas/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page introuvable" in html
    assert '<html lang="fr">' in html
    assert "urlpatterns" not in html and "Traceback" not in html


def test_it_shows_a_generic_french_403(client, db, settings):
    settings.ROOT_URLCONF = __name__
    response = client.get("/test-forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Accès refusé" in html
    assert "secret-internal-detail" not in html


def test_it_shows_a_generic_french_500(client, db, settings):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    response = client.get("/test-boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Erreur du serveur" in html
    assert '<html lang="fr">' in html
    assert "secret-internal-detail" not in html and "Traceback" not in html
