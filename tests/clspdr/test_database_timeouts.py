"""Every PostgreSQL connection is bounded (issue 7 point 1): connecting gives up after
DB_CONNECT_TIMEOUT, and the server cancels long statements, lock waits and idle transactions."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tests.production_env import production_env, run_python
from tests.silent_server import SilentServer

SHOW_OPTIONS = (
    "import json, django; django.setup()\n"
    "from django.conf import settings\n"
    "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))\n"
)


def _options(**env: str | None) -> dict[str, object]:
    result = run_python(["-c", SHOW_OPTIONS], production_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_gives_up_connecting_to_a_database_that_never_answers():
    """Before: psycopg's default, 130 s, for every request that touched the database."""
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "try:\n"
        "    connection.ensure_connection()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    with SilentServer() as database:
        env = production_env(DATABASE_URL=database.postgresql_url, DB_CONNECT_TIMEOUT="2")
        result = run_python(["-c", script], env, timeout=30)  # raises if it hangs
        assert database.accepted.is_set()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OperationalError"), result.stdout
    assert "timeout" in result.stdout


def test_it_sets_a_connect_statement_lock_and_idle_timeout_on_every_connection():
    assert _options() == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=30s -c lock_timeout=10s "
        "-c idle_in_transaction_session_timeout=60s",
    }


def test_it_takes_the_timeouts_from_the_environment_and_keeps_the_url_options():
    options = _options(
        DATABASE_URL="postgres://clspdr:secret@db:5432/clspdr?options=-c%20search_path%3Dplan",
        DB_CONNECT_TIMEOUT="3",
        DB_STATEMENT_TIMEOUT="0",
        DB_LOCK_TIMEOUT="2",
        DB_IDLE_IN_TRANSACTION_TIMEOUT="120",
    )
    assert options["connect_timeout"] == 3
    assert options["options"] == (
        "-c search_path=plan -c statement_timeout=0s -c lock_timeout=2s "
        "-c idle_in_transaction_session_timeout=120s"
    )


def test_it_refuses_a_timeout_that_is_not_a_number():
    result = run_python(["-c", SHOW_OPTIONS], production_env(DB_STATEMENT_TIMEOUT="30s"))
    assert result.returncode != 0
    assert "DB_STATEMENT_TIMEOUT must be an integer" in result.stderr


def test_it_applies_them_on_the_postgresql_server(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    with connection.cursor() as cursor:
        shown = {}
        for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
    assert shown == {
        "statement_timeout": "30s",
        "lock_timeout": "10s",
        "idle_in_transaction_session_timeout": "1min",
    }
