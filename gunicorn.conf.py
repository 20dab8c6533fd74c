"""Gunicorn's settings: `gunicorn -c gunicorn.conf.py clspdr.wsgi` (Dockerfile, docker-compose.yml,
deploy/systemd/clspdr-web.service). Read from the environment like clspdr/settings.py.

Gunicorn turns `X-Forwarded-Proto: https` into an HTTPS request for the peers it trusts
(`forwarded_allow_ips`). Django then skips the HTTPS redirect, so that trust must follow
`BEHIND_PROXY`: without a proxy nobody may claim HTTPS, behind one only the proxy may.
"""

from __future__ import annotations

import os

from clspdr.env import env_bool, env_int

# The port inside the container; systemd binds the host's loopback with --bind on its command line.
bind = ["0.0.0.0:8000"]
workers = env_int("WEB_CONCURRENCY", 3)
timeout = 120  # the reverse proxy waits a little longer (deploy/nginx/clspdr.conf)
graceful_timeout = 30  # docker-compose.yml and the systemd unit wait longer before killing


def _forwarded_allow_ips() -> str:
    behind_proxy = env_bool("BEHIND_PROXY", False)
    allowed = os.environ.get("FORWARDED_ALLOW_IPS", "").strip()
    if not behind_proxy:
        if allowed:
            raise RuntimeError(
                "FORWARDED_ALLOW_IPS is set but BEHIND_PROXY is off: either a reverse proxy "
                "terminates TLS (BEHIND_PROXY=1) or nobody may set X-Forwarded-Proto (unset "
                "FORWARDED_ALLOW_IPS)."
            )
        return ""  # an empty list: no peer is trusted, not even 127.0.0.1
    return allowed or "127.0.0.1,::1"


forwarded_allow_ips = _forwarded_allow_ips()
