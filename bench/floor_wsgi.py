"""The floor server's WSGI application: Django with no middleware (bench/floor_settings.py).

The apps are set up with the settings as they are (allauth checks its middleware is listed
when it starts), then the handler is built from an empty list: no middleware runs.
"""

import os

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor_settings")
django.setup(set_prefix=False)
settings.MIDDLEWARE = []
application = WSGIHandler()
