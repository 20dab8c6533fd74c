"""PostgreSQL connection options: every connection is bounded, in time as in locks."""

from __future__ import annotations

from typing import Any


def postgresql_timeouts(
    options: dict[str, Any], *, connect: int, statement: int, lock: int, idle_in_transaction: int
) -> dict[str, Any]:
    """OPTIONS for Django's PostgreSQL backend: psycopg's connect timeout and server settings.

    `connect_timeout` bounds the whole connection, startup and authentication included (psycopg
    enforces it, at least 2 s). The server settings go in libpq's `options`, after any that
    DATABASE_URL already carries; seconds, 0 meaning no limit, as in PostgreSQL.
    """
    server = {
        "statement_timeout": statement,
        "lock_timeout": lock,
        "idle_in_transaction_session_timeout": idle_in_transaction,
    }
    flags = " ".join(f"-c {name}={seconds}s" for name, seconds in server.items())
    given = str(options.get("options", "")).strip()
    return {
        **options,
        "connect_timeout": options.get("connect_timeout", connect),
        "options": f"{given} {flags}".strip(),
    }
