from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from actions.selectors import home_actions_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A partner sees first what its organisation carries, least recently updated on top."""
    return render(request, "home.html", home_actions_for(request.user))


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and dependencies; reports a degraded state instead of failing."""
    checks = {"database": _check_database()}
    status = 200 if checks["database"] == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "error", "checks": checks}, status=status
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return "down"
    return "ok"
