"""`/healthz`: the database decides up or down; Redis and the broker only degrade.

Sessions live in the database and background work waits in it, so the site is usable while
Redis is away: the load balancer must keep sending traffic (200, "degraded") and only a dead
database takes the instance out (503). Each probe is bounded (1 s) and never raises.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)

OK, DOWN, NOT_CONFIGURED = "ok", "down", "not_configured"
TIMEOUT_SECONDS = 1


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check_database(),
        "cache": _check_redis(),
        "broker": _check_broker(),
    }
    if checks["database"] != OK:
        status, code = "down", 503
    elif DOWN in checks.values():
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        logger.warning("healthz: database unreachable: %s", exc)
        return DOWN
    return OK


def _check_redis() -> str:
    """Ping the Redis behind the cache with our own short timeout, not the cache's 2 s."""
    url = settings.REDIS_URL
    if not url:
        return NOT_CONFIGURED
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        logger.warning("healthz: redis unreachable: %s", exc)
        return DOWN
    return OK


def _check_broker() -> str:
    """Can Celery reach its broker? Eager mode (no REDIS_URL) has none to reach."""
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.CELERY_BROKER_URL.startswith("memory://"):
        return NOT_CONFIGURED
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=TIMEOUT_SECONDS,
            transport_options={
                "socket_connect_timeout": TIMEOUT_SECONDS,
                "socket_timeout": TIMEOUT_SECONDS,
            },
        ) as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_SECONDS
            )
    except Exception as exc:
        logger.warning("healthz: broker unreachable: %s", exc)
        return DOWN
    return OK
