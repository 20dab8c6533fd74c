"""Settings of the floor server: the benchmark's, with one bare view as the only URL.

The floor is what Django itself costs on this machine, behind the same gunicorn: URL
resolution, a view, a response — no middleware, no session, no user, no database, no
template. Dividing the trivial view by it measures the request stack (middleware, session,
authentication) the project adds to every page (bench/README.md). The middleware is emptied
by bench/floor_wsgi.py, once the apps are ready: allauth refuses to start without its own.
"""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
