"""The deployment without Docker: systemd units (deploy/systemd/), their environment file and
the nginx reverse proxy (deploy/nginx/clspdr.conf), as docs/deployment.md installs them.

The units name /opt/clspdr, where the guide puts the code; here they are checked against this
repository (the same files at another path): `systemd-analyze verify` loads them and checks
that every command exists, and `systemd-analyze security` scores their sandboxing.
"""

from __future__ import annotations

import configparser
import re
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests import deployment

ROOT = deployment.ROOT
UNITS = ROOT / "deploy" / "systemd"
INSTALL_DIR = "/opt/clspdr"
SERVICES = ("clspdr-web", "clspdr-worker", "clspdr-beat", "clspdr-backup")
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "SystemCallFilter": "@system-service",
}
needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def _exec_start(name: str) -> list[str]:
    return shlex.split(_unit(f"{name}.service")["Service"]["ExecStart"])


@pytest.fixture
def units_here(tmp_path: Path) -> Path:
    """The units with /opt/clspdr replaced by this repository."""
    for path in UNITS.glob("clspdr-*.*"):
        if path.suffix in (".service", ".timer"):
            text = path.read_text(encoding="utf-8").replace(INSTALL_DIR, str(ROOT))
            (tmp_path / path.name).write_text(text, encoding="utf-8")
    return tmp_path


