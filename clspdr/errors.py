"""Error views that need more than a template."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a French page, or an HX-Redirect to the login page for htmx.

    An htmx POST that fails the CSRF check almost always means the session (and its token)
    expired; without the redirect htmx would swallow the 403 (it swaps no error response by
    default) and the click would do nothing. The status stays 403: htmx 2 follows HX-Redirect
    whatever the status.
    """
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=403)
        response["HX-Redirect"] = _login_url(request)
        return response
    return render(request, "403_csrf.html", status=403)


def _login_url(request: HttpRequest) -> str:
    login = reverse("account_login")
    # django-htmx exposes the page the user was on, only when it is on this site.
    current = getattr(getattr(request, "htmx", None), "current_url_abs_path", None)
    return f"{login}?{urlencode({'next': current})}" if current else login
