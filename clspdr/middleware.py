"""Session lifetime beyond Django's idle timeout (SECURITY.md: absolute lifetime 10 h)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

_STARTED_KEY = "_session_started_at"


class AbsoluteSessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        started = session.get(_STARTED_KEY)
        now = time.time()
        if started is None:
            if session.get("_auth_user_id"):
                session[_STARTED_KEY] = now
        elif now - started > settings.SESSION_ABSOLUTE_LIFETIME:
            logout(request)  # flushes the session: the next request must log in again
        return self.get_response(request)