@needs_systemd_analyze
def test_it_ships_unit_files_systemd_accepts(units_here):
    files = sorted(str(path) for path in units_here.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", *files], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Invalid" not in result.stderr, result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_it_sandboxes_every_service(units_here, name):
    # --threshold: the exposure score, 0 (locked down) to 100; 20 is systemd's "2.0 OK".
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", f"{name}.service"],
        cwd=units_here,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_it_runs_every_service_as_a_dedicated_user_with_hardening(name):
    service = _unit(f"{name}.service")["Service"]
    assert service["User"] == service["Group"] == "clspdr"
    assert service["WorkingDirectory"] == INSTALL_DIR
    assert service["EnvironmentFile"] == "/etc/clspdr/clspdr.env"
    assert service["StateDirectory"] == "clspdr"  # /var/lib/clspdr, MEDIA_ROOT's parent
    for key, value in HARDENING.items():
        assert service[key] == value, (name, key)


@pytest.mark.parametrize("name", SERVICES)
def test_it_starts_commands_that_exist_in_the_repository(name):
    """Each ExecStart names a program of the virtualenv and, for manage.py, a real command."""
    program, *arguments = _exec_start(name)
    assert program.startswith(f"{INSTALL_DIR}/.venv/bin/"), program
    here = ROOT / program.removeprefix(f"{INSTALL_DIR}/")
    assert here.is_file(), here
    if arguments[:1] == ["manage.py"]:
        help_text = subprocess.run(
            [str(here), "manage.py", "help", arguments[1]],
            cwd=ROOT,
            env={"DEBUG": "1", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert help_text.returncode == 0, help_text.stderr
    if here.name == "gunicorn":
        assert (ROOT / arguments[arguments.index("-c") + 1]).is_file()


def test_it_runs_the_same_programs_as_docker_compose():
    services = deployment.compose()["services"]
    web = _exec_start("clspdr-web")
    assert Path(web[0]).name == "gunicorn"
    assert web[1:] == ["-c", "gunicorn.conf.py", "--bind", "127.0.0.1:8000", "clspdr.wsgi"]
    for name in ("worker", "beat"):
        program, *arguments = _exec_start(f"clspdr-{name}")
        compose_program, *compose_arguments = services[name]["command"]
        assert Path(program).name == compose_program == "celery"
        assert _without_schedule(arguments) == _without_schedule(compose_arguments), name
    assert "--enable-remote-control" in _exec_start("clspdr-beat")
    # The schedule survives restarts in the state directory, the only writable place.
    assert "/var/lib/clspdr/celerybeat-schedule" in _exec_start("clspdr-beat")


def _without_schedule(arguments: list[str]) -> list[str]:
    """Beat's schedule file differs: /tmp in a container, the state directory with systemd."""
    if "-s" not in arguments:
        return arguments
    index = arguments.index("-s")
    return arguments[:index] + arguments[index + 2 :]


def test_it_restarts_the_services_and_lets_work_finish_on_stop():
    for name in ("clspdr-web", "clspdr-worker", "clspdr-beat"):
        assert _unit(f"{name}.service")["Service"]["Restart"] == "always", name
    worker = _unit("clspdr-worker.service")["Service"]
    assert worker["KillMode"] == "mixed"  # SIGTERM to the main process: a warm shutdown
    assert worker["TimeoutStopSec"] == "6min"
    assert settings.CELERY_TASK_TIME_LIMIT < 11 * 60
    assert _unit("clspdr-web.service")["Service"]["Type"] == "notify"  # gunicorn tells systemd


def test_it_backs_up_every_night_into_the_only_directory_it_may_write():
    backup = _unit("clspdr-backup.service")["Service"]
    assert backup["Type"] == "oneshot"
    assert _exec_start("clspdr-backup")[1:] == [
        "manage.py", "backup", "create", "/var/backups/clspdr", "--keep-days", "30",
    ]  # fmt: skip
    assert backup["ReadWritePaths"] == "/var/backups/clspdr"
    timer = _unit("clspdr-backup.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Persistent"] == "true"


def test_it_lists_the_same_variables_in_both_environment_files():
    compose_file = deployment.env_file_values(ROOT / ".env.example")
    systemd_file = deployment.env_file_values(UNITS / "clspdr.env.example")
    assert set(compose_file) <= set(systemd_file)
    assert systemd_file["MEDIA_ROOT"].startswith("/var/lib/clspdr/")
    assert systemd_file["STATIC_ROOT"].startswith(f"{INSTALL_DIR}/")
    assert "@127.0.0.1:" in systemd_file["DATABASE_URL"]
    assert systemd_file["FORWARDED_ALLOW_IPS"] == "127.0.0.1,::1"  # nginx on the same host


def test_it_ships_a_manage_wrapper_with_the_services_environment():
    wrapper = UNITS / "clspdr-manage"
    assert wrapper.stat().st_mode & 0o111
    assert subprocess.run(["sh", "-n", str(wrapper)], check=False).returncode == 0
    text = wrapper.read_text(encoding="utf-8")
    for fragment in (
        "--uid=clspdr",
        f"--working-directory={INSTALL_DIR}",
        "EnvironmentFile=/etc/clspdr/clspdr.env",
        f"{INSTALL_DIR}/.venv/bin/python manage.py",
    ):
        assert fragment in text, fragment


# --- nginx --------------------------------------------------------------------------------


NGINX = ROOT / "deploy" / "nginx" / "clspdr.conf"


def test_it_overwrites_the_forwarded_headers_gunicorn_and_django_trust():
    config = NGINX.read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in config
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in config
    assert "proxy_set_header Host $host;" in config
    assert "server 127.0.0.1:8000;" in config
    assert "return 301 https://$host$request_uri;" in config
    # gunicorn gives up on a request first (gunicorn.conf.py): the proxy waits a little longer.
    gunicorn_timeout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["timeout"]
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        match = re.search(rf"^\s*{directive} (\d+)s;", config, re.M)
        assert match, directive
        assert gunicorn_timeout < int(match.group(1)) <= gunicorn_timeout + 30


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_it_ships_an_nginx_configuration_nginx_accepts(tmp_path):
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=clspdr.example.org", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (
        NGINX.read_text(encoding="utf-8")
        .replace("/etc/letsencrypt/live/clspdr.example.org/fullchain.pem", str(certificate))
        .replace("/etc/letsencrypt/live/clspdr.example.org/privkey.pem", str(key))
    )
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp_paths = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; {temp_paths} include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
