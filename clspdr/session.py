"""What the page needs to warn before the session ends, and the button that keeps it.

The idle deadline is SESSION_COOKIE_AGE after the session was last saved. The page cannot read
it (the session row is the server's), so static/js/session-timeout.js counts from the last
request it saw, minus SESSION_REFRESH_INTERVAL when the session is saved at most that often
(a session may end that much earlier than SESSION_COOKIE_AGE after a request), and never past
the absolute lifetime (clspdr/middleware.py). The keep-alive saves the session explicitly, so
it pushes the deadline forward whatever the refresh throttle decides.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clspdr.middleware import _STARTED_KEY  # the absolute lifetime's clock, stamped at login

WARN_BEFORE = 2 * 60  # seconds before the end the warning shows


def refresh_slack() -> int:
    """How much earlier than SESSION_COOKIE_AGE after a request the session may end."""
    if getattr(settings, "SESSION_SAVE_EVERY_REQUEST", False):
        return 0
    return int(getattr(settings, "SESSION_REFRESH_INTERVAL", 60))


def seconds_left(request: HttpRequest) -> dict[str, int]:
    """Seconds from now: `idle` until the idle deadline at the earliest, `absolute` until the
    absolute lifetime ends."""
    started = request.session.get(_STARTED_KEY)
    absolute = settings.SESSION_ABSOLUTE_LIFETIME
    if started is not None:
        absolute = max(0, int(float(started) + absolute - time.time()))
    return {"idle": max(0, settings.SESSION_COOKIE_AGE - refresh_slack()), "absolute": absolute}


def session_timeout(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the timing data of the warning, on the pages of a logged-in person."""
    if SESSION_KEY not in request.session:
        return {}
    return {"session_timeout": {**seconds_left(request), "warn": WARN_BEFORE}}


@never_cache
@require_POST
def keepalive(request: HttpRequest) -> JsonResponse:
    """ "Rester connecté": save the session, so its idle deadline starts again from now."""
    if SESSION_KEY not in request.session:
        return JsonResponse({"expired": True}, status=401)
    # Saved even if nothing changed in it: this write is what pushes the deadline forward.
    request.session.modified = True
    return JsonResponse(
        {"idle": settings.SESSION_COOKIE_AGE, "absolute": seconds_left(request)["absolute"]}
    )
