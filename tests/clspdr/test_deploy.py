"""Production configuration (T-39, T-40) and the deployment files, checked without Docker."""

from __future__ import annotations

import json
import os
import re
import runpy
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from tests import deployment

ROOT = deployment.ROOT

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "clspdr.example.org",
    "DATABASE_URL": "postgres://clspdr:secret@db:5432/clspdr",
    "REDIS_URL": "redis://redis:6379/0",
    "BEHIND_PROXY": "1",
    "SITE_URL": "https://clspdr.example.org",
    "DEFAULT_FROM_EMAIL": "CLSPDR <clspdr@example.org>",
    "ADMINS": "Service informatique <si@example.org>",
}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run with a clean environment: only what production would set, nothing from the test run
    (but the same settings module as this run)."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "clspdr.settings"),
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


# --- Settings ---------------------------------------------------------------------------------


def test_it_passes_the_deployment_checklist_with_production_variables():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "site_url", [None, "http://127.0.0.1:8000", "http://localhost", "https://[::1]:8443/"]
)
def test_it_refuses_to_start_with_a_local_site_url_when_debug_is_off(site_url):
    """Links in reminders and password resets would lead to the recipient's own machine."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SITE_URL"}
    if site_url is not None:
        env["SITE_URL"] = site_url
    result = _run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "SITE_URL must be the public address of the site" in result.stderr


@pytest.mark.parametrize(
    "sender", [None, "clspdr@localhost", "CLSPDR <clspdr@127.0.0.1>", "clspdr", "a@b.localhost"]
)
def test_it_refuses_to_start_with_a_local_sender_when_debug_is_off(sender):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEFAULT_FROM_EMAIL"}
    if sender is not None:
        env["DEFAULT_FROM_EMAIL"] = sender
    result = _run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "DEFAULT_FROM_EMAIL must be an address of the commune's mail domain" in result.stderr


def test_it_keeps_the_local_defaults_in_development():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("SITE_URL", "DEFAULT_FROM_EMAIL")}
    result = _run(["manage.py", "check"], **{**env, "DEBUG": "1"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("port", "site_url"), [(None, "http://127.0.0.1:8000"), ("8123", "http://127.0.0.1:8123")]
)
def test_it_links_e_mails_to_the_port_make_run_serves_in_development(port, site_url):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("SITE_URL", "DEFAULT_FROM_EMAIL")}
    env["DEBUG"] = "1"
    if port is not None:
        env["PORT"] = port
    script = (
        "import django; django.setup()\nfrom django.conf import settings\nprint(settings.SITE_URL)"
    )
    result = _run(["-c", script], **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == site_url


def test_it_is_not_in_debug_mode_unless_asked():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEBUG"}
    assert _production_settings(**env)["DEBUG"] is False


def _production_settings(**env: str) -> dict:
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "names = ['DEBUG', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',\n"
        "  'SECURE_SSL_REDIRECT', 'SECURE_REDIRECT_EXEMPT', 'SESSION_COOKIE_SECURE',\n"
        "  'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_NAME', 'CSRF_COOKIE_NAME',\n"
        "  'SESSION_COOKIE_HTTPONLY', 'SECURE_PROXY_SSL_HEADER', 'ALLAUTH_TRUSTED_PROXY_COUNT',\n"
        "  'X_FRAME_OPTIONS', 'CSRF_FAILURE_VIEW']\n"
        "out = {n: getattr(s, n, None) for n in names}\n"
        "out['static'] = s.STORAGES['staticfiles']['BACKEND']\n"
        "out['hashers'] = s.PASSWORD_HASHERS\n"
        "out['middleware'] = s.MIDDLEWARE\n"
        "print(json.dumps(out))\n"
    )
    result = _run(["-c", script], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production() -> dict:
    return _production_settings(**PRODUCTION_ENV)


def test_it_turns_https_hardening_on_by_default_in_production(production):
    values = production
    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["static"].startswith("whitenoise.")
    assert values["hashers"][0].endswith("Argon2PasswordHasher")


def test_it_wires_the_session_and_csrf_hardening_in_production(production):
    values = production
    middleware = values["middleware"]
    session = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert middleware[session + 1 : session + 3] == [
        "clspdr.middleware.IdleSessionRefreshMiddleware",
        "clspdr.middleware.AbsoluteSessionLifetimeMiddleware",
    ]
    assert "clspdr.middleware.ClearSiteDataOnLogoutMiddleware" in middleware
    assert "clspdr.middleware.NoStoreForAuthenticatedMiddleware" in middleware
    assert values["CSRF_FAILURE_VIEW"] == "clspdr.errors.csrf_failure"


def test_it_refuses_an_idle_timeout_no_longer_than_the_refresh_interval():
    """The idle deadline is pushed forward once a minute (clspdr/middleware.py): a timeout of
    a minute or less would end sessions in the middle of their activity."""
    result = _run(["manage.py", "check"], **{**PRODUCTION_ENV, "SESSION_IDLE_TIMEOUT": "60"})
    assert result.returncode != 0
    assert "SESSION_IDLE_TIMEOUT must be longer than one minute" in result.stderr
    assert _production_settings(**{**PRODUCTION_ENV, "SESSION_IDLE_TIMEOUT": "61"})


def test_it_throttles_logins_per_client_not_per_proxy(production):
    """Behind the reverse proxy every request comes from the proxy's address: without this,
    ten failed logins anywhere would lock everybody out for a minute."""
    assert production["ALLAUTH_TRUSTED_PROXY_COUNT"] == 1
    direct = {**PRODUCTION_ENV, "BEHIND_PROXY": "0"}
    assert _production_settings(**direct)["ALLAUTH_TRUSTED_PROXY_COUNT"] == 0


# --- Every environment variable is documented ----------------------------------------------------


def _variables_read_by_the_platform() -> set[str]:
    """What clspdr/settings.py and gunicorn.conf.py read through clspdr/env.py."""
    names: set[str] = set()
    for path in (ROOT / "clspdr" / "settings.py", ROOT / "gunicorn.conf.py"):
        source = path.read_text(encoding="utf-8")
        names |= set(
            re.findall(r"env_(?:str|bool|int|list|addresses)\(\s*\"([A-Z0-9_]+)\"", source)
        )
    return names


def test_it_finds_the_variables_read_by_the_platform():
    read = _variables_read_by_the_platform()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ADMINS"} <= read
    assert {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "BEHIND_PROXY"} <= read  # gunicorn.conf.py


def test_it_documents_every_environment_variable():
    doc = (ROOT / "README.md").read_text(encoding="utf-8")
    table_names = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", doc, re.M))
    missing = _variables_read_by_the_platform() - table_names
    assert not missing, f"add to the table in README.md: {sorted(missing)}"


def _variables_read_by_gunicorn_and_the_backups() -> set[str]:
    config = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    names = set(re.findall(r"env_(?:str|bool|int|list)\(\s*\"([A-Z0-9_]+)\"", config))
    names |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z0-9_]+)\"", config))
    command = (ROOT / "clspdr/management/commands/backup.py").read_text(encoding="utf-8")
    names |= set(re.findall(r"^PASSPHRASE_VARIABLE = \"([A-Z0-9_]+)\"", command, re.M))
    return names


def test_it_documents_the_variables_of_gunicorn_and_the_backups():
    names = _variables_read_by_gunicorn_and_the_backups()
    assert {"BEHIND_PROXY", "FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY"} <= names
    assert "BACKUP_PASSPHRASE_FILE" in names
    doc = (ROOT / "README.md").read_text(encoding="utf-8")
    table_names = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", doc, re.M))
    assert not names - table_names, f"add to the table in README.md: {sorted(names - table_names)}"
    systemd = deployment.env_file_values(ROOT / "deploy/systemd/clspdr.env.example")
    assert not names - set(systemd)


def test_it_lists_every_environment_variable_in_the_example_file():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    missing = _variables_read_by_the_platform() - listed
    assert not missing, f"add to .env.example: {sorted(missing)}"


# --- docker-compose.yml ---------------------------------------------------------------------------

APP_SERVICES = ("migrate", "web", "worker", "beat", "backup")


@pytest.fixture(scope="module")
def compose() -> dict:
    pytest.importorskip("yaml")
    return deployment.compose()


def test_it_declares_the_production_services(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat", "backup"}
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    # A tool, run on demand: `up` does not start it.
    assert services["backup"]["profiles"] == ["tools"]
    assert services["backup"]["entrypoint"] == ["python", "manage.py", "backup"]


def test_it_gives_every_service_a_restart_policy(compose):
    for name, service in compose["services"].items():
        expected = "no" if name in ("migrate", "backup") else "unless-stopped"
        assert service["restart"] == expected, name


def test_it_gives_the_application_env_file_to_the_application_containers_only(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        assert deployment.env_files(services[name]) == [".env"], name
    assert deployment.env_files(services["db"]) == [".env.db"]
    assert "env_file" not in services["redis"] and "environment" not in services["redis"]


def test_it_keeps_the_application_secrets_out_of_the_database_container(compose):
    database = deployment.service_environment("db")
    assert set(database) == {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    application = deployment.env_file_values(ROOT / ".env.example")
    assert not set(database) & set(application)
    for secret in ("SECRET_KEY", "EMAIL_HOST_PASSWORD", "SECRET_KEY_FALLBACKS"):
        assert secret in application and secret not in database
    assert deployment.service_environment("redis") == {}


def test_it_keeps_both_env_files_out_of_git_and_of_the_image():
    ignored_by_git = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    ignored_by_docker = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for name in (".env", ".env.db", "backup-passphrase"):
        assert name in ignored_by_git, name
    assert {".env", ".env.*", "backup-passphrase", "backups"} <= set(ignored_by_docker)


def test_it_checks_the_health_of_db_redis_and_web(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "/healthz" in web_check and "urllib" in web_check and "Host" in web_check
    assert "curl" not in web_check and "$" not in web_check


def test_it_checks_the_health_of_the_worker_and_beat(compose):
    services = compose["services"]
    for name, node in (("worker", "celery"), ("beat", "celerybeat")):
        check = services[name]["healthcheck"]
        kind, command = check["test"]
        assert kind == "CMD-SHELL", name
        # $$ is compose's escape: the container's shell expands $HOSTNAME, the node's host.
        assert command.startswith("celery -A clspdr inspect ping"), name
        assert f"--destination {node}@$$HOSTNAME" in command, name
        assert check["retries"] >= 3 and "start_period" in check, name
    assert "--enable-remote-control" in services["beat"]["command"]


def _seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert "".join(f"{n}{u}" for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_it_waits_for_running_work_before_killing_a_container(compose):
    services = compose["services"]
    worker = _seconds(services["worker"]["stop_grace_period"])
    assert worker > settings.CELERY_TASK_TIME_LIMIT  # the task ends, or Celery kills it first
    web = _seconds(services["web"]["stop_grace_period"])
    graceful = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    assert web > graceful
    assert _seconds(services["beat"]["stop_grace_period"]) >= 10
    assert _seconds(services["db"]["stop_grace_period"]) >= 30


def test_it_starts_the_app_only_once_the_data_is_ready_and_migrated(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("migrate", "web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        if name != "migrate":
            assert depends["migrate"] == {"condition": "service_completed_successfully"}, name


def test_it_runs_gunicorn_and_celery_as_documented(compose):
    services = compose["services"]
    assert services["web"]["command"] == deployment.dockerfile_cmd()
    worker = " ".join(services["worker"]["command"])
    assert "celery -A clspdr worker" in worker and "--max-tasks-per-child 50" in worker


def test_it_runs_exactly_one_beat(compose):
    beats = [
        name
        for name, service in compose["services"].items()
        if " beat" in " ".join(service.get("command", []))
    ]
    assert beats == ["beat"]
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1


def test_it_keeps_data_in_named_volumes(compose):
    services = compose["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in ("web", "worker"):
        assert "media:/data/media" in services[name]["volumes"], name
    assert {"pgdata", "media", "redisdata"} <= set(compose["volumes"])


def test_it_writes_backups_only_where_the_host_prepared_it(compose):
    mounts = {
        volume["target"]: volume
        for volume in compose["services"]["backup"]["volumes"]
        if isinstance(volume, dict)
    }
    for target in ("/backups", "/run/secrets/backup-passphrase"):
        assert mounts[target]["type"] == "bind"
        assert mounts[target]["bind"]["create_host_path"] is False, target
    assert mounts["/run/secrets/backup-passphrase"]["read_only"] is True
    environment = compose["services"]["backup"]["environment"]
    assert environment["BACKUP_PASSPHRASE_FILE"] == "/run/secrets/backup-passphrase"


def test_it_exposes_the_web_port_on_the_loopback_only(compose):
    assert compose["services"]["web"]["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("db", "redis", "worker", "beat", "migrate", "backup"):
        assert "ports" not in compose["services"][name], name


# --- Dockerfile -------------------------------------------------------------------------------


def test_it_builds_a_slim_non_root_image_with_the_pdf_libraries():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert (
        "FROM ${PYTHON_IMAGE}" in dockerfile and "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    )
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in dockerfile
    assert "uv sync --locked --no-dev" in dockerfile
    assert "--mount=type=cache" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert deployment.dockerfile_cmd() == ["gunicorn", "-c", "gunicorn.conf.py", "clspdr.wsgi"]


def test_it_ships_the_postgresql_client_of_the_database_server(compose):
    """pg_dump 17 writes `SET transaction_timeout`, which a PostgreSQL 15 server refuses at
    restore: the image's client has the db service's major version."""
    dockerfile = deployment.dockerfile()
    server_major = compose["services"]["db"]["image"].split(":")[1].split(".")[0]
    assert f"postgresql-client-{server_major}" in dockerfile
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in dockerfile  # where client-15 exists
    assert re.search(r"\bgpg\b", dockerfile) and "gpg-agent" in dockerfile


def test_it_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", ".git", ".venv", "var"):
        assert entry in ignored, entry
