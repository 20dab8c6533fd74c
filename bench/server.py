"""Gunicorn as production runs it (2 sync workers), on a free port of 127.0.0.1.

The application server and the floor's (bench/floor_wsgi.py) are the same command with
another WSGI application and settings module; the floor answers its health check on its only
URL.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench.load import HOST

WORKERS = 2
START_TIMEOUT = 120.0  # Django and the apps load slowly on a machine busy with other work
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _healthy(port: int, health_path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", health_path, headers={"Host": HOST})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def gunicorn(
    env: Mapping[str, str],
    log: Path,
    *,
    settings_module: str = "bench.settings",
    wsgi_app: str = "clspdr.wsgi:application",
    health_path: str = "/healthz",
) -> Iterator[int]:
    """Start gunicorn, yield its port once `health_path` answers, stop it whatever happens."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        wsgi_app,
        f"--bind={HOST}:{port}",
        f"--workers={WORKERS}",
        "--worker-class=sync",
        "--timeout=30",
        f"--error-logfile={log}",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=Path.cwd(),
        )
    try:
        _wait_until_healthy(process, port, log, health_path)
        yield port
    finally:
        _stop(process)


def _wait_until_healthy(
    process: subprocess.Popen[bytes], port: int, log: Path, health_path: str
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{_tail(log)}")
        if _healthy(port, health_path):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"gunicorn did not answer {health_path} in {START_TIMEOUT:.0f} s:\n{_tail(log)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the arbiter we started (it stops its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def version() -> str:
    try:
        from importlib.metadata import version as package_version

        return package_version("gunicorn")
    except Exception:
        return "?"


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
