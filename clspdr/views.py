from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from actions.selectors import home_actions_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A partner sees first what its organisation carries, least recently updated on top."""
    return render(request, "home.html", home_actions_for(request.user))
