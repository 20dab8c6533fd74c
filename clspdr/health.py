"""`/healthz`: the database decides up or down; everything else only degrades.

Sessions live in the database and background work waits in it, so the site is usable while
Redis, the worker or beat are away: the load balancer must keep sending traffic (200,
"degraded") and only a dead database takes the instance out (503). Each probe gives up after
TIMEOUT_SECONDS and they run side by side, so the answer comes in about a second whatever
hangs; while a probe runs, another health check answers 503 "busy" at once
(clspdr/probe_lock.py).

The body names states and times, never a host, an address or an error message: the view is
public.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clspdr import probes
from clspdr.heartbeats import heartbeats_read, is_stale
from clspdr.probe_lock import probe_slot
from clspdr.probes import DOWN, NOT_CONFIGURED, OK

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
STALE, UNKNOWN = "stale", "unknown"


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    with probe_slot() as granted:
        if not granted:
            busy = JsonResponse({"status": "busy"}, status=503)
            busy["Retry-After"] = "1"
            return busy
        checks, heartbeats = _probe_all()
    if checks["database"] != OK:
        status, code = "down", 503
    elif any(value not in (OK, NOT_CONFIGURED) for value in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks, "heartbeats": heartbeats}, status=code)


def _probe_all() -> tuple[dict[str, str], dict[str, str | None]]:
    # Redis and the broker in two threads while the database is probed here: three hung
    # services cost one timeout, not three.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
    try:
        cache = pool.submit(probes.redis_ping, settings.REDIS_URL, TIMEOUT_SECONDS)
        broker = pool.submit(probes.broker, _broker_url(), TIMEOUT_SECONDS)
        database = probes.database(TIMEOUT_SECONDS)
        checks = {
            "database": database,
            "cache": _outcome(cache),
            "broker": _outcome(broker),
            "static": probes.static_files(),
        }
    finally:
        pool.shutdown(wait=False)
    background = _heartbeats(database_ok=database == OK)
    checks.update({process: state for process, (state, _at) in background.items()})
    stamps = {
        process: at.isoformat() if at else None for process, (_state, at) in background.items()
    }
    return checks, stamps


def _outcome(future: Future[str]) -> str:
    # Each probe bounds itself; this margin only guards against one that would not.
    try:
        return future.result(timeout=TIMEOUT_SECONDS + 0.5)
    except Exception:
        return DOWN


def _broker_url() -> str:
    return "" if settings.CELERY_TASK_ALWAYS_EAGER else settings.CELERY_BROKER_URL


def _heartbeats(*, database_ok: bool) -> dict[str, tuple[str, datetime | None]]:
    """Worker and beat: "ok", "stale" (or never seen), "not_configured" in eager mode."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"worker": (NOT_CONFIGURED, None), "beat": (NOT_CONFIGURED, None)}
    if not database_ok:
        return {"worker": (UNKNOWN, None), "beat": (UNKNOWN, None)}
    try:
        stamps = _read_heartbeats()
    except Exception as exc:
        logger.warning("healthz: heartbeats unreadable: %s", exc)
        return {"worker": (UNKNOWN, None), "beat": (UNKNOWN, None)}
    return {process: (STALE if is_stale(at) else OK, at) for process, at in stamps.items()}


def _read_heartbeats() -> dict[str, datetime | None]:
    """The database just answered the probe; still, this read gets one second, not thirty."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(TIMEOUT_SECONDS * 1000)}")
        return heartbeats_read()
