"""A real Celery worker for tests: a `celery worker` subprocess on Redis, reading the test database.

Eager mode only emulates Celery: no serialization, no routing, no second process. The tests
that use the `real_celery_worker` fixture run the real thing, as production does. Load it with
`pytest_plugins = ["tests.worker"]` (not an import: the plugin's hook skips, and pytest rewrites
its asserts) and mark the tests `@pytest.mark.worker`; they are skipped unless REDIS_URL is set
and the database is PostgreSQL (pytest-django's SQLite test database lives in memory, out of
reach of another process).

Each fixture gets its own queue and worker name, so concurrent test runs on the same Redis do
not take each other's tasks; send tasks with `task.apply_async(..., queue=worker.queue)`.
`start_celery_worker(env=..., queue=...)` starts more workers, with variables of their own (an
SMTP server, a short visibility timeout), on a new queue or on another worker's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from kombu import Exchange, Queue

from clspdr.celery import app

READY_TIMEOUT = 60.0  # seconds; a cold start imports Django and connects to Redis
TASK_TIMEOUT = 30.0
POLL_INTERVAL = 0.05

T = TypeVar("T")


def worker_unavailable_reason() -> str | None:
    """Why a real worker cannot run here, or None when it can."""
    if not settings.REDIS_URL:
        return "a real Celery worker needs Redis: set REDIS_URL"
    if connection.vendor != "postgresql":
        return (
            "a real Celery worker needs PostgreSQL (DATABASE_URL): the SQLite test database "
            "is in memory, invisible to another process"
        )
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip `@pytest.mark.worker` tests before their fixtures (the database) are set up."""
    if item.get_closest_marker("worker") is not None:
        reason = worker_unavailable_reason()
        if reason:
            pytest.skip(reason)


def worker_database_url() -> str:
    """DATABASE_URL with the database pytest-django created (test_<name>), options kept."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = str(connection.settings_dict["NAME"])
    return urlunsplit(parts._replace(path="/" + quote(name)))


class WorkerDied(AssertionError):
    pass


@dataclass
class CeleryWorker:
    queue: str
    name: str
    mail_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
        """Poll `probe` until it returns something, failing early if the worker dies."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            if self.process.poll() is not None:
                raise WorkerDied(
                    f"the worker exited ({self.process.returncode}) while waiting for {what}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {timeout:.0f} s")
            time.sleep(POLL_INTERVAL)

    def wait_until_ready(self, timeout: float = READY_TIMEOUT) -> None:
        def ready() -> bool | None:
            return (
                any(
                    f"{self.name}@" in line and line.rstrip().endswith("ready.")
                    for line in self.log().splitlines()
                )
                or None
            )

        self.wait_for(ready, timeout=timeout, what="worker ready")

    def wait_for_task(self, task_id: str, timeout: float = TASK_TIMEOUT) -> str:
        """The worker's log line telling how task `task_id` ended (succeeded, raised...)."""

        def outcome() -> str | None:
            for line in self.log().splitlines():
                if f"[{task_id}]" in line and not line.rstrip().endswith("received"):
                    return line
            return None

        return self.wait_for(outcome, timeout=timeout, what=f"outcome of task {task_id}")

    def mails(self) -> list[Path]:
        return sorted(self.mail_dir.iterdir())

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost host would: no warm shutdown, the
        current task's message is left unacknowledged in Redis."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: the current task finishes
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _celery_executable() -> str:
    beside_python = Path(sys.executable).with_name("celery")
    return str(beside_python) if beside_python.exists() else "celery"


def _forget_queue(queue: str) -> None:
    """Delete the queue and its binding tables: kombu keeps them in Redis for good otherwise."""
    try:
        with app.connection_for_write() as conn:
            bound = Queue(queue, Exchange(queue), routing_key=queue)(conn.default_channel)
            bound.declare()  # kombu deletes only the bindings its connection knows of
            bound.delete()
    except OSError:  # redis-py and kombu connection errors both derive from it
        pass  # only tidiness: an empty queue with a unique name harms nobody


StartWorker = Callable[..., CeleryWorker]


@pytest.fixture
def start_celery_worker(transactional_db, tmp_path: Path) -> Iterator[StartWorker]:
    """`start_celery_worker(env={...}, queue=None)`: a started worker, stopped at teardown.

    `env` adds to or overrides the worker's environment; `queue` makes it consume another
    worker's queue (by default each worker gets a queue of its own). Logs of every worker are
    printed when a test fails.
    """
    reason = worker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    assert not app.conf.task_always_eager, "tasks would run in the test process, not the worker"
    workers: list[CeleryWorker] = []

    def start(env: Mapping[str, str] | None = None, queue: str | None = None) -> CeleryWorker:
        worker = _start_worker(tmp_path, queue=queue, extra_env=env or {})
        workers.append(worker)
        worker.wait_until_ready()
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
            # pytest shows captured output of failed tests only: the log is there when needed.
            print(f"----- celery worker log ({worker.name}) -----\n{worker.log()}")
        for queue in {worker.queue for worker in workers}:
            _forget_queue(queue)


@pytest.fixture
def real_celery_worker(start_celery_worker: StartWorker) -> CeleryWorker:
    """A started worker consuming a queue of its own.

    Not named `celery_worker`: that is celery.contrib.pytest's in-process, in-memory worker.
    """
    return start_celery_worker()


def _start_worker(
    tmp_path: Path, *, queue: str | None, extra_env: Mapping[str, str]
) -> CeleryWorker:
    suffix = uuid.uuid4().hex[:12]
    name = f"pytest-{suffix}"
    queue = queue or name
    mail_dir = tmp_path / f"mail-{suffix}"
    mail_dir.mkdir()
    log_path = tmp_path / f"worker-{suffix}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "clspdr.settings"),
        "DATABASE_URL": worker_database_url(),
        "CONN_MAX_AGE": "0",  # no connection left open when pytest drops the test database
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    command = [
        _celery_executable(),
        "-A",
        "clspdr",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--loglevel=INFO",
        f"--queues={queue}",
        f"--hostname={name}@%h",
        # Mingle waits for the other workers of the broker, gossip and heartbeats talk to
        # them: nothing this worker needs, and slower to start.
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return CeleryWorker(queue, name, mail_dir, log_path, process)
