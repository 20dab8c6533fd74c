"""A worker that outlives a Redis outage (issue 7 point 5).

By default a Celery worker gives up reconnecting after 100 attempts, about 50 minutes, and
exits for good. The settings make it retry forever (tests/clspdr/test_background_jobs.py
checks them); here a real worker loses its own Redis server, says it will retry without
limit, and runs tasks again once Redis is back. A 50-minute outage is not reproduced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from celery import Celery

from tests.test_redis_outage import REDIS_SERVER, OwnRedis, _free_port

if TYPE_CHECKING:
    from tests.worker import StartWorker

pytest_plugins = ["tests.worker"]
pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]


def _log_line(worker, needle: str, *, count: int = 1) -> str | None:
    lines = [line for line in worker.log().splitlines() if needle in line]
    return lines[-1] if len(lines) >= count else None


def test_it_keeps_the_worker_alive_through_a_redis_outage(
    start_celery_worker: StartWorker, tmp_path: Path
):
    redis = OwnRedis(port=_free_port(), workdir=tmp_path)
    redis.start()
    try:
        worker = start_celery_worker(env={"REDIS_URL": redis.url})
        connected = f"Connected to redis://:**@127.0.0.1:{redis.port}/0"  # (password masked)
        assert _log_line(worker, connected)

        redis.stop()

        retry = worker.wait_for(
            lambda: _log_line(worker, "Trying again"), timeout=60, what="a reconnection attempt"
        )
        assert retry.rstrip().endswith("/None)"), f"a bounded number of attempts: {retry}"

        redis.start()

        worker.wait_for(
            lambda: _log_line(worker, connected, count=2), timeout=60, what="a reconnection"
        )
        probe = Celery("probe", broker=redis.url)
        sent = probe.send_task(
            "clspdr.tasks.clear_expired_sessions_task", queue=worker.queue, routing_key=worker.queue
        )
        assert "succeeded" in worker.wait_for_task(sent.id, timeout=60)
    finally:
        redis.stop()
