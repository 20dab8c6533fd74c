"""Gunicorn as production runs it (gunicorn.conf.py), with a database that never answers.

Issue 7's Done-when: with a database that accepts connections and never answers, the login
page and static files still answer within 3 s, and /healthz answers 503 within 3 s — also
when several health checks arrive at once, which used to hold every worker.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.production_env import ROOT, production_env, run_python
from tests.silent_server import SilentServer

GUNICORN = Path(sys.executable).with_name("gunicorn")
CLIENT_TIMEOUT = 3.0  # seconds: the promise
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ \[\d+\] "
)

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def _gunicorn(env: dict[str, str], log_path: Path, *args: str) -> Iterator[Server]:
    port = _free_port()
    command = [str(GUNICORN), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", *args]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(port, process, log_path)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _fetch(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_until_serving(server: Server, path: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited ({server.process.returncode}):\n{server.log()}")
        try:
            if _fetch(server.url(path), timeout=30)[0] == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn never served {path}:\n{server.log()}")
            time.sleep(0.2)


def _all_at_once(urls: list[str], timeout: float) -> list[tuple[int, str] | BaseException]:
    """GET every URL in its own thread at the same time; each gets `timeout` seconds."""
    results: list[tuple[int, str] | BaseException] = [TimeoutError("not finished")] * len(urls)

    def get(index: int, url: str) -> None:
        try:
            results[index] = _fetch(url, timeout)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=get, args=item, daemon=True) for item in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 10)
    return results


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("static")
    result = run_python(
        ["manage.py", "collectstatic", "--noinput", "-v0"], production_env(STATIC_ROOT=str(root))
    )
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def stylesheet(static_root: Path) -> str:
    hashed = next((static_root / "css").glob("clspdr.*.css"))
    return f"/static/css/{hashed.name}"


@dataclass
class HungRun:
    results: dict[str, list[tuple[int, str] | BaseException]]
    log: str


@pytest.fixture(scope="module")
def hung_database_run(static_root, stylesheet, tmp_path_factory) -> Iterator[HungRun]:
    """Two workers, a database that never answers, then three health checks, the login page
    twice and a stylesheet, all at once."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with SilentServer() as database:
        env = production_env(
            STATIC_ROOT=str(static_root), DATABASE_URL=database.postgresql_url, LOG_LEVEL="INFO"
        )
        env["WEB_CONCURRENCY"] = "2"
        with _gunicorn(env, log_path) as server:
            _wait_until_serving(server, stylesheet)
            # Each worker imports its views and compiles its templates on its first page.
            _all_at_once([server.url("/comptes/login/")] * 4, timeout=60)
            paths = {"healthz": ["/healthz"] * 3, "login": ["/comptes/login/"] * 2}
            paths["static"] = [stylesheet]
            urls = [server.url(path) for group in paths.values() for path in group]
            answers = iter(_all_at_once(urls, timeout=CLIENT_TIMEOUT))
            results = {name: [next(answers) for _ in group] for name, group in paths.items()}
        yield HungRun(results, server.log())


def test_it_keeps_the_login_page_and_static_files_up_when_the_database_never_answers(
    hung_database_run,
):
    results = hung_database_run.results
    for answer in results["login"] + results["static"]:
        assert isinstance(answer, tuple), f"no answer within {CLIENT_TIMEOUT} s: {answer!r}"
        assert answer[0] == 200
    assert 'name="password"' in results["login"][0][1]


def test_it_answers_503_to_health_checks_within_3_seconds_when_the_database_never_answers(
    hung_database_run,
):
    statuses = []
    for answer in hung_database_run.results["healthz"]:
        assert isinstance(answer, tuple), f"no answer within {CLIENT_TIMEOUT} s: {answer!r}"
        assert answer[0] == 503
        statuses.append(re.search(r'"status": "(\w+)"', answer[1]).group(1))  # type: ignore[union-attr]
    assert "down" in statuses and set(statuses) <= {"down", "busy"}, statuses


def test_it_writes_gunicorn_and_django_logs_in_one_format(hung_database_run):
    lines = [line for line in hung_database_run.log.splitlines() if line.strip()]
    assert lines
    strangers = [line for line in lines if not LOG_LINE.match(line)]
    assert not strangers, "\n".join(strangers)
    loggers = {line.split()[2] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "clspdr.probes"} <= loggers
    # /healthz's 503 is the probe's warning, not also Django's "Service Unavailable" error.
    assert "Service Unavailable" not in hung_database_run.log


# --- BEHIND_PROXY and --forwarded-allow-ips on the command line (on_starting) ---


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"BEHIND_PROXY": "0"}, ["--forwarded-allow-ips=*"], "BEHIND_PROXY=0"),
        ({"BEHIND_PROXY": "1"}, ["--forwarded-allow-ips="], "BEHIND_PROXY=1"),
    ],
)
def test_it_refuses_to_start_when_gunicorn_and_django_disagree_on_the_proxy(
    env, args, message, tmp_path
):
    log_path = tmp_path / "gunicorn.log"
    with _gunicorn(production_env(**env), log_path, *args) as server:
        try:
            server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gunicorn started anyway:\n{server.log()}")
    assert server.process.returncode != 0
    assert message in server.log() and "forwarded-allow-ips" in server.log()
