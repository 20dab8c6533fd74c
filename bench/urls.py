"""The project's URLs plus `/bench/trivial/`, the baseline every page is divided by."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from django.views.generic import TemplateView

from bench.scenarios import TRIVIAL_PATH
from clspdr.urls import urlpatterns as project_urlpatterns

# login_required: the baseline pays what every page pays before its own work — session read,
# user lookup, session save — so a ratio measures the page, not the framework.
urlpatterns = [
    *project_urlpatterns,
    path(
        TRIVIAL_PATH.lstrip("/"),
        login_required(TemplateView.as_view(template_name="bench/trivial.html")),
        name="bench_trivial",
    ),
]
