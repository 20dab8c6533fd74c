"""gunicorn starts as the image starts it, and trusts X-Forwarded-Proto exactly when
BEHIND_PROXY says a reverse proxy is there (gunicorn.conf.py).

Gunicorn turns `X-Forwarded-Proto: https` from a trusted peer into an HTTPS request; Django then
skips its redirect to HTTPS. With `--forwarded-allow-ips=*` and no proxy, anybody reaching port
8000 could claim HTTPS and be served over plain HTTP.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.db import connection

from tests.deployment import (
    ROOT,
    VENV_BIN,
    dockerfile_cmd,
    dockerfile_runtime_env,
    gunicorn,
    service_environment,
)

HOST = "clspdr.example.org"  # ALLOWED_HOSTS of .env.example
# set_language answers a GET that does not accept HTML with 204 and no template: what is left to
# see is whether the security middleware redirected the request to HTTPS first.
PLAIN_VIEW = "/i18n/setlang/"
NOT_HTML = {"Host": HOST, "Accept": "application/json"}


@pytest.fixture(scope="module")
def database_url(django_db_setup, django_db_blocker, tmp_path_factory) -> str:
    """A migrated database another process can open: pytest-django's on PostgreSQL; on SQLite
    (whose test database lives in memory) a file migrated for this module."""
    with django_db_blocker.unblock():
        vendor, name = connection.vendor, str(connection.settings_dict["NAME"])
    if vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(parts._replace(path="/" + quote(name)))
    path = tmp_path_factory.mktemp("gunicorn-db") / "db.sqlite3"
    url = f"sqlite:///{path}"
    migrate = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**_image_environment(url, path.parent), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    return url


def _image_environment(database_url: str, work: Path, **overrides: str) -> dict[str, str]:
    """The web container's environment: the image's ENV, then what docker-compose.yml gives
    `web` (.env from .env.example), with the values a real .env would fill in."""
    env = {**dockerfile_runtime_env(), **service_environment("web")}
    env.pop("PATH", None)
    static_root = work / "staticfiles"
    static_root.mkdir(exist_ok=True)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", ""),
        STATIC_ROOT=str(static_root),  # /app/staticfiles in the image
        MEDIA_ROOT=str(work / "media"),  # /data/media in the image
        CONN_MAX_AGE="0",  # no connection left open when pytest drops its database
        WEB_CONCURRENCY="1",  # one worker is enough to answer, and the CPU is shared
    )
    env.update(overrides)
    return env


def test_it_runs_gunicorn_with_the_repository_configuration():
    assert dockerfile_cmd() == ["gunicorn", "-c", "gunicorn.conf.py", "clspdr.wsgi"]
    assert (ROOT / "gunicorn.conf.py").is_file()


@pytest.mark.django_db  # so that pytest-django creates the test database this run needs
def test_it_starts_gunicorn_as_the_image_does_and_answers_healthz(database_url, tmp_path):
    env = _image_environment(database_url, tmp_path)
    assert env["BEHIND_PROXY"] == "1" and env["DEBUG"] == "0"  # production, as shipped
    with gunicorn(env, log_path=tmp_path / "gunicorn.log", host=HOST) as server:
        status, headers, body = server.get("/healthz", headers={"Host": HOST})
        log = server.log()
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["checks"]["database"] == "ok"
    assert "Listening at: http://127.0.0.1:" in log
    assert "Traceback" not in log and "[ERROR]" not in log, log


@pytest.mark.django_db
def test_it_lets_the_proxy_but_nobody_else_claim_https(database_url, tmp_path):
    """Behind the proxy (the shipped .env), X-Forwarded-Proto decides; without one it is
    ignored, even from the loopback, and plain HTTP is redirected."""
    https = {**NOT_HTML, "X-Forwarded-Proto": "https"}
    behind = _image_environment(database_url, tmp_path)
    with gunicorn(behind, log_path=tmp_path / "behind.log", host=HOST) as server:
        assert server.get(PLAIN_VIEW, headers=https)[0] == 204
        status, headers, _ = server.get(PLAIN_VIEW, headers=NOT_HTML)
        assert status == 301 and headers["Location"].startswith("https://")

    direct = _image_environment(database_url, tmp_path, BEHIND_PROXY="0", FORWARDED_ALLOW_IPS="")
    with gunicorn(direct, log_path=tmp_path / "direct.log", host=HOST) as server:
        status, headers, _ = server.get(PLAIN_VIEW, headers=https)
    assert status == 301, "a client claimed HTTPS over plain HTTP and was served"
    assert headers["Location"] == f"https://{HOST}{PLAIN_VIEW}"


def _config_values(**env: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import runpy, json; ns = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: ns[k] for k in ('bind', 'workers', 'timeout', "
        "'graceful_timeout', 'forwarded_allow_ips')}))"
    )
    return subprocess.run(
        [str(VENV_BIN / "python"), "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _config(**env: str) -> dict:
    result = _config_values(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_derives_the_trusted_proxies_from_behind_proxy():
    assert _config(BEHIND_PROXY="0")["forwarded_allow_ips"] == ""
    assert _config()["forwarded_allow_ips"] == ""  # BEHIND_PROXY defaults to off, like Django
    assert _config(BEHIND_PROXY="1")["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert _config(BEHIND_PROXY="1", FORWARDED_ALLOW_IPS="*")["forwarded_allow_ips"] == "*"


def test_it_refuses_trusted_proxies_when_there_is_no_proxy():
    result = _config_values(BEHIND_PROXY="0", FORWARDED_ALLOW_IPS="*")
    assert result.returncode != 0
    assert "FORWARDED_ALLOW_IPS is set but BEHIND_PROXY is off" in result.stderr


def test_it_keeps_the_production_timeouts_and_reads_the_worker_count():
    values = _config()
    assert values["bind"] == ["0.0.0.0:8000"]
    assert values["workers"] == 3
    assert values["timeout"] == 60
    assert _config(WEB_CONCURRENCY="5")["workers"] == 5
