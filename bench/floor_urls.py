"""The floor server's only URL (bench/floor_settings.py): a view that touches nothing."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench.scenarios import FLOOR_PATH


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"<!DOCTYPE html><html><body>floor</body></html>")


urlpatterns = [path(FLOOR_PATH.lstrip("/"), floor, name="bench_floor")]
