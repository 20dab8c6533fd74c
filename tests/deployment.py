"""The deployment files as the tests read them: docker-compose.yml, the Dockerfile, the env file
templates, and a gunicorn started from the repository exactly as the image starts it.

There is no Docker engine in the test environment: the compose file is read as YAML and each
service's environment is rebuilt from the templates its env files are copied from.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
READY_TIMEOUT = 90.0  # seconds: gunicorn imports Django in its worker on a shared, busy CPU


def compose() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def env_file_values(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file, comments and blank lines skipped."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match[1]] = match[2]
    return values


def env_files(service: dict[str, Any]) -> list[str]:
    files = service.get("env_file", [])
    return [files] if isinstance(files, str) else list(files)


def service_environment(name: str) -> dict[str, str]:
    """What the container of service `name` receives: each env file's template (`.env` is
    copied from `.env.example`), then the service's own `environment:`."""
    service = compose()["services"][name]
    values: dict[str, str] = {}
    for env_file in env_files(service):
        values.update(env_file_values(ROOT / f"{env_file}.example"))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    values.update({key: str(value) for key, value in environment.items()})
    return values


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", dockerfile(), re.M)
    assert match, "the Dockerfile has no exec-form CMD"
    return list(json.loads(match[1]))


def dockerfile_runtime_env() -> dict[str, str]:
    """The ENV of the last stage (the image that runs), continuation lines joined."""
    last_stage = dockerfile().rsplit("\nFROM ", 1)[1]
    joined = last_stage.replace("\\\n", " ")
    values: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", joined, re.M):
        values.update(dict(re.findall(r"([A-Z_]+)=(\S+)", line)))
    return values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, *, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One request, redirects not followed: (status, headers, body)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextmanager
def gunicorn(env: dict[str, str], *, log_path: Path, host: str) -> Iterator[Gunicorn]:
    """The Dockerfile's CMD, run from the repository with `env` and nothing else; listening on a
    free loopback port (gunicorn's own GUNICORN_CMD_ARGS, which overrides the config file's bind)."""
    port = free_port()
    full_env = {
        **env,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(log_path.parent),
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            dockerfile_cmd(),
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(port, process, log_path)
    try:
        _wait_until_answering(server, host=host)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"----- gunicorn log -----\n{server.log()}")


def _wait_until_answering(server: Gunicorn, *, host: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited ({server.process.returncode}):\n{server.log()}")
        try:
            server.get("/healthz", headers={"Host": host})
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer:\n{server.log()}") from None
            time.sleep(0.2)
