"""The probes behind /healthz: each gives up after `timeout` seconds and never raises.

A probe answers OK or DOWN (or NOT_CONFIGURED); the caller decides what that means for the
site. They run in the health view only; nothing here touches a request or a user.
"""

from __future__ import annotations

import logging
import math
import select
import time
from typing import Any

import redis
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import connection
from kombu import Connection
from psycopg import pq
from psycopg.conninfo import make_conninfo
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

OK, DOWN, NOT_CONFIGURED, MISSING = "ok", "down", "not_configured", "missing"


# --- Database -----------------------------------------------------------------------------------


def database(timeout: float) -> str:
    """Connect and run `SELECT 1` within `timeout`, on a connection of the probe's own.

    Not Django's connection: psycopg will not give up connecting before 2 s, and a thread's
    persistent connection to a server that stopped answering would hang the probe. SQLite
    (development) cannot hang that way and is asked directly.
    """
    params = postgresql_params()
    try:
        if params is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        else:
            postgresql(params, timeout)
    except Exception as exc:
        logger.warning("healthz: database unreachable: %s", exc)
        return DOWN
    return OK


def postgresql_params() -> dict[str, Any] | None:
    """What the site connects to, for libpq; None when the database is not PostgreSQL."""
    if connection.vendor != "postgresql":
        return None
    return libpq_params(connection.get_connection_params())


def libpq_params(params: dict[str, Any]) -> dict[str, Any]:
    """Django's psycopg arguments minus the Python-side ones (adapters, cursor class…)."""
    known = {default.keyword.decode() for default in pq.Conninfo.get_defaults()}
    return {key: value for key, value in params.items() if key in known}


def postgresql(params: dict[str, Any], timeout: float) -> None:
    """Raise unless the server answers `SELECT 1` within `timeout` seconds.

    libpq's non-blocking interface with our own deadline: nothing here can wait longer, and
    the socket is closed whatever happens.
    """
    deadline = time.monotonic() + timeout
    conninfo = make_conninfo("", **{**params, "application_name": "clspdr-healthz"})
    pgconn = pq.PGconn.connect_start(conninfo.encode())
    try:
        _connect(pgconn, deadline)
        pgconn.send_query(b"SELECT 1")
        _flush(pgconn, deadline)
        _receive(pgconn, deadline)
    finally:
        pgconn.finish()


def _connect(pgconn: pq.abc.PGconn, deadline: float) -> None:
    status = pq.PollingStatus.WRITING
    while status != pq.PollingStatus.OK:
        if status == pq.PollingStatus.FAILED or pgconn.status == pq.ConnStatus.BAD:
            raise ConnectionError(_error(pgconn))
        _wait(pgconn, deadline, write=status == pq.PollingStatus.WRITING)
        status = pq.PollingStatus(pgconn.connect_poll())


def _flush(pgconn: pq.abc.PGconn, deadline: float) -> None:
    while pgconn.flush():
        _wait(pgconn, deadline, write=True)


def _receive(pgconn: pq.abc.PGconn, deadline: float) -> None:
    pgconn.consume_input()
    while pgconn.is_busy():
        _wait(pgconn, deadline, write=False)
        pgconn.consume_input()
    result = pgconn.get_result()
    if result is None or result.status != pq.ExecStatus.TUPLES_OK:
        raise ConnectionError(_error(pgconn))


def _wait(pgconn: pq.abc.PGconn, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no answer in time")
    socket = pgconn.socket
    readable, writable, _ = select.select(
        [] if write else [socket], [socket] if write else [], [], remaining
    )
    if not (readable or writable):
        raise TimeoutError("no answer in time")


def _error(pgconn: pq.abc.PGconn) -> str:
    return pgconn.error_message.decode(errors="replace").strip() or "connection failed"


# --- Redis and the broker ---------------------------------------------------------------------


def redis_ping(url: str, timeout: float) -> str:
    """PING the Redis behind the cache: one attempt (redis-py retries three times by default)."""
    if not url:
        return NOT_CONFIGURED
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        logger.warning("healthz: redis unreachable: %s", exc)
        return DOWN
    return OK


def broker(url: str, timeout: float) -> str:
    """Can Celery reach its broker? Eager mode (no REDIS_URL) has none to reach."""
    if not url or url.startswith("memory://"):
        return NOT_CONFIGURED
    try:
        with Connection(
            url,
            connect_timeout=timeout,
            transport_options={
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
            },
        ) as conn:
            conn.ensure_connection(
                max_retries=0, interval_start=0, interval_step=0, timeout=math.ceil(timeout)
            )
    except Exception as exc:
        logger.warning("healthz: broker unreachable: %s", exc)
        return DOWN
    return OK


# --- Static files -----------------------------------------------------------------------------


def static_files() -> str:
    """Did collectstatic run? With the manifest storage (production) every page names its
    stylesheet through the manifest; without it the pages cannot render."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return NOT_CONFIGURED
    return OK if staticfiles_storage.hashed_files else MISSING
