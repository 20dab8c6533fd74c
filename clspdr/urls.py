from django.contrib import admin
from django.urls import include, path

from clspdr import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("journal/", views.journal, name="journal"),
    path("plan/", include("axes.urls")),
    path("plan/actions/", include("actions.urls")),
    path("comptes/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Administration technique"
admin.site.site_title = "CLSPDR"
