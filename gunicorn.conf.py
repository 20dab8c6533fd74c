"""Gunicorn's settings: `gunicorn -c gunicorn.conf.py clspdr.wsgi` (Dockerfile, docker-compose.yml,
deploy/systemd/clspdr-web.service). Read from the environment like clspdr/settings.py.

Gunicorn also reads this file by itself when started from the repository's root (its default
`./gunicorn.conf.py`). Command-line options override it, so keep them to the bind address.

Why these values, with a database that accepts connections but never answers:
- sync workers, killed and replaced after `timeout`: the last resort for a request stuck on a
  connection that stopped answering mid-query, where no database timeout can fire;
- `timeout` above DB_STATEMENT_TIMEOUT (30 s), so that a slow but legitimate query ends with
  PostgreSQL's error rather than a killed worker;
- /healthz gives up after a second and runs one probe at a time for all the workers
  (clspdr/probe_lock.py, imported below in this master process so the workers share it);
- the login page and static files need no database (WhiteNoise answers before any middleware
  that could touch it), so they answer whenever a worker is free.

Gunicorn turns `X-Forwarded-Proto: https` into an HTTPS request for the peers it trusts
(`forwarded_allow_ips`). Django then skips the HTTPS redirect, so that trust must follow
`BEHIND_PROXY`: without a proxy nobody may claim HTTPS, behind one only the proxy may.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clspdr.probe_lock  # noqa: F401  (before the fork: one lock for every worker)
from clspdr.env import env_bool, env_int, env_str
from clspdr.logs import logging_config

wsgi_app = "clspdr.wsgi:application"
# The port inside the container; systemd binds the host's loopback with --bind on its command line.
bind = ["0.0.0.0:8000"]
workers = env_int("WEB_CONCURRENCY", 3)
worker_class = "sync"
timeout = 60  # the reverse proxy waits a little longer (deploy/nginx/clspdr.conf)
graceful_timeout = 30  # docker-compose.yml and the systemd unit wait longer before killing
# The control socket (gunicornc) would need a writable home directory, which the image's user
# does not have, and two gunicorns of one user would fight over its path. Signals suffice.
control_socket_disable = True

# One format with Django's (clspdr/logs.py): gunicorn's own lines and its access log go
# through the same root handler. No query string in the access log: it may carry a token.
loglevel = env_str("LOG_LEVEL", "INFO").lower()
logconfig_dict = logging_config(env_str("LOG_LEVEL", "INFO").upper(), for_django=False)
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-forwarded-for}i)s"'

BEHIND_PROXY = env_bool("BEHIND_PROXY", False)


def _forwarded_allow_ips() -> str:
    allowed = env_str("FORWARDED_ALLOW_IPS").strip()
    if not BEHIND_PROXY:
        if allowed:
            raise RuntimeError(
                "FORWARDED_ALLOW_IPS is set but BEHIND_PROXY is off: either a reverse proxy "
                "terminates TLS (BEHIND_PROXY=1) or nobody may set X-Forwarded-Proto (unset "
                "FORWARDED_ALLOW_IPS)."
            )
        return ""  # an empty list: no peer is trusted, not even 127.0.0.1
    return allowed or "127.0.0.1,::1"


forwarded_allow_ips = _forwarded_allow_ips()


def on_starting(server: Any) -> None:
    """Refuse to start when the final configuration (command line included) trusts
    forwarded headers and Django does not, or the other way round."""
    trusted = [ip for ip in server.cfg.forwarded_allow_ips if ip]
    if BEHIND_PROXY and not trusted:
        raise RuntimeError(
            "BEHIND_PROXY=1 but --forwarded-allow-ips is empty: set FORWARDED_ALLOW_IPS to "
            "the reverse proxy's address (or '*' when only the proxy can reach gunicorn)."
        )
    if not BEHIND_PROXY and trusted:
        raise RuntimeError(
            f"BEHIND_PROXY=0 but gunicorn trusts forwarded headers from {','.join(trusted)}: "
            "remove --forwarded-allow-ips, or set BEHIND_PROXY=1 if a reverse proxy is in front."
        )
