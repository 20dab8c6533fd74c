"""One health probe at a time per server, so that health checks can never hold every worker.

Health checks arrive from the container, the proxy and the monitoring, sometimes together.
While one probe runs, the others answer "busy" at once instead of waiting their turn, so a hung
database holds one gunicorn worker for a second at most, never all of them.

The lock is a flock on an anonymous file created at import. gunicorn.conf.py imports this module
in the master, so every worker forked from it shares the file; each acquisition opens its own
file description, so threads of one process exclude each other too; and the kernel drops the
lock of a worker that dies holding it. No Django here: the gunicorn master imports it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK_FD = os.memfd_create("clspdr-healthz") if hasattr(os, "memfd_create") else None
_THREAD_LOCK = threading.Lock()  # where memfd does not exist (not Linux): one process only


@contextmanager
def probe_slot() -> Iterator[bool]:
    """Yields True when this caller may probe now, False when another probe is running."""
    if _LOCK_FD is None:
        granted = _THREAD_LOCK.acquire(blocking=False)
        try:
            yield granted
        finally:
            if granted:
                _THREAD_LOCK.release()
        return
    fd = os.open(f"/proc/self/fd/{_LOCK_FD}", os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock
