from django.contrib import admin
from django.urls import include, path

from clspdr import health, session, views

# One login door: /admin/login/ never authenticates, it hands over to allauth's throttled login.
admin.site.login = views.admin_login  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("session/prolonger/", session.keepalive, name="session_keepalive"),
    path("journal/", views.journal, name="journal"),
    path("plan/", include("actions.strategy_urls")),
    path("plan/actions/", include("actions.urls")),
    # Before allauth's URLs: the address page is read-only (the coordinator records addresses).
    path("comptes/email/", views.account_email, name="account_email"),
    path("comptes/", include("allauth.urls")),
    # Nothing links to set_language any more (one language, settings.LANGUAGES) and it refuses
    # any other; it stays as a plain view that tests/clspdr/test_gunicorn.py requests.
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Administration technique"
admin.site.site_title = "CLSPDR"
