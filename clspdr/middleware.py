"""Session and response hardening that Django does not ship (docs/security.md, T-12 and T-31).

Sessions live in the database; a session's idle deadline is its row's `expire_date`,
SESSION_COOKIE_AGE after its last save. These middlewares push that deadline forward at most
once a SESSION_REFRESH_INTERVAL (so a read request writes nothing), and add the absolute
lifetime, `no-store` on every authenticated response and `Clear-Site-Data` when a session ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

_STARTED_KEY = "_session_started_at"
_REFRESHED_KEY = "_session_refreshed_at"
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'

GetResponse = Callable[[HttpRequest], HttpResponse]


def _is_logged_in(request: HttpRequest) -> bool:
    # The session, not `request.user`: no user query, and it works before AuthenticationMiddleware.
    return SESSION_KEY in request.session


def _clear_site_data(response: HttpResponse) -> None:
    response["Clear-Site-Data"] = CLEAR_SITE_DATA


class IdleSessionRefreshMiddleware:
    """Keep an active session alive, writing it at most once a SESSION_REFRESH_INTERVAL.

    Django pushes the idle deadline forward only when it saves the session; saving on every
    request (SESSION_SAVE_EVERY_REQUEST) cost an UPDATE and a commit per page read. Here a
    logged-in request marks the session modified only when its last save is older than the
    interval, so a session ends between SESSION_COOKIE_AGE - interval and SESSION_COOKIE_AGE
    after the last request: early by at most the interval, never late. A request that changes
    the session anyway (login, password change) is saved by Django and restamped for free.
    Place it right after SessionMiddleware, so it sees what every inner layer changed.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if _is_logged_in(request):
            now = time.time()
            last = session.get(_REFRESHED_KEY)
            # A stamp in the future (the clock went back) counts as stale, not as fresh forever.
            stale = last is None or not 0 <= now - float(last) < settings.SESSION_REFRESH_INTERVAL
            if session.modified or stale:
                session[_REFRESHED_KEY] = now
        return response


class AbsoluteSessionLifetimeMiddleware:
    """Log out SESSION_ABSOLUTE_LIFETIME seconds after login, however active the user is.

    The start is stamped on the way out of the request that logged the user in (login rotates
    the session, then this sees the new `_auth_user_id`), so the clock starts at login, not at
    the next page. A session-bookkeeping timestamp, kept here rather than in a
    `user_logged_in` receiver so the whole rule reads in one place and holds for every login
    path (allauth, admin, `force_login`). Place it right after SessionMiddleware.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = time.time()
        expired = self._expired(request, now)
        if expired:
            logout(request)  # flushes the session: the old cookie no longer opens anything
        response = self.get_response(request)
        if _is_logged_in(request) and _STARTED_KEY not in request.session:
            request.session[_STARTED_KEY] = now
        if expired:
            _clear_site_data(response)
        return response

    @staticmethod
    def _expired(request: HttpRequest, now: float) -> bool:
        started = request.session.get(_STARTED_KEY)
        if started is None or not _is_logged_in(request):
            return False
        return now - float(started) > settings.SESSION_ABSOLUTE_LIFETIME


class ClearSiteDataOnLogoutMiddleware:
    """A response that ends a session tells the browser to drop cache, cookies and storage."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        was_logged_in = _is_logged_in(request)
        response = self.get_response(request)
        if was_logged_in and not _is_logged_in(request):
            _clear_site_data(response)
        return response


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a logged-in person never land in a shared or back-button cache."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        was_logged_in = _is_logged_in(request)
        response = self.get_response(request)
        logged_in = was_logged_in or _is_logged_in(request)
        if logged_in and "no-store" not in response.get("Cache-Control", ""):
            patch_cache_control(response, no_store=True, private=True)
        return response
