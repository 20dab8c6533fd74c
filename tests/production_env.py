"""The environment of a production process, for tests that start one (settings, gunicorn).

Nothing inherited from the test run but PATH: each test states what production would set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-only-not-a-secret-test-only-not-a-secret-test-only-0000"


def production_env(**overrides: str | None) -> dict[str, str]:
    """DEBUG off with every required variable set; `overrides` adds, or removes with None."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "clspdr.settings"),
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "HTTPS": "0",  # plain HTTP on the loopback, as behind the proxy
        "DATABASE_URL": "postgres://nobody:nothing@127.0.0.1:1/nothing",  # refused
        "SITE_URL": "https://clspdr.example.org",
        "DEFAULT_FROM_EMAIL": "CLSPDR <clspdr@example.org>",
    }
    given = {**env, **overrides}
    return {name: value for name, value in given.items() if value is not None}


def run_python(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
